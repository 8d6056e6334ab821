"""Demo step: a sweep, then a synthetic custody list reconciled, through Prefect."""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.core import clock
from workflow.core.config import Settings
from workflow.core.errors import BondtrackError
from workflow.core.files import ensure_private_dir, private_file
from workflow.core.stages import Stage
from workflow.record.db import Database
from workflow.record.models import CourtOrder, Detainee, Facility


def synthetic_list(session: Session, order: CourtOrder, path: Path, rng: random.Random) -> int:
    """A custody list as ICE might send it for the demo: most people where we have them,
    some moved, some newly found, some missing, a few released still listed, a few strangers."""
    codes = list(session.scalars(select(Facility.code).order_by(Facility.code)))
    names = {code: name for code, name in session.execute(select(Facility.code, Facility.name))}
    rows = session.execute(
        select(Detainee.a_number, Detainee.stage, Facility.code)
        .outerjoin(Facility, Facility.id == Detainee.facility_id)
        .where(Detainee.order_id == order.id).order_by(Detainee.id)
    ).all()
    listed = [line for a_number, stage, code in rows
              if (line := _listed_as(rng, a_number, stage, code, codes))]
    taken = {a_number for a_number, _, _ in rows}
    strangers: set[str] = set()
    while len(strangers) < max(3, len(rows) // 100):
        number = f"{rng.randrange(10**8, 10**9):09d}"
        if number not in taken:
            strangers.add(number)
    listed += [(number, rng.choice(codes)) for number in sorted(strangers)]
    rng.shuffle(listed)
    private_file(path)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["A-Number", "Facility Code", "Facility Name", "Status"])
        for a_number, code in listed:
            writer.writerow([a_number, code, names.get(code, ""),
                             "In Custody" if code else "Removed"])
    return len(listed)


def _listed_as(rng: random.Random, a_number: str, stage: str, code: str | None,
               codes: list[str]) -> tuple[str, str] | None:
    """Where the demo list puts one person (facility code, "" for removed), or None if absent."""
    roll = rng.random()
    if stage in (Stage.INTAKE.value, Stage.LOCATING.value):
        return (a_number, code or rng.choice(codes)) if roll < 0.5 else None
    if stage in (Stage.LOCATED.value, Stage.BOND_SET.value, Stage.BOND_POSTED.value):
        if roll < 0.85:
            return a_number, code or rng.choice(codes)
        if roll < 0.92:
            return a_number, rng.choice([c for c in codes if c != code])
        return (a_number, "") if roll < 0.94 else None
    if stage == Stage.RELEASED.value and roll < 0.02:
        return a_number, code or rng.choice(codes)
    return None


# The two commands in one Python process, so Prefect's local server starts only once.
_RUN_COMMANDS = """
import json, sys
from workflow.cli import main
for argv in json.loads(sys.argv[1]):
    print("$ bondtrack " + " ".join(argv), flush=True)
    main(argv, prog_name="bondtrack", standalone_mode=False)
    print(flush=True)
"""


def step(database: Database, settings: Settings, order_id: int, now: datetime,
              say: Callable[[str], None]) -> None:
    """`bondtrack demo`: a sweep, then a synthetic custody list reconciled, run as a user would."""
    path = settings.home / "custody-list.csv"
    with database.read() as session:
        order = session.get(CourtOrder, order_id)
        assert order is not None, "the demo built it"
        count = synthetic_list(session, order, path, random.Random(order_id))
        case, tz = order.case_number, order.time_zone
    say(f"\nrunning the Prefect flows (a custody list of {count} lines is in {path.name})")
    at = [clock.local(now + timedelta(minutes=m), tz).strftime("%Y-%m-%d %H:%M") for m in (0, 5)]
    commands = [["run", "sweep", "--order", case, "--now", at[0], "--top", "10"],
                ["run", "reconcile", str(path), "--order", case, "--now", at[1], "--yes"]]
    env = {**os.environ, "BONDTRACK_HOME": str(settings.home),
           "BONDTRACK_DATABASE_URL": settings.database_url, "BONDTRACK_OPERATOR": settings.operator}
    # Never a team's server from the environment: only the one [demo] names, if any.
    env.pop("PREFECT_API_URL", None)
    if server := settings.section("demo")["prefect_api_url"]:
        env["PREFECT_API_URL"] = server
        env["PREFECT_HOME"] = str(ensure_private_dir(settings.home / "prefect"))
    done = subprocess.run([sys.executable, "-c", _RUN_COMMANDS, json.dumps(commands)], env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise BondtrackError(f"the demo's flows failed: {last}")
    for line in done.stdout.rstrip().splitlines():
        say(line)
