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
