"""`bondtrack locator selftest`: one look-up at the locator (here the replica, through
BONDTRACK_LOCATOR_BASE_URL), printed for the operator, never with the A-number."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures_locator import Site
from tests.support import Cli
from workflow.places import locator

BONDTRACK = Path(sys.executable).parent / "bondtrack"
A_NUMBER = "A-087-654-321"
DIGITS = "087654321"


@pytest.fixture
def selftest(home: Path, locator_site: Site, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("BONDTRACK_LOCATOR_USER_AGENT_CONTACT", "ops@example.org")
    return Cli()


def test_found_prints_the_facility_and_its_field_office(selftest: Cli,
                                                        locator_site: Site) -> None:
    locator_site.answer(DIGITS, "found:101")
    result = selftest("locator", "selftest", A_NUMBER, "--country", "México")
    assert result.output.splitlines() == [
        f"asked {locator_site.url} as {locator.user_agent('ops@example.org')}"
        " (country of birth: MEXICO)",
        "found at BROADVIEW SERVICE STAGING, 1930 BEACH STREET, BROADVIEW, IL 60155",
        "field office: CHICAGO FIELD OFFICE",
    ]
    [search] = locator_site.asked()
    assert search.form == {"a_number": DIGITS, "country": "MX"}
    assert DIGITS not in result.output


def test_not_found_says_what_one_empty_answer_is_worth(selftest: Cli,
                                                       locator_site: Site) -> None:
    result = selftest("locator", "selftest", A_NUMBER, "--country", "GT")
    assert result.output.splitlines()[-1] == (
        "not found: the locator answered zero (0) matching records (it does so falsely now"
        " and then: one empty answer proves nothing)")


def test_json_carries_the_answer(selftest: Cli, locator_site: Site) -> None:
    locator_site.answer(DIGITS, "found:202")
    answer = json.loads(selftest("locator", "selftest", A_NUMBER, "--country", "Vietnam",
                                 "--json").output)
    assert answer["kind"] == "found"
    assert answer["facility"] == "KROME NORTH SERVICE PROCESSING CENTER"
    assert answer["country"] == "VIETNAM"
    assert DIGITS not in json.dumps(answer)


@pytest.mark.parametrize(("script", "line"), [
    ("429", "Error: blocked: the locator answered with a challenge or block (HTTP 429); wait"
            " at least 30 minutes before asking again"),
    ("challenge", "Error: blocked: the locator answered with a challenge or block (a challenge"
                  " or block page (HTTP 200)); wait at least 30 minutes before asking again"),
    ("timeout", "Error: the locator did not answer: timed out after 0.5 s"),
    ("internal", "Error: the locator did not answer: the locator's internal error page"
                 " (HTTP 500)"),
])
def test_blocked_or_no_answer_is_one_line_and_exit_1(selftest: Cli, locator_site: Site,
                                                     script: str, line: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BONDTRACK_LOCATOR_TIMEOUT_SECONDS", "0.5")
    locator_site.answer(DIGITS, script)
    result = selftest("locator", "selftest", A_NUMBER, "--country", "Mexico", ok=False)
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == line
    assert "Traceback" not in result.output


def test_json_of_a_block_exits_1(selftest: Cli, locator_site: Site) -> None:
    locator_site.answer(DIGITS, "403")
    result = selftest("locator", "selftest", A_NUMBER, "--country", "Mexico", "--json",
                      ok=False)
    assert result.exit_code == 1
    assert json.loads(result.output)["kind"] == "blocked"


@pytest.mark.parametrize(("args", "line"), [
    (["12-34", "--country", "Mexico"],
     "Error: A-number: not an A-number (8 or 9 digits, optionally after 'A')"),
    ([A_NUMBER, "--country", "Atlantis"],
     "Error: country of birth: not a country ISO 3166 knows (or it fits several)"),
])
def test_bad_input_asks_nothing(selftest: Cli, locator_site: Site, args: list[str],
                                line: str) -> None:
    result = selftest("locator", "selftest", *args, ok=False)
    assert (result.exit_code, result.output.splitlines()) == (1, [line])
    assert locator_site.requests == []


def test_a_bad_setting_is_one_line(selftest: Cli, locator_site: Site,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BONDTRACK_LOCATOR_BLOCK_PAUSE_MINUTES", "5")
    result = selftest("locator", "selftest", A_NUMBER, "--country", "Mexico", ok=False)
    assert (result.exit_code, result.output.splitlines()) == (
        1, ["Error: [locator] block_pause_minutes must be at least 30"])


def test_the_a_number_is_never_logged(selftest: Cli, locator_site: Site,
                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for script in ("found:101", "429", "zero"):
        locator_site.answer(DIGITS, script)
        selftest("locator", "selftest", A_NUMBER, "--country", "Mexico", ok=False)
    assert caplog.records  # httpx logged each request: without the A-number
    assert DIGITS not in caplog.text and "087-654-321" not in caplog.text


@pytest.mark.slow
def test_the_installed_command(home: Path, locator_site: Site) -> None:
    """As an operator runs it: the installed `bondtrack`, its settings from the environment."""
    def selftest() -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BONDTRACK), "locator", "selftest", A_NUMBER, "--country",
                               "Honduras"], env=dict(os.environ), capture_output=True,
                              text=True, timeout=60)

    locator_site.answer(DIGITS, "found:202", "429")
    found = selftest()
    assert (found.returncode, found.stderr) == (0, "")
    assert found.stdout.splitlines()[1:] == [
        "found at KROME NORTH SERVICE PROCESSING CENTER, 18201 SW 12TH STREET, BUILDING 4,"
        " MIAMI, FL 33194", "field office: MIAMI FIELD OFFICE"]
    blocked = selftest()
    assert blocked.returncode == 1
    assert blocked.stderr.splitlines() == [
        "Error: blocked: the locator answered with a challenge or block (HTTP 429); wait at"
        " least 30 minutes before asking again"]
    assert locator_site.asked()[0].form == {"a_number": DIGITS, "country": "HN"}
