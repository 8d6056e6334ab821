"""The README's walk-through is true: every line of it runs, in order, and does what it says."""

from __future__ import annotations

import re
import shlex

from tests.support import README


def walkthrough() -> list[list[str]]:
    text = README.read_text()
    section = text.split("## A day with bondtrack", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    return [shlex.split(line) for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def test_the_walkthrough_runs_line_by_line(cli, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "class-list.csv").write_text(
        "A#,Last Name,First Name,DOB,Language,Facility,Facility Name\n"
        "A-012-345-678,Núñez,José,3/4/1990,Spanish,BSAHOLD,Broadview Service Staging\n",
        encoding="utf-8",
    )
    lines = walkthrough()
    assert len(lines) >= 10
    for argv in lines:
        assert argv[0] == "bondtrack"
        cli(*argv[1:])
    shown = cli("show", "012345678", "--json").output
    assert '"stage": "RELEASED"' in shown


def spreadsheet_section() -> list[list[str]]:
    text = README.read_text()
    section = text.split("## Starting from your spreadsheet", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    return [shlex.split(line) for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def test_the_spreadsheet_section_runs_with_its_sample(cli, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """docs/sample-history.csv, imported as the README shows: everyone in their stage, and
    the report as of the 15th counts them as the dates say."""
    import csv
    import json
    import shutil

    (tmp_path / "docs").mkdir()
    shutil.copy(README.parent / "docs" / "sample-history.csv", tmp_path / "docs")
    monkeypatch.chdir(tmp_path)
    said = [cli(*argv[1:]).output for argv in spreadsheet_section()]
    assert "would record from the file's history: LOCATING 1, LOCATED 5" in said[1]
    assert "recorded from the file's history: LOCATING 1, LOCATED 5" in said[2]
    stages = {row["a_number"]: row["stage"] for row in json.loads(cli("list", "--json").output)}
    assert sorted(stages.values()) == sorted(
        ["INTAKE", "LOCATING", "LOCATED", "BOND_SET", "BOND_POSTED", "RELEASED", "RELEASED",
         "EXCLUDED", "DEPARTED", "NOT_IN_CUSTODY"])
    with (tmp_path / "report-as-of-15-nov.csv").open(encoding="utf-8-sig") as fh:
        summary = {row["label"]: row["people"] for row in csv.DictReader(fh)
                   if row["part"] == "summary"}
    assert {label: summary[label] for label in (
        "Released", "Outstanding", "Bond posted, awaiting release", "Bond set, not yet posted",
        "Located, bond not yet set", "Not located", "Excluded from the order")} == {
        "Released": "0", "Outstanding": "9", "Bond posted, awaiting release": "1",
        "Bond set, not yet posted": "2", "Located, bond not yet set": "2", "Not located": "4",
        "Excluded from the order": "1"}
    assert "Released" in said[4] and "import" in said[4]


def test_the_bond_section_runs_line_by_line(cli, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """"After release: the bond": a released person's bond, from a designee to the refund."""
    text = README.read_text()
    section = text.split("## After release: the bond", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "class-list.csv").write_text(
        "A#,Last Name,First Name,DOB,Language,Facility,Facility Name\n"
        "A-012-345-678,Núñez,José,3/4/1990,Spanish,BROADIL,Broadview Processing Center\n",
        encoding="utf-8",
    )
    for argv in walkthrough():
        cli(*argv[1:])
    lines = [shlex.split(line) for line in block.splitlines() if line.strip()]
    assert len(lines) >= 15
    for argv in lines:
        assert argv[0] == "bondtrack"
        cli(*argv[1:])
    shown = cli("bonds", "list", "--json").output
    assert '"state": "refunded"' in shown and '"refunded_cents": 152340' in shown
    assert (tmp_path / "bond-ledger.xlsx").is_file()


def browser_section() -> list[str]:
    text = README.read_text()
    section = text.split("## Working in the browser", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    return [line for line in block.splitlines() if line.strip()]


def test_working_in_the_browser_runs(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Each account command in turn (a password typed twice, or piped in), then the server."""
    import os

    import httpx

    from tests.fixtures_web import PASSWORD, free_port, start_server
    from workflow.cli import main

    piped = 'echo "$PASSWORD" | '
    lines = browser_section()
    assert lines[-1] == "bondtrack web --port 8000"
    for line in lines[:-1]:
        stdin = PASSWORD + "\n" if line.startswith(piped) else f"{PASSWORD}\n{PASSWORD}\n"
        argv = shlex.split(line.removeprefix(piped))
        assert argv[0] == "bondtrack"
        result = cli.runner.invoke(main, argv[1:], input=stdin)
        assert result.exit_code == 0, (line, result.output)
    server = start_server(dict(os.environ), tmp_path / "web.log", free_port())
    try:
        login = httpx.get(server.url + "/login", timeout=30)
        assert login.status_code == 200 and 'name="password"' in login.text
    finally:
        server.stop()
