#!/usr/bin/env python3
"""The people page, filtered and paginated, at 615 and at 100,000 people, and their ratio.

Each side is a demo order (its facilities, field offices and stages) served by the
Flask app in this process to a signed-in attorney; each timed request is one page
of people in one stage at one facility, second page. Prints
`web_people_scale ratio=X goal=2.0 PASS|FAIL (...)`.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SIZES = (615, 100_000)
GOAL = 2.0
RUNS = 21
PASSWORD = "bench password, not secret"


def page_seconds(people: int, workdir: Path) -> tuple[float, str]:
    from sqlalchemy import func, select

    from workflow import clock, config, db, demo, users
    from workflow.audit import Actor
    from workflow.models import Detainee, Facility
    from workflow.web import create_app

    home = db.ensure_private_dir(workdir / f"home-{people}")
    settings = config.load({**os.environ, "BONDTRACK_HOME": str(home),
                            "BONDTRACK_DATABASE_URL": ""})
    database = db.connect(settings)
    db.upgrade(database)
    order_id = demo.build(database, home, people=people, seed=2025, now=demo.NOW)
    with database.write() as session:
        users.add_user(session, "bench@bondtrack.invalid", "attorney", PASSWORD,
                       actor=Actor("bench"), now=clock.now())
        # The busiest facility and stage: the page a locator would open.
        counts = Counter(session.execute(
            select(Facility.code, Detainee.stage).join(Facility, Detainee.facility_id
                                                       == Facility.id)).all())
        (code, stage), _ = counts.most_common(1)[0]
        total = session.scalar(select(func.count()).select_from(Detainee))
    client = create_app(settings, database).test_client()
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    assert client.post("/login", data={"email": "bench@bondtrack.invalid", "password": PASSWORD,
                                       "csrf": token}).status_code == 303
    url = f"/people?order={order_id}&stage={stage}&facility={code}&page=2"
    assert client.get(url).status_code == 200
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        answer = client.get(url)
        times.append(time.perf_counter() - start)
        assert answer.status_code == 200
    database.dispose()
    return statistics.median(times), f"{total} people, {counts[(code, stage)]} in the filter"


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bondtrack-bench-web-") as tmp:
        (small, small_note), (large, large_note) = (page_seconds(n, Path(tmp)) for n in SIZES)
    ratio = large / small
    verdict = "PASS" if ratio <= GOAL else "FAIL"
    print(f"web_people_scale ratio={ratio:.2f} goal={GOAL} {verdict} ({small * 1000:.1f} ms at"
          f" {small_note}; {large * 1000:.1f} ms at {large_note})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
