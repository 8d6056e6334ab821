"""Terms per person and findings, posting windows, language access."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fixtures_foundation import NOW, write_csv
from tests.fixtures_order_changes import (
    ANA,
    JOSE,
    LUIS,
    STAFF,
    on_order,
    on_person,
    person_id,
    read_order,
    settings_with,
)
from workflow.core import config
from workflow.core.errors import ConfigError, ValidationError
from workflow.intake import apply as applying
from workflow.notices import languages
from workflow.orders import amendments, orders, terms
from workflow.people import tracking
from workflow.places import facilities, posting
from workflow.record import db
from workflow.record.models import Facility

SECRETS = ("Núñez", "José", "García", "Pérez", "012345678", "098765432", "023456789")


# ---------------------------------------------------------------- parsing terms


@pytest.mark.parametrize("text, cents", [("1500", 150000), ("$5,000", 500000), ("none", 0),
                                         ("No Bond", 0), ("0", 0)])
def test_a_bond_is_dollars_or_none(text: str, cents: int) -> None:
    assert terms.parse_bond(text) == cents


@pytest.mark.parametrize("text, stored", [("ATD", "atd"), ("check in, ATD", "atd,check-in"),
                                          ("none", "none"), ("", "none"), ("atd, atd", "atd")])
def test_conditions_are_names_sorted_once(text: str, stored: str) -> None:
    assert terms.normalize_conditions(text) == stored


def test_none_does_not_combine_with_conditions() -> None:
    with pytest.raises(ValueError, match="cannot be combined"):
        terms.normalize_conditions("none, atd")


@given(st.text(max_size=40))
def test_normalizing_conditions_twice_changes_nothing(text: str) -> None:
    try:
        once = terms.normalize_conditions(text)
    except ValueError:
        return
    assert terms.normalize_conditions(once) == once


# ---------------------------------------------------------------- ordered terms per person


def ordered(database: db.Database, a_number: str, settings: config.Settings) -> dict:
    return on_person(database, a_number, lambda s, d: terms.person_terms(d, settings))


def test_a_person_s_terms_default_from_the_order_and_the_configured_bond(
        imported: db.Database, settings: config.Settings) -> None:
    assert ordered(imported, JOSE, settings)["ordered"] == {
        "bond_cents": 150000, "bond": "$1,500.00", "conditions": [], "source": "order"}
    cheaper = settings_with(bond_default_amount="1000")
    assert ordered(imported, JOSE, cheaper)["ordered"]["bond_cents"] == 100000


def test_terms_set_for_a_person_override_the_order_until_reset(
        imported: db.Database, settings: config.Settings) -> None:
    on_order(imported, lambda s, o: amendments.amend(
        s, o, docket="ECF 195", docket_date=date(2025, 11, 12), conditions="check-in",
        actor=STAFF, now=NOW))
    event = on_person(imported, JOSE, lambda s, d: terms.set_person_terms(
        s, d, bond_cents=0, note="individual determination", actor=STAFF, now=NOW))
    assert event.payload["changes"] == {"ordered_bond_cents": {"from": None, "to": 0}}
    assert ordered(imported, JOSE, settings)["ordered"] == {
        "bond_cents": 0, "bond": "no bond", "conditions": ["check-in"], "source": "person"}
    on_person(imported, JOSE, lambda s, d: terms.set_person_terms(
        s, d, reset=True, actor=STAFF, now=NOW))
    assert ordered(imported, JOSE, settings)["ordered"]["source"] == "order"


def test_setting_the_same_terms_again_records_nothing(imported: db.Database) -> None:
    def set_atd(session, detainee):  # type: ignore[no-untyped-def]
        return terms.set_person_terms(session, detainee, conditions="ATD", actor=STAFF, now=NOW)

    assert on_person(imported, JOSE, set_atd) is not None
    assert on_person(imported, JOSE, set_atd) is None


def test_terms_and_reset_together_are_refused(imported: db.Database) -> None:
    with pytest.raises(ValidationError, match="not both"):
        on_person(imported, JOSE, lambda s, d: terms.set_person_terms(
            s, d, bond_cents=0, reset=True, actor=STAFF, now=NOW))


def test_a_terms_file_sets_terms_for_many(imported: db.Database, tmp_path: Path,
                                          settings: config.Settings) -> None:
    path = write_csv(tmp_path / "terms.csv", [
        "a_number,action,amount,conditions,note",
        f"{JOSE},terms,0,none,ECF 331",
        f"{ANA},terms,,ATD,",
    ])
    with imported.write() as session:
        applied = applying.apply_file(session, orders.resolve_order(session, None), path,
                                      actor=STAFF, now=NOW, default_bond_cents=150000)
    assert applied == 2
    assert ordered(imported, JOSE, settings)["ordered"]["bond"] == "no bond"
    assert ordered(imported, ANA, settings)["ordered"] == {
        "bond_cents": 150000, "bond": "$1,500.00", "conditions": ["atd"], "source": "person"}


def test_a_terms_row_without_terms_is_a_problem_of_its_line(imported: db.Database,
                                                            tmp_path: Path) -> None:
    path = write_csv(tmp_path / "terms.csv", ["a_number,action,note", f"{JOSE},terms,x"])
    with pytest.raises(ValidationError) as refused, imported.write() as session:
        applying.apply_file(session, orders.resolve_order(session, None), path, actor=STAFF,
                            now=NOW, default_bond_cents=150000)
    assert refused.value.problems == [
        "terms.csv:2: action: a terms row needs an amount (0 for no bond) or conditions (or none)"]


# ---------------------------------------------------------------- imposed terms and findings


def release(database: db.Database, a_number: str, **imposed) -> None:  # type: ignore[no-untyped-def]
    on_person(database, a_number, lambda s, d: tracking.locate(
        s, d, facilities.by_code(s, "BROADIL"), actor=STAFF, now=NOW))
    on_person(database, a_number, lambda s, d: tracking.release(
        s, d, reason="released on conditions", actor=STAFF, now=NOW, **imposed))


def findings(database: db.Database, settings: config.Settings) -> list[dict]:
    return read_order(database, lambda s, o: terms.findings(s, o, settings))


def test_what_ice_imposed_is_recorded_at_release(imported: db.Database) -> None:
    release(imported, JOSE, imposed_bond_cents=500000, imposed_conditions="Ankle Monitor")
    stored = on_person(imported, JOSE, lambda s, d: (d.imposed_bond_cents, d.imposed_conditions))
    assert stored == (500000, "ankle-monitor")


def test_a_mismatch_with_the_ordered_terms_is_a_finding(imported: db.Database,
                                                        settings: config.Settings) -> None:
    on_order(imported, lambda s, o: amendments.amend(
        s, o, docket="ECF 195", docket_date=date(2025, 11, 12), conditions="check-in",
        actor=STAFF, now=NOW))
    on_person(imported, LUIS, lambda s, d: terms.set_person_terms(
        s, d, bond_cents=0, conditions="none", actor=STAFF, now=NOW))
    release(imported, JOSE, imposed_bond_cents=500000, imposed_conditions="check-in")
    release(imported, ANA, imposed_bond_cents=150000, imposed_conditions="ankle-monitor,check-in")
    release(imported, LUIS, imposed_bond_cents=150000)
    found = {row["detainee_id"]: row for row in findings(imported, settings)}
    ids = {a: person_id(imported, a) for a in (JOSE, ANA, LUIS)}
    assert {person: row["findings"] for person, row in found.items()} == {
        ids[JOSE]: ["bond-higher-than-ordered"],
        ids[ANA]: ["conditions-not-ordered"],
        ids[LUIS]: ["bond-not-ordered"],
    }
    assert found[ids[ANA]]["detail"] == f"person #{ids[ANA]}: conditions not ordered: ankle-monitor"
    assert found[ids[JOSE]]["detail"] == (f"person #{ids[JOSE]}: bond $5,000.00 imposed,"
                                          " $1,500.00 ordered")
    assert not any(secret in str(found) for secret in SECRETS)


def test_a_bond_ice_set_above_the_order_is_a_finding_before_release(
        imported: db.Database, settings: config.Settings) -> None:
    on_person(imported, JOSE, lambda s, d: tracking.locate(
        s, d, facilities.by_code(s, "BROADIL"), actor=STAFF, now=NOW))
    on_person(imported, JOSE, lambda s, d: tracking.set_bond(
        s, d, amount_cents=300000, conditions="ATD", actor=STAFF, now=NOW))
    (row,) = findings(imported, settings)
    assert row["findings"] == ["bond-higher-than-ordered", "conditions-not-ordered"]
    assert row["imposed"] == {"bond_cents": 300000, "bond": "$3,000.00", "conditions": ["atd"]}


def test_terms_within_the_order_are_no_finding(imported: db.Database,
                                              settings: config.Settings) -> None:
    release(imported, JOSE, imposed_bond_cents=100000, imposed_conditions="none")
    release(imported, ANA)
    assert findings(imported, settings) == []


def test_a_negative_imposed_bond_is_refused(imported: db.Database) -> None:
    with pytest.raises(ValidationError, match="negative"):
        release(imported, JOSE, imposed_bond_cents=-1)


# ---------------------------------------------------------------- posting windows


HOURS = {"days": ["mon", "tue", "wed", "thu", "fri"], "opens": "09:00", "closes": "15:00",
         "closed_dates": []}


def window(deadline: str, facility_tz: str, **hours) -> tuple[str, str] | None:  # type: ignore[no-untyped-def]
    found = posting.last_window_before(datetime.fromisoformat(deadline), facility_tz,
                                       {**HOURS, **hours})
    return (found[0].isoformat(), found[1].isoformat()) if found else None


def test_a_noon_deadline_leaves_the_morning_of_that_day() -> None:
    # Noon in Chicago is 13:00 in Detroit: the window that day closes at the deadline.
    assert window("2025-11-21T12:00:00-06:00", "America/Detroit") == (
        "2025-11-21T09:00:00-05:00", "2025-11-21T13:00:00-05:00")


def test_a_deadline_before_opening_means_the_last_working_day() -> None:
    # Monday 08:00: the last window is Friday's, all of it.
    assert window("2025-11-24T08:00:00-06:00", "America/Chicago") == (
        "2025-11-21T09:00:00-06:00", "2025-11-21T15:00:00-06:00")


def test_closed_days_are_skipped() -> None:
    # Friday 28 Nov deadline at 08:00; Thanksgiving (27th) closed: Wednesday's window.
    assert window("2025-11-28T08:00:00-06:00", "America/Chicago",
                  closed_dates=["2025-11-27"]) == ("2025-11-26T09:00:00-06:00",
                                                   "2025-11-26T15:00:00-06:00")


def test_arizona_keeps_standard_time_in_summer() -> None:
    assert posting.zone_for_state("az") == "America/Phoenix"
    assert window("2025-07-18T12:00:00-05:00", "America/Phoenix") == (
        "2025-07-18T09:00:00-07:00", "2025-07-18T10:00:00-07:00")


def test_a_window_across_the_end_of_daylight_saving() -> None:
    # Monday 3 Nov 2025 07:00 in New York; Friday 31 Oct was still EDT.
    assert window("2025-11-03T07:00:00-05:00", "America/New_York") == (
        "2025-10-31T09:00:00-04:00", "2025-10-31T15:00:00-04:00")


def test_no_window_in_three_weeks_is_none() -> None:
    assert window("2025-11-21T12:00:00-06:00", "America/Chicago", days=["sat"],
                  closed_dates=[f"2025-11-{d:02d}" for d in range(1, 22)]) is None


@pytest.mark.parametrize("hours, message", [
    ({"days": ["funday"]}, "weekday names"), ({"days": []}, "weekday names"),
    ({"opens": "15:00", "closes": "09:00"}, "before closes"), ({"opens": "9am"}, "HH:MM"),
    ({"closed_dates": ["27/11/2025"]}, "YYYY-MM-DD"),
])
def test_bad_posting_hours_are_a_config_error(hours: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        window("2025-11-21T12:00:00-06:00", "America/Chicago", **hours)


def test_posting_hours_come_from_the_config_file(settings: config.Settings) -> None:
    late = settings_with(posting_closes="17:00")
    found = posting.last_window_before(datetime(2025, 11, 24, 14, tzinfo=ZoneInfo("UTC")),
                                       "America/Chicago", late)
    assert found is not None and found[1].isoformat() == "2025-11-21T17:00:00-06:00"


def test_the_sentence_names_the_person_by_id_and_the_local_time() -> None:
    closes = datetime(2025, 11, 20, 15, 0, tzinfo=ZoneInfo("America/New_York"))
    assert posting.posted_by_sentence(412, closes) == (
        "bond for person #412 must be posted by 15:00 EST Thursday 20 Nov")


def test_a_facility_s_zone_is_its_own_then_its_state_s_then_the_court_s() -> None:
    assert posting.facility_time_zone(Facility(state="TX", time_zone="America/Denver"),
                                      "America/Chicago") == "America/Denver"
    assert posting.facility_time_zone(Facility(state="GA"), "America/Chicago") == "America/New_York"
    assert posting.facility_time_zone(Facility(state=None), "America/Chicago") == "America/Chicago"
    assert posting.facility_time_zone(None, "America/Chicago") == "America/Chicago"


def test_unposted_bonds_carry_their_last_window(imported: db.Database,
                                                settings: config.Settings) -> None:
    with imported.write() as session:
        session.add(Facility(code="STEWART", name="Stewart", state="GA"))
    for a_number, code in ((JOSE, "STEWART"), (ANA, "BROADIL")):
        on_person(imported, a_number, lambda s, d, c=code: tracking.locate(
            s, d, facilities.by_code(s, c), actor=STAFF, now=NOW))
        on_person(imported, a_number, lambda s, d: tracking.set_bond(
            s, d, amount_cents=150000, actor=STAFF, now=NOW))
    # 08:30 in Chicago: Broadview's office opens too late on Friday, Stewart's (Eastern) not.
    on_order(imported, lambda s, o: amendments.amend(
        s, o, docket="ECF 200", docket_date=date(2025, 11, 19), deadline="2025-11-21 08:30",
        actor=STAFF, now=NOW))
    thursday_evening = datetime(2025, 11, 21, 0, tzinfo=ZoneInfo("UTC"))
    rows = read_order(imported, lambda s, o: posting.unposted_bonds(s, o, settings,
                                                                   thursday_evening))
    ids = {a: person_id(imported, a) for a in (JOSE, ANA)}
    assert [(r["detainee_id"], r["posting_closes"], r["missed"]) for r in rows] == [
        (ids[ANA], "2025-11-20T15:00:00-06:00", True),
        (ids[JOSE], "2025-11-21T09:30:00-05:00", False)]
    assert rows[1]["sentence"] == (f"bond for person #{ids[JOSE]} must be posted by"
                                   " 09:30 EST Friday 21 Nov")


# ---------------------------------------------------------------- language access


def test_oral_languages_and_languages_without_letters_need_an_interpreter() -> None:
    assert languages.interpreter_reason("es") is None
    assert languages.interpreter_reason("mam") == languages.ORAL_LANGUAGE
    assert languages.interpreter_reason("quc") == languages.ORAL_LANGUAGE
    assert languages.interpreter_reason("pa") == languages.NO_TEMPLATE
    assert languages.interpreter_reason("unknown") is None
    assert {"en", "es"} <= languages.written_languages()


def test_status_counts_who_needs_an_interpreter_and_whose_language_is_unknown(
        imported: db.Database) -> None:
    on_person(imported, LUIS, lambda s, d: setattr(d, "language", "unknown"))
    ana = person_id(imported, ANA)
    assert read_order(imported, languages.interpreter_needed) == {"quc": [ana]}
    assert read_order(imported, languages.language_unknown) == [person_id(imported, LUIS)]
    assert read_order(imported, languages.status_block) == {
        "interpreter_needed": 1, "interpreter_needed_by_language": {"quc": 1},
        "language_unknown": 1}


def test_the_class_list_must_give_a_language(with_order: db.Database, tmp_path: Path) -> None:
    from tests.fixtures_foundation import import_list

    missing = write_csv(tmp_path / "no-column.csv", ["A#,Last Name,First Name",
                                                     "A-012-345-678,Núñez,José"])
    with pytest.raises(ValidationError) as refused:
        import_list(with_order, missing)
    assert refused.value.problems == ["no-column.csv:1: language: required column is missing"]
    empty = write_csv(tmp_path / "empty-cell.csv", ["A#,Last Name,First Name,Language",
                                                    "A-012-345-678,Núñez,José,",
                                                    "A-012-345-679,Núñez,Josefina,Unknown"])
    with pytest.raises(ValidationError) as refused:
        import_list(with_order, empty)
    assert refused.value.problems == ["empty-cell.csv:2: language: is required"]


def test_unknown_is_an_accepted_language_and_is_listed(with_order: db.Database,
                                                       tmp_path: Path) -> None:
    from tests.fixtures_foundation import import_list

    path = write_csv(tmp_path / "list.csv", ["A#,Last Name,First Name,Language",
                                             "A-012-345-678,Núñez,José,unknown",
                                             "A-012-345-679,Núñez,Josefina,Mam"])
    assert import_list(with_order, path).created == 2
    assert read_order(with_order, languages.language_unknown) == [1]
    assert read_order(with_order, languages.interpreter_needed) == {"mam": [2]}
