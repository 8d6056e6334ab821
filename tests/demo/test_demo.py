"""The demo: a synthetic order walked through the real code, never touching real data."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.fixtures_demo import Demo
from workflow import demo
from workflow.core import config
from workflow.core.errors import BondtrackError
from workflow.core.stages import Stage
from workflow.record import db
from workflow.record.models import Detainee, Event


def test_demo_builds_615_people_spread_over_every_stage(demo_615: Demo) -> None:
    status = demo_615.status
    assert status["total"] == 615
    assert status["order"]["deadline"] == "2025-11-21T12:00:00-06:00"
    assert status["now"] == "2025-11-20T09:00:00-06:00"
    for stage in (Stage.LOCATING, Stage.LOCATED, Stage.BOND_SET, Stage.BOND_POSTED,
                  Stage.RELEASED, Stage.EXCLUDED):
        assert status["by_stage"][stage.value] > 0, stage
    assert 0 < status["outstanding"] < status["covered"]
    assert not demo_615.user_bondtrack_home.exists(), "the user's own home is never touched"


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> demo.DemoResult:
    """A 60-person demo (seed 11), built once for the tests below: each full run starts its own
    Prefect server, the cost of these tests."""
    home = tmp_path_factory.mktemp("small-demo") / "demo"
    return demo.run(people=60, seed=11, home=home, say=lambda line: None)


def test_demo_history_is_real_events(small_demo: demo.DemoResult) -> None:
    people, imported, moves = count_people_and_moves(small_demo.home)
    assert people == imported == 60
    assert moves > 60


def count_people_and_moves(home: Path) -> tuple[int, int, int]:
    """(people, their "imported" events, the moves after their import) in a demo's home."""
    database = db.connect(config.load({"BONDTRACK_HOME": str(home)}))
    with database.read() as session:
        people = session.scalar(select(func.count()).select_from(Detainee))
        imported = session.scalar(select(func.count()).select_from(Event)
                                  .where(Event.kind == "imported"))
        moves = session.scalar(select(func.count()).select_from(Event)
                               .where(Event.to_stage.is_not(None), Event.kind != "imported"))
    database.dispose()
    return people or 0, imported or 0, moves or 0


def test_demo_is_the_same_for_the_same_seed(small_demo: demo.DemoResult,
                                            tmp_path: Path) -> None:
    second = demo.run(people=60, seed=11, home=tmp_path / "b", say=lambda line: None)
    assert small_demo.status["by_stage"] == second.status["by_stage"]
    assert count_people_and_moves(second.home) == count_people_and_moves(small_demo.home)


def test_demo_rebuilds_its_own_home_but_refuses_any_other(small_demo: demo.DemoResult,
                                                          tmp_path: Path) -> None:
    home = tmp_path / "demo"
    shutil.copytree(small_demo.home, home)  # a home a demo made, 60 people in it
    demo.run(people=5, seed=1, home=home, say=lambda line: None)
    assert count_people_and_moves(home)[:2] == (5, 5), "rebuilt from empty, not added to"
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "bondtrack.db").write_text("real data")
    with pytest.raises(BondtrackError, match="not a bondtrack demo home"):
        demo.run(people=5, seed=1, home=precious, say=lambda line: None)
    assert (precious / "bondtrack.db").read_text() == "real data"


def test_demo_command_prints_the_status_of_615_people(demo_615: Demo) -> None:
    out = demo_615.output
    assert "building a demo order of 615 synthetic people" in out
    assert "deadline Fri 21 Nov 2025 12:00 -06:00" in out
    assert "time left 1d 03h 00m" in out
    counts = {
        cells[0]: int(cells[1])
        for line in out.splitlines()
        if len(cells := [c.strip() for c in line.strip("│ ").split("│")]) == 2
        and cells[1].isdigit()
    }
    # The status table names the stages in words, as people read them.
    words = ("Intake", "Locating", "Located", "Bond set", "Bond posted", "Released",
             "Excluded", "Departed", "Not in custody")
    assert sum(counts[word] for word in words) == 615
    assert counts["covered"] == 615 - counts["Excluded"]
    last = out.splitlines()[-1]  # how to reach the command that was just run
    if last != "the bondtrack command is on your PATH":
        command, activate = re.fullmatch(r"to run bondtrack: (\S+), or `source (\S+)` first",
                                         last).groups()
        assert Path(command).resolve() == (Path(sys.executable).parent / "bondtrack").resolve()
        assert Path(activate).is_file()
