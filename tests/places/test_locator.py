"""The locator client against the replica on 127.0.0.1: what each of the site's answers means,
what it is asked and as whom; the [locator] settings; countries as the locator spells them."""

from __future__ import annotations

import socket
import time
from email.utils import formatdate

import pytest

from tests.fixtures_locator import Site
from workflow.core import config
from workflow.core.errors import ConfigError
from workflow.places import locator
from workflow.places.locator import Answer, LocatorSettings, OdlsClient

A_NUMBER = "012345678"
UA = locator.user_agent("ops@example.org")


@pytest.fixture
def client(locator_site: Site):  # type: ignore[no-untyped-def]
    with OdlsClient(locator_site.url, user_agent=UA, timeout_seconds=20) as odls:
        yield odls


def test_found_reads_the_facility_page_as_the_site_shows_it(locator_site: Site,
                                                           client: OdlsClient) -> None:
    locator_site.answer(A_NUMBER, "found:101")
    answer = client.look_up(A_NUMBER, "Mexico")
    assert answer == Answer("found", facility="BROADVIEW SERVICE STAGING",
                            address="1930 BEACH STREET", city="BROADVIEW", state="IL",
                            zip="60155", field_office="CHICAGO FIELD OFFICE",
                            status="In ICE Custody")
    [search] = locator_site.asked()
    assert search.form == {"a_number": A_NUMBER, "country": "MX"}
    [page] = locator_site.asked("/odls/api/dtf")
    assert page.form == {"id": "101"}


def test_address_lines_are_joined(locator_site: Site, client: OdlsClient) -> None:
    locator_site.answer(A_NUMBER, "found:202")
    answer = client.look_up(A_NUMBER, "SV")
    assert (answer.facility, answer.address, answer.city, answer.state, answer.field_office) == (
        "KROME NORTH SERVICE PROCESSING CENTER", "18201 SW 12TH STREET, BUILDING 4", "MIAMI",
        "FL", "MIAMI FIELD OFFICE")


def test_a_facility_whose_page_is_empty_is_found_by_its_name(locator_site: Site,
                                                              client: OdlsClient) -> None:
    locator_site.answer(A_NUMBER, "found:999")
    answer = client.look_up(A_NUMBER, "Guatemala")
    assert (answer.kind, answer.facility, answer.state, answer.address) == (
        "found", "FACILITY 999", "TX", None)
    assert answer.detail == "the facility's page could not be read"


def test_the_a_number_is_sent_as_nine_digits(locator_site: Site, client: OdlsClient) -> None:
    assert client.look_up("A-12-345-678", "Mexico").kind == "not-found"
    assert locator_site.asked()[0].form["a_number"] == "012345678"


@pytest.mark.parametrize("script", ["zero", "zero-page"])
def test_zero_matching_records_is_not_found(locator_site: Site, client: OdlsClient,
                                            script: str) -> None:
    locator_site.answer(A_NUMBER, script)
    answer = client.look_up(A_NUMBER, "Mexico")
    assert answer.kind == "not-found"
    assert answer.detail == "zero (0) matching records"


@pytest.mark.parametrize(("script", "detail"), [
    ("challenge", "a challenge or block page (HTTP 200)"),
    ("403", "HTTP 403"),
    ("429", "HTTP 429"),
])
def test_a_challenge_or_a_block_is_blocked(locator_site: Site, client: OdlsClient, script: str,
                                           detail: str) -> None:
    locator_site.answer(A_NUMBER, script)
    answer = client.look_up(A_NUMBER, "Mexico")
    assert (answer.kind, answer.detail) == ("blocked", detail)


def test_a_block_says_how_long_the_site_asks_us_to_wait(locator_site: Site,
                                                       client: OdlsClient) -> None:
    locator_site.answer(A_NUMBER, "429:3600")
    assert client.look_up(A_NUMBER, "Mexico").retry_after_seconds == 3600.0
    # A date is read against the answer's own Date, so neither machine's clock error counts.
    locator_site.answer(A_NUMBER, f"429:{formatdate(time.time() + 7200, usegmt=True)}")
    waited = client.look_up(A_NUMBER, "Mexico").retry_after_seconds
    assert waited is not None and 7198 <= waited <= 7201
    for unreadable in ("soon", "Mon, 99 Foo 2026"):
        locator_site.answer(A_NUMBER, f"429:{unreadable}")
        answer = client.look_up(A_NUMBER, "Mexico")
        assert (answer.kind, answer.retry_after_seconds) == ("blocked", None)
    locator_site.answer(A_NUMBER, "429")
    assert client.look_up(A_NUMBER, "Mexico").retry_after_seconds is None


def test_the_internal_error_page_is_an_error_worth_asking_again(locator_site: Site,
                                                                client: OdlsClient) -> None:
    locator_site.answer(A_NUMBER, "internal")
    answer = client.look_up(A_NUMBER, "Mexico")
    assert (answer.kind, answer.retryable) == ("error", True)
    assert answer.detail == "the locator's internal error page (HTTP 500)"


def test_no_answer_in_time_is_an_error(locator_site: Site) -> None:
    locator_site.answer(A_NUMBER, "timeout")
    with OdlsClient(locator_site.url, user_agent=UA, timeout_seconds=0.5) as client:
        answer = client.look_up(A_NUMBER, "Mexico")
    assert (answer.kind, answer.detail, answer.retryable) == ("error", "timed out after 0.5 s",
                                                              True)


def test_an_unreachable_site_is_an_error() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with OdlsClient(f"http://127.0.0.1:{port}/odls", user_agent=UA, timeout_seconds=0.5) as odls:
        answer = odls.look_up(A_NUMBER, "Mexico")
    assert (answer.kind, answer.detail) == ("error", "could not reach the locator (ConnectError)")


def test_released_and_held_nowhere(locator_site: Site, client: OdlsClient) -> None:
    locator_site.answer(A_NUMBER, "released")
    assert client.look_up(A_NUMBER, "Mexico") == Answer("released", status="Released")
    locator_site.answer(A_NUMBER, "no-facility")
    assert client.look_up(A_NUMBER, "Mexico") == Answer("in-custody-no-facility",
                                                        status="In ICE Custody")
    assert locator_site.asked("/odls/api/dtf") == []


def test_the_country_list_is_read_once_per_client(locator_site: Site,
                                                  client: OdlsClient) -> None:
    for country in ("Mexico", "South Korea", "Myanmar", "Viet Nam"):
        client.look_up(A_NUMBER, country)
    assert [r.form["country"] for r in locator_site.asked()] == ["MX", "KS", "BM", "VN"]
    assert len(locator_site.asked("/odls/assets/i18n/en-lang.json")) == 1


def test_a_site_that_no_longer_serves_its_country_list_is_an_error(locator_site: Site,
                                                                   client: OdlsClient) -> None:
    locator_site.strings_moved = True
    answer = client.look_up(A_NUMBER, "Mexico")
    assert (answer.kind, answer.retryable) == ("error", True)
    assert answer.detail == ("the locator's country list could not be read: an unexpected page"
                             " (HTTP 200)")
    assert locator_site.asked() == []


def test_a_record_whose_facility_has_no_name_nor_page_is_held_nowhere_known(
        locator_site: Site, client: OdlsClient) -> None:
    locator_site.answer(A_NUMBER, "found-unnamed:999")
    answer = client.look_up(A_NUMBER, "Mexico")
    assert (answer.kind, answer.facility) == ("in-custody-no-facility", None)
    assert answer.detail == "the facility's page could not be read"


def test_a_country_the_locator_does_not_list_asks_nothing(locator_site: Site,
                                                          client: OdlsClient) -> None:
    answer = client.look_up(A_NUMBER, "France")
    assert (answer.kind, answer.retryable) == ("error", False)
    assert answer.detail == "the locator lists no such country of birth"
    assert locator_site.asked() == []


@pytest.mark.parametrize(("a_number", "country", "detail"), [
    ("12-34", "Mexico", "A-number: not an A-number (8 or 9 digits, optionally after 'A')"),
    (A_NUMBER, "Atlantis", "country of birth: not a country ISO 3166 knows (or it fits several)"),
    (A_NUMBER, "  ", "country of birth: no country of birth"),
])
def test_bad_input_is_an_error_not_worth_asking_again(locator_site: Site, client: OdlsClient,
                                                      a_number: str, country: str,
                                                      detail: str) -> None:
    answer = client.look_up(a_number, country)
    assert (answer.kind, answer.detail, answer.retryable) == ("error", detail, False)
    assert locator_site.requests == []


def test_every_request_names_the_tool_and_its_contact(locator_site: Site,
                                                      client: OdlsClient) -> None:
    locator_site.answer(A_NUMBER, "found:101")
    client.look_up(A_NUMBER, "Mexico")
    assert len(locator_site.requests) == 3  # the country list, the search, the facility
    assert {r.user_agent for r in locator_site.requests} == {UA}
    assert UA.startswith("bondtrack/") and UA.endswith(" (+ops@example.org)")
    assert locator.user_agent("") == UA.split(" ")[0]


# -- settings ----------------------------------------------------------------------------------


def _settings(home: object, **env: str) -> LocatorSettings:
    values = {"BONDTRACK_HOME": str(home)}
    values.update({f"BONDTRACK_LOCATOR_{k.upper()}": v for k, v in env.items()})
    return LocatorSettings.from_settings(config.load(values))


def test_the_defaults(tmp_path) -> None:  # type: ignore[no-untyped-def]
    setup = _settings(tmp_path)
    assert setup.auto is False
    assert setup.base_url == "https://locator.ice.gov/odls"
    assert setup.pace == locator.Pace(10.0, 4, 30.0)
    assert setup.timeout_seconds == 30.0
    assert setup.user_agent == locator.user_agent("")


def test_environment_variables_set_each_value(tmp_path) -> None:  # type: ignore[no-untyped-def]
    setup = _settings(tmp_path, auto="yes", base_url="http://127.0.0.1:9/odls/",
                      user_agent_contact="https://example.org/bond-project",
                      min_interval_seconds="12.5", max_attempts="2", block_pause_minutes="45")
    assert setup.auto is True
    assert setup.base_url == "http://127.0.0.1:9/odls"
    assert setup.pace == locator.Pace(12.5, 2, 45.0)
    assert setup.user_agent.endswith(" (+https://example.org/bond-project)")


@pytest.mark.parametrize(("name", "value", "message"), [
    ("block_pause_minutes", "29", "[locator] block_pause_minutes must be at least 30"),
    ("max_attempts", "0", "[locator] max_attempts must be at least 1"),
    ("min_interval_seconds", "-1", "[locator] min_interval_seconds must not be negative"),
    ("base_url", "locator.ice.gov/odls",
     "[locator] base_url must be an http:// or https:// address"),
    ("timeout_seconds", "0", "[locator] timeout_seconds must be more than 0"),
])
def test_a_bad_value_is_one_clear_error(tmp_path, name: str, value: str,  # type: ignore[no-untyped-def]
                                        message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _settings(tmp_path, **{name: value})
    assert str(caught.value) == message


# -- countries ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "spelled"), [
    ("Mexico", "MEXICO"), ("méxico", "MEXICO"), ("MX", "MEXICO"), ("mex", "MEXICO"),
    ("Guatemala", "GUATEMALA"), ("el salvador", "EL SALVADOR"), ("Viet Nam", "VIETNAM"),
    ("Venezuela, Bolivarian Republic of", "VENEZUELA"), ("Korea, Republic of", "KOREA, SOUTH"),
    ("South Korea", "KOREA, SOUTH"), ("KOREA, SOUTH", "KOREA, SOUTH"), ("Myanmar", "BURMA"),
    ("Burma", "BURMA"), ("Türkiye", "TURKEY"), ("Côte d'Ivoire", "IVORY COAST"),
    ("Russian Federation", "RUSSIA"), ("Dominican Republic", "DOMINICAN REPUBLIC"),
])
def test_countries_are_spelled_as_the_locator_lists_them(text: str, spelled: str) -> None:
    assert locator.locator_country(text) == spelled


def test_every_iso_name_is_a_spelling_to_try() -> None:
    assert locator.country_spellings("Bolivia") == [
        "BOLIVIA", "BOLIVIA, PLURINATIONAL STATE OF", "PLURINATIONAL STATE OF BOLIVIA"]


@pytest.mark.parametrize(("text", "message"), [
    ("", "no country of birth"),
    ("Atlantis", "not a country ISO 3166 knows (or it fits several)"),
    ("Guinea-Congo-Land", "not a country ISO 3166 knows (or it fits several)"),
])
def test_an_unknown_country_is_refused_without_quoting_it(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        locator.locator_country(text)
    assert str(caught.value) == message
