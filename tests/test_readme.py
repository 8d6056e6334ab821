"""The README's walk-through is true: every line of it runs, in order, and does what it says."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def walkthrough() -> list[list[str]]:
    text = README.read_text()
    section = text.split("## A day with bondtrack", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    return [shlex.split(line) for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def test_the_walkthrough_runs_line_by_line(cli, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "class-list.csv").write_text(
        "A#,Last Name,First Name,DOB,Language,Facility,Facility Name\n"
        "A-012-345-678,Núñez,José,3/4/1990,Spanish,BROADIL,Broadview Processing Center\n",
        encoding="utf-8",
    )
    lines = walkthrough()
    assert len(lines) >= 10
    for argv in lines:
        assert argv[0] == "bondtrack"
        cli(*argv[1:])
    shown = cli("show", "012345678", "--json").output
    assert '"stage": "RELEASED"' in shown


def browser_section() -> list[str]:
    text = README.read_text()
    section = text.split("## Working in the browser", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    return [line for line in block.splitlines() if line.strip()]


def test_working_in_the_browser_runs(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Each account command in turn (a password typed twice, or piped in), then the server."""
    import os

    import httpx

    from tests.web_fixtures import PASSWORD, free_port, start_server
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
