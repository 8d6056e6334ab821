"""Model-based test: random sequences of moves, imports and bulk applies against the real database.

A Hypothesis state machine keeps a small model of what each person's record
must be (stage, version, number of events, facility, bonds) and drives the real
verbs, `import` and `apply`, half through the Python API and half through the
CLI. After every step the database must agree with the model and pass every
invariant (tests/fixtures_hardening.py); a refused step must leave every row of
every table as it was.
"""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from tests.fixtures_hardening import (
    check_invariants,
    drop_pg_database,
    fresh_home,
    table_rows,
)
from workflow.core import clock, config, stages
from workflow.core.errors import BondtrackError
from workflow.core.stages import Action, Stage
from workflow.intake import apply as applying
from workflow.intake import roster
from workflow.orders import orders
from workflow.people import tracking
from workflow.places import facilities
from workflow.record import db
from workflow.record.audit import Actor
from workflow.record.models import Bond, CourtOrder, Detainee, Event, Facility

CASE = "1:18-cv-03757"
START = datetime(2025, 11, 14, 15, 0, tzinfo=UTC)
STEP = timedelta(minutes=7)
POOL = ("012345678", "098765432", "023456789", "111111111", "222222222")
FAMILY = ("Núñez", "García López", "Pérez", "O'Brien")
GIVEN = ("José", "Ana María", "Luis")
FACILITIES = {"BROADIL": "Broadview Processing Center", "KROME": "Krome SPC", "OTAY": "Otay Mesa"}
VERBS = (*(a.value for a in Action), "note")
STAFF = Actor("tester", "cli")
# The verbs that take only a time and a reason, through the Python API.
_PLAIN = {Action.RELEASE: tracking.release, Action.DEPART: tracking.depart,
          Action.NOT_IN_CUSTODY: tracking.not_in_custody, Action.REDETAIN: tracking.redetain}
# `apply` passes a row's facility to every plain move; these verbs take none.
_IGNORE_FACILITY = (Action.BOND, Action.POST, Action.EXCLUDE)
_NEED_FACILITY = (Action.LOCATE, Action.TRANSFER)
# Reproducible (derandomized) and bounded: about 20 s on SQLite and 30 s on PostgreSQL on 2 cores.
EXAMPLES = {"sqlite": 10, "postgresql": 6}


@dataclass(frozen=True)
class Person:
    """What the model says one person's record is."""

    stage: str = Stage.INTAKE.value
    since: datetime = START
    version: int = 1
    events: int = 1
    facility: str | None = None
    bonds: int = 0
    family: str = ""
    given: str = ""


@dataclass(frozen=True)
class Move:
    """One requested move, as a row of `apply` or one verb call."""

    a_number: str
    action: str
    facility: str | None = None
    reason: bool = False
    early: bool = False


moves = st.builds(
    Move,
    a_number=st.sampled_from(POOL),
    action=st.sampled_from(VERBS),
    facility=st.one_of(st.none(), st.sampled_from(sorted(FACILITIES))),
    reason=st.booleans(),
    early=st.sampled_from([False, False, False, True]),  # a time before the last change
).map(lambda move: replace(move, reason=True) if move.action == "depart" else move)
# A departure always says how the person left: the CLI, the browser and apply files refuse
# one without a reason, which the Python API (the "core" way here) does not check.
VIA = st.sampled_from(["core", "cli"])
# Moves that end a person's path are drawn less often, so runs reach the later stages.
_WEIGHTS = {"transfer": 2, "exclude": 1, "depart": 1, "not-in-custody": 1}
RARELY = st.sampled_from([False] * 5 + [True])
listed = st.tuples(st.sampled_from(POOL), st.sampled_from(FAMILY), st.sampled_from(GIVEN),
                   st.one_of(st.none(), st.sampled_from(sorted(FACILITIES))))


def predict(person: Person | None, move: Move, now: datetime) -> Person | None:
    """The person after ``move`` at ``now``, or None when the move must be refused."""
    if person is None:
        return None
    if move.action == "note":
        return replace(person, version=person.version + 1, events=person.events + 1)
    if move.early:
        return None
    action = Action(move.action)
    transition = stages.find(action, Stage(person.stage))
    if transition is None:
        return None
    given = {"facility": move.facility is not None,
             "reason": move.reason or action is Action.EXCLUDE}
    if not all(given[need] for need in transition.requires):
        return None
    facility = person.facility
    if move.facility is not None and action not in _IGNORE_FACILITY:
        facility = move.facility
    bonds = person.bonds + (action is Action.BOND and person.stage != Stage.BOND_SET.value)
    return replace(person, stage=transition.target.value, since=now, version=person.version + 1,
                   events=person.events + 1, facility=facility, bonds=bonds)


def likely_move(data: st.DataObject, people: dict[str, Person],
                a_number: str | None = None) -> Move:
    """A move the stage table allows for someone in ``people`` (or a note), forward moves first."""
    a_number = a_number or data.draw(st.sampled_from(sorted(people)))
    allowed = [t.action.value for t in stages.allowed_from(Stage(people[a_number].stage))]
    weighted = [a for a in allowed for _ in range(_WEIGHTS.get(a, 4))]
    action = data.draw(st.sampled_from(weighted or ["note"]))
    facility = (data.draw(st.sampled_from(sorted(FACILITIES)))
                if action in (Action.LOCATE.value, Action.TRANSFER.value) else None)
    return Move(a_number, action, facility,
                reason=action == "depart" or not data.draw(RARELY))


def _apply_row(move: Move) -> list[str]:
    """A row of an `apply` file; exclusions need one of the exclusion reasons."""
    reason = "security-threat" if move.action == "exclude" else "because" if move.reason else ""
    name = FACILITIES[move.facility] if move.facility else ""
    return [move.a_number, move.action, move.facility or "", name, reason, "a note"]


class TrackingMachine(RuleBasedStateMachine):
    """One order on a fresh database; the model is a dict A-number → Person."""

    def __init__(self, context: dict[str, Any]):
        super().__init__()
        self.context = context
        self.env = fresh_home(context["tmp"], context["backend"], context.get("sqlite_template"),
                              context.get("pg"), context.get("pg_template"))
        self.saved_env = dict(os.environ)
        os.environ.update(self.env)
        self.saved_clock = clock.set_clock(clock.fixed(START))
        self.database = db.connect(config.load(self.env))
        self.now = START
        self.people: dict[str, Person] = {}
        self.order_events = 0
        self.files = 0
        self.runner = CliRunner()

    # ------------------------------------------------------------ plumbing

    def tick(self) -> datetime:
        self.now += STEP
        clock.set_clock(clock.fixed(self.now))
        return self.now

    def cli(self, *args: str) -> int:
        return self.run_cli(*args).exit_code

    def run_cli(self, *args: str) -> Result:
        """bondtrack in-process: exit 0 or 1, one-line errors, never a person's name or A-number."""
        from workflow.cli import main

        result = self.runner.invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code in (0, 1), (args, result.output)
        assert "Traceback" not in result.output
        leaked = [s for s in (*POOL, *FAMILY, *GIVEN) if s in result.output]
        assert not leaked, f"bondtrack {args[0]} printed personal data"
        return result

    def write_file(self, header: list[str], rows: list[list[str]]) -> Path:
        self.files += 1
        path = Path(self.env["BONDTRACK_HOME"]) / f"file-{self.files}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows(rows)
        return path

    def attempt(self, name: str, run: Any, expect_ok: bool) -> None:
        """Run one step; a refused step must change no row of any table."""
        before = None if expect_ok else table_rows(self.database)
        ok = run()
        event(f"{name}: {'applied' if ok else 'refused'}")
        assert ok == expect_ok, f"expected {'success' if expect_ok else 'refusal'}"
        if not expect_ok:
            assert table_rows(self.database) == before, "a refused step changed the database"

    def core(self, work: Any) -> bool:
        try:
            with self.database.write() as session:
                work(session, orders.resolve_order(session, CASE))
            return True
        except BondtrackError:
            return False

    # ------------------------------------------------------------ steps

    @initialize(people=st.lists(listed, min_size=1, max_size=4, unique_by=lambda r: r[0]))
    def start(self, people: list[tuple]) -> None:
        assert self.cli("order", "add", "--case", CASE, "--court", "N.D. Ill.", "--judge", "J",
                        "--deadline", "2025-11-21 12:00", "--tz", "America/Chicago") == 0
        self.order_events += 1
        self.import_list(people, via="cli")

    @rule(people=st.lists(listed, min_size=1, max_size=5, unique_by=lambda r: r[0]),
          via=VIA, twin=RARELY, broken=RARELY)
    def import_list(self, people: list[tuple], via: str, twin: bool = False,
                    broken: bool = False) -> None:
        now = self.tick()
        if twin:
            people = [*people, people[0]]
        rows = [[a, family, given, "Spanish", code or "", FACILITIES[code] if code else ""]
                for a, family, given, code in people]
        if broken:
            rows.append(["12-34", "Bad", "Row", "Spanish", "", ""])
        path = self.write_file(["A#", "Last Name", "First Name", "Language", "Facility Code",
                                "Facility Name"], rows)
        expected = self.predict_import(people, now) if not broken else None
        if via == "cli":
            run = lambda: self.cli("import", str(path)) == 0  # noqa: E731
        else:
            run = lambda: self.core(lambda s, o: roster.import_class_list(  # noqa: E731
                s, o, path, actor=Actor("tester", "import"), now=now))
        self.attempt(f"import via {via}", run, expected is not None)
        if expected is not None:
            self.people, changed = expected
            self.order_events += changed

    def predict_import(self, people: list[tuple], now: datetime) -> tuple[dict, int] | None:
        if len({a for a, *_ in people}) < len(people):
            return None  # twins: the whole list is refused
        after = dict(self.people)
        changed = 0
        for a, family, given, code in people:
            current = after.get(a)
            if current is None:
                after[a] = Person(since=now, facility=code, family=family, given=given)
                changed = 1
                continue
            fields = (current.family != family) + (current.given != given)
            moves_facility = (code is not None and code != current.facility
                              and current.stage in (Stage.INTAKE.value, Stage.LOCATING.value))
            if fields or moves_facility:
                after[a] = replace(current, family=family, given=given,
                                   facility=code if moves_facility else current.facility,
                                   version=current.version + 1,
                                   events=current.events + fields + moves_facility)
                changed = 1
        return after, changed

    @rule(move=moves, via=VIA)
    def any_verb(self, move: Move, via: str) -> None:
        """Any verb on anyone: mostly moves the table forbids."""
        self.verb(move, via)

    @precondition(lambda self: bool(self.people))
    @rule(data=st.data(), steps=st.integers(1, 4), via=VIA)
    def allowed_verbs(self, data: st.DataObject, steps: int, via: str) -> None:
        """A few moves the table allows for the person's stage (requirements mostly met)."""
        a_number = data.draw(st.sampled_from(sorted(self.people)))
        for _ in range(steps):
            self.verb(likely_move(data, self.people, a_number), via)

    def verb(self, move: Move, via: str) -> None:
        now = self.tick()
        if move.action == "note" or Action(move.action) not in _NEED_FACILITY:
            move = replace(move, facility=None)  # only locate and transfer take a facility
        elif via == "cli" and move.facility is None:
            move = replace(move, facility="BROADIL")  # click insists on --facility
        before = self.people.get(move.a_number)
        expected = predict(before, move, now)
        at = (before.since - timedelta(minutes=1)) if before and move.early else None
        run = (lambda: self.verb_cli(move, at) == 0) if via == "cli" else \
            (lambda: self.core(lambda s, o: self.verb_core(s, o, move, at, now)))
        self.attempt(f"{move.action} via {via}", run, expected is not None)
        if expected is not None:
            self.people[move.a_number] = expected

    def verb_core(self, session: Any, order: CourtOrder, move: Move, at: datetime | None,
                  now: datetime) -> None:
        detainee = orders.find_detainee(session, order, move.a_number)
        reason = "because" if move.reason else None
        common = {"actor": STAFF, "now": now}
        if move.action == "note":
            tracking.add_note(session, detainee, "a note", **common)
            return
        action = Action(move.action)
        facility = (facilities.by_code(session, move.facility, FACILITIES[move.facility])
                    if move.facility else None)
        if action in _NEED_FACILITY:
            if facility is None:  # the API needs one; the table's check is what is tested
                tracking.move(session, detainee, action, at=at, **common)
            else:
                getattr(tracking, action.value)(session, detainee, facility, at=at, **common)
        elif action is Action.BOND:
            tracking.set_bond(session, detainee, amount_cents=150_000, at=at, **common)
        elif action is Action.POST:
            tracking.post_bond(session, detainee, receipt="I305-1", method="cebonds", at=at,
                               **common)
        elif action is Action.EXCLUDE:
            tracking.exclude(session, detainee, reason="security-threat", at=at, **common)
        elif action is Action.SEARCH:
            tracking.search(session, detainee, at=at, **common)
        else:
            _PLAIN[action](session, detainee, at=at, reason=reason, **common)

    def verb_cli(self, move: Move, at: datetime | None) -> int:
        if move.action == "note":
            return self.cli("note", move.a_number, "a note")
        args = [move.action, move.a_number]
        if at is not None:
            args += ["--at", at.isoformat()]
        action = Action(move.action)
        if action in _NEED_FACILITY:
            args += ["--facility", move.facility, "--facility-name", FACILITIES[move.facility]]
        elif action is Action.BOND:
            args += ["--amount", "1500"]
        elif action is Action.POST:
            args += ["--receipt", "I305-1", "--method", "cebonds"]
        elif action is Action.EXCLUDE:
            args += ["--reason", "security-threat"]
        elif move.reason and action is not Action.SEARCH:
            args += ["--reason", "because"]
        return self.cli(*args)

    @rule(data=st.data(), size=st.integers(1, 5), via=VIA)
    def apply(self, data: st.DataObject, size: int, via: str) -> None:
        """A bulk file of moves, mostly allowed in sequence, sometimes one that is not."""
        now = self.tick()
        after, ok, rows = dict(self.people), True, []
        for _ in range(size):
            stray = not after or data.draw(RARELY)
            move = replace(data.draw(moves), early=False) if stray else likely_move(data, after)
            rows.append(move)
            expected = predict(after.get(move.a_number), move, now)
            if expected is None:
                ok = False
            else:
                after[move.a_number] = expected
        path = self.write_file(["a_number", "action", "facility_code", "facility_name", "reason",
                                "note"], [_apply_row(m) for m in rows])
        if via == "cli":
            run = lambda: self.cli("apply", str(path)) == 0  # noqa: E731
        else:
            run = lambda: self.core(lambda s, o: applying.apply_file(  # noqa: E731
                s, o, path, actor=Actor("tester", "apply"), now=now,
                default_bond_cents=150_000))
        self.attempt(f"apply of {len(rows)} via {via}", run, ok)
        if ok:
            self.people = after
            self.order_events += 1

    @precondition(lambda self: bool(self.people))
    @rule()
    def status_counts_the_model(self) -> None:
        result = self.run_cli("status", "--json")
        by_stage = {k: v for k, v in json.loads(result.stdout)["by_stage"].items() if v}
        assert by_stage == dict(Counter(p.stage for p in self.people.values()))

    # ------------------------------------------------------------ invariants

    @invariant()
    def database_agrees_with_the_model(self) -> None:
        with self.database.read() as session:
            events = dict(session.execute(
                select(Event.detainee_id, func.count()).where(Event.detainee_id.is_not(None))
                .group_by(Event.detainee_id)).all())
            bonds = dict(session.execute(
                select(Bond.detainee_id, func.count()).group_by(Bond.detainee_id)).all())
            stored = {
                d.a_number: Person(stage=d.stage, since=d.stage_since, version=d.version,
                                   events=events.get(d.id, 0), facility=code,
                                   bonds=bonds.get(d.id, 0), family=d.family_name,
                                   given=d.given_name)
                for d, code in session.execute(
                    select(Detainee, Facility.code)
                    .outerjoin(Facility, Facility.id == Detainee.facility_id))
            }
            order_events = session.scalar(select(func.count()).select_from(Event).where(
                Event.detainee_id.is_(None)))
        assert stored == self.people
        assert order_events == self.order_events
        by_stage = check_invariants(self.database, self.now)
        assert by_stage == dict(Counter(p.stage for p in self.people.values()))

    def teardown(self) -> None:
        self.database.dispose()
        clock.set_clock(self.saved_clock)
        os.environ.clear()
        os.environ.update(self.saved_env)
        if self.context["backend"] == "postgresql":
            drop_pg_database(self.context["pg"], self.env["BONDTRACK_DATABASE_URL"])


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_random_sequences_keep_every_invariant(backend: str, tmp_path: Path,
                                               request: pytest.FixtureRequest) -> None:
    context: dict[str, Any] = {"tmp": tmp_path, "backend": backend}
    if backend == "postgresql":
        context["pg"] = request.getfixturevalue("pg")
        context["pg_template"] = request.getfixturevalue("pg_template")
    else:
        context["sqlite_template"] = request.getfixturevalue("sqlite_template")
    run_state_machine_as_test(
        lambda: TrackingMachine(context),
        settings=settings(max_examples=EXAMPLES[backend], stateful_step_count=20, deadline=None,
                          derandomize=True, database=None, suppress_health_check=list(HealthCheck)))

