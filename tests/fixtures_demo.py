"""The 615-person demo, built once for the whole run by `bondtrack demo`, shared read-only.

Building it walks 615 people through the real verbs and runs its flows on a temporary
Prefect server: the slowest thing the suite does. Its tests run on one xdist worker
(tests/conftest.py); a file lock in the run's shared temporary folder still makes any other
worker wait for the one build and read what it left (the home, the command's output, the
status as of the demo's now). A test that would change the home must copy it.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support import Cli

PEOPLE = 615
# The clock while the demo is built: 09:30 CDT on Tue 14 Jul 2026, so its deadline is noon
# CDT on Wed 15 Jul (26.5 hours on), the order dated 6 Jul and the class list imported on 7 Jul.
NOW = datetime(2026, 7, 14, 14, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Demo:
    home: Path  # the demo's own home: read it, never write to it
    output: str  # what `bondtrack demo` printed
    status: dict[str, Any]  # as of the demo's now (NOW), as `demo.run` returns it
    user_home: Path  # HOME while it was built
    user_bondtrack_home: Path  # BONDTRACK_HOME while it was built: the demo must not touch it


def shared_root(factory: pytest.TempPathFactory) -> Path:
    """The folder every xdist worker of this run shares (the run's own one without xdist)."""
    base = factory.getbasetemp()
    return base.parent if base.name.startswith("popen-") else base


@contextmanager
def locked(path: Path) -> Iterator[None]:
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield


@pytest.fixture(scope="session")
def demo_615(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """`demo.run` at 615 people (the default seed), as a user runs it: no Prefect or bondtrack
    settings of the test session, its own HOME, and BONDTRACK_HOME pointing elsewhere."""
    root = shared_root(tmp_path_factory) / "demo-615"
    root.mkdir(exist_ok=True)
    built = root / "built.json"
    with locked(root.parent / "demo-615.lock"):
        if not built.exists():
            _build(root, built)
    facts = json.loads(built.read_text())
    return Demo(home=root / "demo", output=facts["output"], status=facts["status"],
                user_home=root / "user-home", user_bondtrack_home=root / "user-bondtrack-home")


def _build(root: Path, built: Path) -> None:
    from sqlalchemy import select

    from workflow.core import clock, config
    from workflow.record import db
    from workflow.record.models import CourtOrder
    from workflow.views import reports

    with pytest.MonkeyPatch.context() as env:
        for name in [n for n in os.environ if n.startswith(("PREFECT_", "BONDTRACK_"))]:
            env.delenv(name)
        env.setenv("HOME", str(root / "user-home"))
        env.setenv("XDG_DATA_HOME", str(root / "xdg"))
        env.setenv("BONDTRACK_HOME", str(root / "user-bondtrack-home"))
        env.setattr(clock, "_clock", clock.fixed(NOW))  # the demo is built around the clock
        output = Cli()("demo", "--home", str(root / "demo")).output
    database = db.connect(config.load({"BONDTRACK_HOME": str(root / "demo")}))
    with database.read() as session:
        status = reports.status(session, session.scalars(select(CourtOrder)).one(), NOW)
    database.dispose()
    built.write_text(json.dumps({"output": output, "status": status}))
