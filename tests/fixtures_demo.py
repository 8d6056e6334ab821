"""The 615-person demo, built once for the whole run by `bondtrack demo`, shared read-only.

Building it walks 615 people through the real verbs and runs its flows on a temporary
Prefect server: the slowest thing the suite does. It is built as a user runs it, in a
process of its own (tests/privacy_demo.py) under the default umask, with everything logged
at DEBUG to a file, so the privacy tests search the same build. A file lock in the run's
shared temporary folder makes any other worker wait for the one build and read what it left
(the home, the command's output, its log and stderr, the status as of the demo's now). A
test that would change the home must copy it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT, locked, shared_root

PEOPLE = 615
# The clock while the demo is built: 09:30 CDT on Tue 14 Jul 2026, so its deadline is noon
# CDT on Wed 15 Jul (26.5 hours on), the order dated 6 Jul and the class list imported on 7 Jul.
NOW = datetime(2026, 7, 14, 14, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Demo:
    home: Path  # the demo's own home: read it, never write to it
    output: str  # what `bondtrack demo` printed
    status: dict[str, Any]  # as of the demo's now (NOW), as `demo.run` returns it
    log: Path  # everything logged while it was built, at DEBUG
    stderr: Path  # what the command wrote to stderr
    user_home: Path  # HOME while it was built
    user_bondtrack_home: Path  # BONDTRACK_HOME while it was built: the demo must not touch it


@pytest.fixture(scope="session")
def demo_615(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """`bondtrack demo` at 615 people (the default seed), as a user runs it: no Prefect or
    bondtrack settings of the test session, its own HOME, and BONDTRACK_HOME elsewhere."""
    root = shared_root(tmp_path_factory) / "demo-615"
    root.mkdir(exist_ok=True)
    built = root / "built.json"
    with locked(root.parent / "demo-615.lock"):
        if not built.exists():
            _build(root, built)
    facts = json.loads(built.read_text())
    return Demo(home=root / "demo", output=facts["output"], status=facts["status"],
                log=root / "debug.log", stderr=root / "stderr.txt",
                user_home=root / "user-home", user_bondtrack_home=root / "user-bondtrack-home")


def _build(root: Path, built: Path) -> None:
    from sqlalchemy import select

    from workflow.core import config
    from workflow.record import db
    from workflow.record.models import CourtOrder
    from workflow.views import reports

    env = {k: v for k, v in os.environ.items() if not k.startswith(("BONDTRACK_", "PREFECT_"))}
    env |= {"HOME": str(root / "user-home"), "XDG_DATA_HOME": str(root / "xdg"),
            "BONDTRACK_HOME": str(root / "user-bondtrack-home")}
    done = subprocess.run([sys.executable, "-m", "tests.privacy_demo", "build",
                           str(root / "demo"), str(root / "debug.log")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    (root / "stderr.txt").write_text(done.stderr)
    assert done.returncode == 0, done.stderr[-3000:]
    database = db.connect(config.load({"BONDTRACK_HOME": str(root / "demo")}))
    with database.read() as session:
        status = reports.status(session, session.scalars(select(CourtOrder)).one(), NOW)
    database.dispose()
    built.write_text(json.dumps({"output": done.stdout, "status": status}))
