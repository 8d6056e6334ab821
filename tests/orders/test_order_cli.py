"""The order's changes through the command line, and the README's "When the order changes"."""

from __future__ import annotations

import json
import re
import shlex
from datetime import timedelta
from pathlib import Path

import pytest

from tests.fixtures_foundation import NOW
from tests.fixtures_order_changes import JOSE, LUIS
from tests.support import CASE, README

SUB = "1:18-cv-03757 ECF 331"
SECRETS = ("Núñez", "José", "García", "Pérez", "012345678", "012-345-678", "098765432")


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")


@pytest.fixture
def people(cli, court_order: str, class_list: Path):  # type: ignore[no-untyped-def]
    cli("import", class_list)
    return cli


def as_json(cli, *args: str):  # type: ignore[no-untyped-def]
    return json.loads(cli(*args).stdout)


def refused(cli, *args: str) -> str:  # type: ignore[no-untyped-def]
    result = cli(*args, ok=False)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.stderr.count("\n") >= 1
    assert not any(secret in result.output for secret in SECRETS)
    return result.stderr


def test_obligations_are_added_listed_and_closed(people) -> None:  # type: ignore[no-untyped-def]
    out = people("order", "obligation", "add", "--kind", "data-production", "--due",
                 "2025-11-14 17:00", "--owed-by", "government").stdout
    assert out == "added obligation-1: data-production due Fri 14 Nov 2025, 17:00 CST\n"
    assert people("order", "obligation", "done", "1", "--at", "2025-11-14 16:30").stdout == (
        "obligation-1 done by tester\n")
    rows = as_json(people, "order", "obligation", "list", "--json")
    assert [(r["key"], r["state"], r["done_at"]) for r in rows] == [
        ("releases", "open", None), ("obligation-1", "done", "2025-11-14T16:30:00-06:00")]
    table = people("order", "obligation", "list").stdout
    assert "releases" in table and "obligation-1" in table


def test_adding_a_releases_obligation_says_how_to_move_the_deadline(people) -> None:  # type: ignore[no-untyped-def]
    assert "order amend" in refused(people, "order", "obligation", "add", "--kind", "releases",
                                    "--due", "2025-11-21 12:00")


def test_order_show_lists_terms_stay_obligations_and_sub_orders(people) -> None:  # type: ignore[no-untyped-def]
    people("order", "add", "--parent", CASE, "--case", SUB, "--deadline", "2026-03-05 12:00",
           "--bond-amount", "none", "--conditions", "none")
    data = as_json(people, "order", "show", "--order", CASE, "--json")
    assert data["terms"] == {"bond_cents": 150000, "bond": "$1,500.00", "conditions": []}
    assert data["stayed"] is False and data["seconds_stayed"] == 0
    assert [o["key"] for o in data["obligations"]] == ["releases"]
    assert data["sub_orders"] == [{"case_number": SUB, "deadline": "2026-03-05T12:00:00-06:00"}]
    sub = as_json(people, "order", "show", "--order", SUB, "--json")
    assert (sub["parent"], sub["terms"]["bond"], sub["court"]) == (CASE, "no bond", "N.D. Ill.")
    text = people("order", "show", "--order", CASE).stdout
    assert "terms: bond $1,500.00; conditions none" in text and f"sub-order: {SUB}" in text


def test_a_new_order_needs_court_and_judge_unless_it_has_a_parent(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("order", "add", "--case", "X", "--deadline", "2025-11-21 12:00", ok=False)
    assert result.exit_code == 2 and "--court and --judge are required" in result.output


def test_amend_prints_what_changed_and_the_letters(people) -> None:  # type: ignore[no-untyped-def]
    out = people("order", "amend", "--docket", "ECF 200", "--date", "2025-11-19", "--deadline",
                 "2025-11-24 12:00", "--bond-amount", "$1,000").stdout
    assert out == (f"amended order {CASE} (ECF 200): deadline, bond_amount_cents\n"
                   "updated letters: 0 e-mails queued, 3 to print (no e-mail on file)\n")
    assert as_json(people, "order", "show", "--json")["deadline"] == "2025-11-24T12:00:00-06:00"


@pytest.mark.parametrize("args, message", [
    (("--date", "2025-11-19"), "nothing to amend"),
    (("--date", "2025-11-19", "--bond-amount", "lots"), "not an amount"),
    (("--date", "2025-11-19", "--conditions", "none,atd"), "cannot be combined"),
])
def test_a_bad_amendment_is_one_line(people, args, message) -> None:  # type: ignore[no-untyped-def]
    result = people("order", "amend", "--docket", "ECF 1", *args, ok=False)
    assert result.exit_code in (1, 2) and message in result.output


def test_status_while_stayed_says_so_and_stops_the_clock(people, frozen) -> None:  # type: ignore[no-untyped-def]
    # The clock stands at T-24h (the `frozen` fixture) when the stay begins.
    assert people("order", "stay", "--docket", "7th Cir. 25-3050").stdout == (
        f"order {CASE} stayed since Thu 20 Nov 2025, 12:00 CST (7th Cir. 25-3050)\n")
    frozen(NOW + timedelta(days=3))
    data = as_json(people, "status", "--json")
    assert (data["stayed"], data["stay_docket"], data["seconds_stayed"]) == (
        True, "7th Cir. 25-3050", 3 * 86400)
    assert data["effective_seconds_left"] == 86400 and "projection" not in data
    assert data["obligations"][0]["state"] == "stayed"
    text = people("status").stdout
    assert "STAYED since Thu 20 Nov 2025, 12:00 CST" in text and "past the deadline" not in text
    out = people("order", "lift-stay", "--docket", "ECF 330", "--new-deadline",
                 "2026-03-05 12:00").stdout
    assert out.startswith("stay lifted after 3 d; deadline Thu 5 Mar 2026, 12:00 CST\n")
    assert as_json(people, "status", "--json")["stayed"] is False


def test_history_lists_each_change_with_docket_and_actor(people) -> None:  # type: ignore[no-untyped-def]
    people("order", "amend", "--docket", "ECF 195", "--date", "2025-11-12", "--conditions", "atd")
    people("order", "stay", "--docket", "7th Cir.")
    rows = as_json(people, "order", "history", "--json")
    assert [(r["version"], r["kind"], r["docket"], r["actor"]) for r in rows] == [
        (1, "order-added", None, "tester"), (2, "order-amended", "ECF 195", "tester"),
        (3, "order-stayed", "7th Cir.", "tester")]
    table = people("order", "history").stdout
    assert "ECF 195" in table and "order-stayed" in table


def test_terms_show_and_set_for_one_person(people) -> None:  # type: ignore[no-untyped-def]
    out = people("terms", JOSE).stdout
    assert "ordered: bond $1,500.00; conditions none (from the order)" in out
    out = people("terms", JOSE, "--bond-amount", "none", "--note", "ECF 331").stdout
    assert "ordered: bond no bond; conditions none (from the person)" in out
    assert "updated letters: 0 e-mails queued, 1 to print" in out
    assert people("terms", JOSE, "--bond-amount", "none").stdout.endswith("no change\n")
    data = as_json(people, "terms", JOSE, "--json")
    assert data["ordered"]["source"] == "person" and data["findings"] == []


def test_release_records_imposed_terms_and_status_lists_the_finding(people) -> None:  # type: ignore[no-untyped-def]
    people("locate", JOSE, "--facility", "BROADIL")
    people("release", JOSE, "--reason", "ATD", "--imposed-bond", "5000",
           "--imposed-conditions", "ankle monitor")
    data = as_json(people, "status", "--json")
    (finding,) = data["terms_findings"]
    assert finding["findings"] == ["bond-higher-than-ordered", "conditions-not-ordered"]
    assert "terms findings: 1 people" in people("status").stdout
    shown = as_json(people, "show", JOSE, "--json")["events"][-1]
    assert shown["payload"]["imposed"] == {"bond_cents": 500000, "conditions": "ankle-monitor"}


def test_a_bad_imposed_bond_is_a_usage_error(people) -> None:  # type: ignore[no-untyped-def]
    result = people("release", JOSE, "--imposed-bond", "lots", ok=False)
    assert result.exit_code == 2 and "--imposed-bond" in result.output


def test_assign_moves_people_and_refuses_by_position(people) -> None:  # type: ignore[no-untyped-def]
    people("order", "add", "--parent", CASE, "--case", SUB, "--deadline", "2026-03-05 12:00")
    out = people("assign", "--order", SUB, JOSE, "--docket", "ECF 331").stdout
    assert out.startswith(f"1 people assigned to order {SUB}\n")
    assert as_json(people, "show", JOSE, "--order", SUB, "--json")["order"] == SUB
    error = refused(people, "assign", "--order", SUB, JOSE, LUIS)
    assert error == (f"A-number 1: already in order {SUB}\n"
                     "Error: 1 problem(s); nobody was assigned\n")


def test_status_counts_interpreters_needed(people) -> None:  # type: ignore[no-untyped-def]
    data = as_json(people, "status", "--json")
    assert data["interpreter_needed_by_language"] == {"quc": 1}
    assert "interpreter needed: 1 (quc 1)" in people("status").stdout


# ---------------------------------------------------------------- the README section


def section() -> str:
    text = README.read_text()
    return text.split("## When the order changes", 1)[1].split("\n## ", 1)[0]


def readme_commands() -> list[list[str]]:
    block = re.search(r"```sh\n(.*?)```", section(), re.S).group(1)  # type: ignore[union-attr]
    return [shlex.split(line) for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def test_the_readme_section_runs_line_by_line(people, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    people("init")  # as in a user's home: the facility directory the README's codes come from
    terms_file = re.search(r"```csv\n(.*?)```", section(), re.S).group(1)  # type: ignore[union-attr]
    (tmp_path / "terms.csv").write_text(terms_file, encoding="utf-8")
    lines = readme_commands()
    assert len(lines) >= 15
    for argv in lines:
        assert argv[0] == "bondtrack"
        people(*argv[1:])
    sub = as_json(people, "status", "--order", SUB, "--json")
    assert [f["findings"] for f in sub["terms_findings"]] == [["conditions-not-ordered"]]
    history = as_json(people, "order", "history", "--order", CASE, "--json")
    assert [r["docket"] for r in history if r["docket"]] == [
        "ECF 195", "7th Cir. No. 25-3050", "ECF 330", "ECF 331", "ECF 331"]
    luis = as_json(people, "terms", LUIS, "--order", CASE, "--json")
    assert luis["ordered"]["bond"] == "no bond"
