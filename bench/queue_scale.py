#!/usr/bin/env python3
"""The queue at 615 and at 100,000 people: the browser's /queue page (a signed-in staff
member's own people) and `bondtrack queue --json` (everyone), each against itself at 615.

Each side is bench/web.py's order (people spread over eight facilities and the stages by a
bulk update), with half of them owned by the staff member and a third of those being looked
for given a look-up due later. Prints `queue_scale ratio=X goal=2.0 PASS|FAIL (...)`: the
larger of the two ratios.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.web import SIZES, build, median_get, signed_in  # noqa: E402 (after the path is set)

GOAL = 2.0
PAGE_RUNS = 31
CLI_RUNS = 7
EMAIL, PASSWORD = "staff@bondtrack.invalid", "bench password, not secret"
BONDTRACK = str(Path(sys.executable).parent / "bondtrack")


def measure(people: int, workdir: Path) -> tuple[float, float]:
    """(median seconds of the /queue page, of `bondtrack queue --json`)."""
    from sqlalchemy import update

    from workflow.core import clock
    from workflow.record import users
    from workflow.record.audit import Actor
    from workflow.record.models import Detainee
    from workflow.web import create_app

    home = workdir / f"home-{people}"
    home.mkdir(mode=0o700)
    settings, database, _ = build(people, home)
    now = clock.now()
    with database.write() as session:
        owner = users.add_user(session, EMAIL, "staff", PASSWORD, actor=Actor("bench"), now=now)
        session.execute(update(Detainee).where(Detainee.id % 2 == 0).values(owner_id=owner.id)
                        .execution_options(synchronize_session=False))
        session.execute(update(Detainee).where(Detainee.id % 3 == 0,
                                               Detainee.stage.in_(("INTAKE", "LOCATING")))
                        .values(next_lookup_at=now + timedelta(hours=6), empty_lookups=1)
                        .execution_options(synchronize_session=False))
    client = signed_in(create_app(settings, database), EMAIL, PASSWORD)
    assert client.get("/queue").status_code == 200
    page, _ = median_get(client, "/queue", PAGE_RUNS)
    database.dispose()
    env = {**os.environ, "BONDTRACK_HOME": str(home), "BONDTRACK_DATABASE_URL": ""}
    argv = [BONDTRACK, "queue", "--json"]
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    runs = []
    for _ in range(CLI_RUNS):
        start = time.perf_counter()
        subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
        runs.append(time.perf_counter() - start)
    return page, statistics.median(runs)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bondtrack-bench-queue-") as tmp:
        (page_s, cli_s), (page_l, cli_l) = (measure(n, Path(tmp)) for n in SIZES)
    ratio = max(page_l / page_s, cli_l / cli_s)
    verdict = "PASS" if ratio <= GOAL else "FAIL"
    print(f"queue_scale ratio={ratio:.2f} goal={GOAL} {verdict} (/queue {page_s * 1000:.1f} ms"
          f" at {SIZES[0]}, {page_l * 1000:.1f} ms at {SIZES[1]}; `queue --json`"
          f" {cli_s:.2f} s at {SIZES[0]}, {cli_l:.2f} s at {SIZES[1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
