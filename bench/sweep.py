#!/usr/bin/env python3
"""The sweep at 615 and at 10,000 people, timed as a user runs it, and their ratio.

Each side is a fresh demo order (built once with workflow.demo.build, then
copied so every timed sweep is a *first* sweep that records its findings) and
`bondtrack run sweep` in its own process on Prefect's ephemeral server: the
whole wait a user sees, Prefect's start-up included.
Prints `sweep_scale ratio=X goal=2.0 PASS|FAIL (...)`.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from workflow.core.files import ensure_private_dir

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BONDTRACK = str(Path(sys.executable).parent / "bondtrack")
SIZES = (615, 10_000)
GOAL = 2.0
DEMO_NOW = "2025-11-20 09:00"  # the demo's now, court time


def build(people: int, workdir: Path) -> Path:
    """A demo order of ``people`` in its own home; the path of its database file."""
    from workflow import demo
    from workflow.core import config
    from workflow.record import db

    home = ensure_private_dir(workdir / f"built-{people}")
    settings = config.load({**os.environ, "BONDTRACK_HOME": str(home),
                            "BONDTRACK_DATABASE_URL": ""})
    database = db.connect(settings)
    db.upgrade(database)
    demo.build(database, home, people=people, seed=2025, now=demo.NOW)
    database.dispose()
    return home / "bondtrack.db"


def sweep_once(built: Path, home: Path, prefect_home: Path | None) -> float:
    """Seconds for one first sweep of a fresh copy of ``built`` in ``home``."""
    home.mkdir(mode=0o700)
    shutil.copy(built, home / "bondtrack.db")
    if prefect_home is not None:
        shutil.copytree(prefect_home, home / "prefect")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "BONDTRACK_"))}
    env["BONDTRACK_HOME"] = str(home)
    start = time.perf_counter()
    done = subprocess.run([BONDTRACK, "run", "sweep", "--now", DEMO_NOW, "--json"], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"sweep failed in {home}: {done.stderr.strip().splitlines()[-1:]}")
    return seconds


def measure(workdir: Path, runs: int = 3) -> dict[int, float]:
    """Median wall time of a first sweep at each size, Prefect's database already set up.

    A sweep runs every half hour on the same home, so Prefect's one-time
    migrations (a fresh home's first start) are paid once, untimed.
    """
    times = {}
    for people in SIZES:
        built = build(people, workdir)
        warm = workdir / f"warm-{people}"
        sweep_once(built, warm, None)
        times[people] = statistics.median(
            sweep_once(built, workdir / f"run-{people}-{n}", warm / "prefect") for n in range(runs))
    return times


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bondtrack-bench-sweep-") as tmp:
        times = measure(Path(tmp))
    small, large = (times[n] for n in SIZES)
    ratio = large / small
    verdict = "PASS" if ratio <= GOAL else "FAIL"
    print(f"sweep_scale ratio={ratio:.2f} goal={GOAL} {verdict}"
          f" (sweep@{SIZES[0]} {small:.1f} s vs @{SIZES[1]} {large:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
