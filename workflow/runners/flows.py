"""Prefect flows: the sweep and the custody-list reconciliation, as thin orchestration.

Flows call tasks; tasks call the plain functions in workflow/people/sweep.py and
workflow/intake/reconcile.py. What Prefect stores about a run is safe to keep in
its database: parameters are the order's case number and integers (``now``
as Unix seconds, the custody list's number in the private inbox), task run
names carry batch numbers, results are never persisted, and logs and
artifacts hold counts, never a person.

Prefect reads its settings once, when it is imported, so this module sets
them (``configure_prefect``) before it imports Prefect. With no
``PREFECT_API_URL`` the flows report to the local server bondtrack manages
(``workflow.runners.prefect_server``) when it is healthy, else to Prefect's ephemeral
one; both keep their home and database in ``$BONDTRACK_HOME/prefect`` (0700).
With one, they report to that server, and ``serve`` registers them as
deployments. Runs started here are short: they run without the flow
heartbeat, whose thread costs a second or two at the end of every run.
"""

from __future__ import annotations

import os
import re
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar, cast

from workflow.core import config
from workflow.core.errors import BondtrackError, ConflictError, debugging, public
from workflow.record import db
from workflow.runners import prefect_server

SERVER, LOCAL, TEMPORARY = "server", "local", "temporary"


def configure_prefect(settings: config.Settings) -> str | None:
    """Set Prefect's settings before Prefect is imported; where runs will be recorded.

    Results are never persisted and prints never logged; nothing phones home.
    Without PREFECT_API_URL, PREFECT_HOME is bondtrack's own (0700), so nothing
    lands in ~/.prefect and no user profile points the flows elsewhere, and the
    flows use the local server if it is healthy (``LOCAL``), else a temporary
    one (``TEMPORARY``). When Prefect is already imported (a Prefect worker, a
    test harness) its settings stand (None).
    """
    if "prefect" in sys.modules:
        return None
    os.environ["PREFECT_RESULTS_PERSIST_BY_DEFAULT"] = "false"
    os.environ["PREFECT_LOGGING_LOG_PRINTS"] = "false"
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"  # a server started from here
    os.environ["DO_NOT_TRACK"] = "1"  # Prefect's client-side usage events
    if os.environ.get("PREFECT_API_URL"):
        return SERVER
    os.environ["PREFECT_HOME"] = str(prefect_server.home(settings))
    local = prefect_server.running(settings)
    if local is not None:
        os.environ["PREFECT_API_URL"] = local.api_url
        return LOCAL
    # A laptop under load can take a while to bring the local server up the first time.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    return TEMPORARY


TARGET = configure_prefect(config.load())

from prefect import flow, get_run_logger, task  # noqa: E402  (configured just above)
from prefect.artifacts import create_markdown_artifact  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.settings import temporary_settings  # noqa: E402
from prefect.states import State  # noqa: E402
from prefect.utilities.annotations import quote  # noqa: E402

from workflow.actions import caseloads, uploads  # noqa: E402
from workflow.actions import sweep as sweeping  # noqa: E402
from workflow.actions.uploads import ReconcileReport  # noqa: E402
from workflow.core import clock  # noqa: E402
from workflow.record.audit import Actor  # noqa: E402

Result = TypeVar("Result")
Params = ParamSpec("Params")
_DATABASES: dict[str, db.Database] = {}


def _database(settings: config.Settings) -> db.Database:
    """One engine per database per process: the batches share its connection pool."""
    database = _DATABASES.get(settings.database_url)
    if database is None:
        database = _DATABASES[settings.database_url] = db.connect(settings)
    return database


def _settings() -> config.Settings:
    return config.load()


def _instant(now: int) -> datetime:
    return datetime.fromtimestamp(now, UTC)


def _stamp(now: int | None) -> int:
    """The flow's ``now`` (Unix seconds): as given, else the clock's, fixed for the whole run."""
    return int(clock.now().timestamp()) if now is None else now


def _retry_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry only what waiting can fix: another writer holding the database."""
    try:
        state.result()
    except ConflictError:
        return True
    except Exception:  # noqa: BLE001 - any other failure is final
        return False
    return False


def _ending(state: State[Any]) -> Any:
    """A failed state for a flow to return: Prefect makes it the run's final state and raises
    its error to the caller, so the flow still gives its declared type or raises."""
    return state


def _private(fn: Callable[Params, Result]) -> Callable[Params, Result]:
    """Let only BondtrackErrors (one line, no person) reach Prefect's logs and database.

    Any other exception's message or chained cause may quote a value; Prefect
    would store it. BONDTRACK_DEBUG=1 lets the original through.
    """

    @wraps(fn)
    def guarded(*args: Params.args, **kwargs: Params.kwargs) -> Result:
        try:
            return fn(*args, **kwargs)
        except BondtrackError:
            raise
        except Exception as exc:
            if debugging():
                raise
            raise public(exc, fn.__name__) from None

    return guarded


_TASK: dict[str, Any] = {
    "persist_result": False,
    "cache_policy": NO_CACHE,
    "retries": 2,
    "retry_delay_seconds": 2,
    "retry_condition_fn": _retry_transient,
}


def deployment_name(case_number: str) -> str:
    """``1:18-cv-03757`` → ``1-18-cv-03757``: lowercase letters, digits and dashes, as
    Prefect's artifact keys require; also the name of the order's deployments."""
    return re.sub(r"[^a-z0-9]+", "-", case_number.lower()).strip("-")


def artifact_key(kind: str, case_number: str) -> str:
    return f"{kind}-{deployment_name(case_number)}"


# ---------------------------------------------------------------- sweep


@task(name="plan-sweep", **_TASK)
@_private
def plan_sweep(case: str | None, now: int) -> sweeping.Plan:
    """Outstanding ids, the at-risk ids and the projection, read once for every batch."""
    settings = _settings()
    return sweeping.plan(_database(settings), settings, case, now=_instant(now))


@task(name="check-batch", task_run_name="check-batch-{batch}", **_TASK)
@_private
def check_batch(plan: sweeping.Plan, batch: int, now: int) -> sweeping.BatchResult:
    """Check one batch of people and record their new findings, in one transaction."""
    settings = _settings()
    return sweeping.check_batch(_database(settings), settings, plan, batch, now=_instant(now),
                                actor=Actor(operator=settings.operator, source="flow"))


@task(name="check-terms", **_TASK)
@_private
def check_terms(plan: sweeping.Plan, now: int) -> sweeping.BatchResult:
    """Record who is held or was released on terms the order does not allow."""
    settings = _settings()
    return sweeping.check_terms(_database(settings), settings, plan, now=_instant(now),
                                actor=Actor(operator=settings.operator, source="flow"))


@flow(name="sweep", persist_result=False, log_prints=False)
def sweep(case: str | None = None, now: int | None = None) -> sweeping.SweepSummary:
    """The heartbeat: check every outstanding person in batches, and everyone's terms;
    record what is new."""
    stamp = _stamp(now)
    planned = plan_sweep(case, stamp, return_state=True)
    if planned.is_failed():
        return _ending(planned)  # as in reconcile: the error, without Prefect's traceback
    plan = planned.result()
    count = sweeping.batch_count(plan, _settings())
    # quote: Prefect hands the plan over as it is, without walking or hashing it.
    quoted = cast(sweeping.Plan, quote(plan))
    futures = [check_batch.submit(quoted, batch=n, now=stamp) for n in range(count)]
    terms_future = check_terms.submit(quoted, now=stamp)
    for future in (*futures, terms_future):
        future.wait()
    failed = [f.state for f in (*futures, terms_future) if f.state.is_failed()]
    if failed:
        # The batches that finished are recorded; the next sweep does the rest.
        return _ending(failed[0])
    summary = sweeping.summarize(plan, [f.result() for f in futures], terms_future.result())
    create_markdown_artifact(sweeping.markdown(summary),
                             key=artifact_key("sweep", plan.case_number),
                             description="Sweep counts (no personal data)")
    get_run_logger().info(
        "checked %d people in %d batches; %d new findings; %d at risk",
        summary.checked, summary.batches, sum(summary.new.values()),
        summary.projection["at_risk"],
    )
    return summary


# ---------------------------------------------------------------- reconcile


@task(name="reconcile-list", **_TASK)
@_private
def reconcile_list(case: str | None, custody_list: int, dry_run: bool, now: int,
                   encoding: str, sheet: str | None) -> ReconcileReport:
    """Validate and apply the kept custody list, all in one transaction."""
    settings = _settings()
    return uploads.reconcile_kept(_database(settings), settings, case, custody_list,
                                  actor=Actor(operator=settings.operator, source="flow"),
                                  now=_instant(now), dry_run=dry_run, encoding=encoding,
                                  sheet=sheet)


@flow(name="reconcile", persist_result=False, log_prints=False)
def reconcile(custody_list: int, case: str | None = None, dry_run: bool = False,
              now: int | None = None, encoding: str = "auto",
              sheet: str | None = None) -> ReconcileReport:
    """Match a kept custody list (by its inbox number) against the order. ``sheet`` is a
    workbook tab's name, never a cell of it, so it may be a parameter."""
    state = reconcile_list(case, custody_list, dry_run, _stamp(now), encoding, sheet,
                           return_state=True)
    if state.is_failed():
        # The run ends with the task's error (one line, no person); raised here instead,
        # Prefect would print its traceback to the user.
        return _ending(state)
    report = state.result()
    create_markdown_artifact(uploads.reconcile_markdown(report),
                             key=artifact_key("reconcile", report.case_number),
                             description="Custody list reconciliation counts (no personal data)")
    get_run_logger().info("custody list %d: %s", custody_list, report.counts())
    return report


# ---------------------------------------------------------------- notices


@task(name="send-notices", **_TASK)
@_private
def send_pending(case: str | None, now: int) -> dict[str, int]:
    """Queue what is owed, then send every pending e-mail exactly once (counts only)."""
    from workflow.actions import letters

    settings = _settings()
    return letters.send(_database(settings), settings, case=case, kinds=(), now=_instant(now),
                        worker=f"prefect:{socket.gethostname()}:{os.getpid()}")


@flow(name="notices", persist_result=False, log_prints=False)
def notices(case: str | None = None, now: int | None = None) -> dict[str, int]:
    """The outbox on a worker: what `bondtrack notices send` does, on the sweep's interval."""
    state = send_pending(case, _stamp(now), return_state=True)
    if state.is_failed():
        return _ending(state)
    counts = state.result()
    get_run_logger().info("notices: %s", counts)
    return counts


# ---------------------------------------------------------------- locate


@task(name="find-due-look-ups", **_TASK)
@_private
def plan_locate(case: str | None, now: int) -> caseloads.LocatePlan:
    """Who is due for a look-up now (internal ids), and how many are for the field office."""
    settings = _settings()
    return caseloads.plan_locate(_database(settings), settings, case, now=_instant(now))


@task(name="look-up-automatically", persist_result=False, cache_policy=NO_CACHE)
@_private
def look_up_automatically(plan: caseloads.LocatePlan) -> dict[str, int]:
    """With ``[locator] auto`` on: the due people looked up by the locator client, politely,
    until the next run is due; counts only. Not retried: a retry would ask the site again."""
    settings = _settings()
    client = caseloads.locator_client(settings)
    if client is None:
        return {}
    window = timedelta(minutes=settings.section("locator")["interval_minutes"] * 0.9)
    with client:
        return caseloads.auto_look_ups(_database(settings), settings, plan, client=client,
                                       stop_at=clock.now() + window)


@flow(name="locate", persist_result=False, log_prints=False)
def locate(case: str | None = None, now: int | None = None) -> dict[str, int]:
    """Who is due for a look-up: the queue and the locator desk hand them to volunteers; with
    the automated locator client configured, it looks them up too. Counts only reach
    Prefect."""
    stamp = _stamp(now)
    planned = plan_locate(case, stamp, return_state=True)
    if planned.is_failed():
        return _ending(planned)
    plan = planned.result()
    counts = plan.counts()
    if plan.due_ids:
        looked = look_up_automatically(cast(caseloads.LocatePlan, quote(plan)),
                                       return_state=True)
        if looked.is_failed():
            return _ending(looked)
        counts.update(looked.result())
    create_markdown_artifact(caseloads.locate_markdown(counts),
                             key=artifact_key("locate", plan.case_number),
                             description="Look-ups due (no personal data)")
    get_run_logger().info("locate: %s", counts)
    return counts


# ---------------------------------------------------------------- run modes


@contextmanager
def _short_run() -> Iterator[None]:
    """A run that ends in seconds needs no heartbeat (crash detection for long runs), whose
    thread holds the end of the run up to a second. Only settable here: an environment
    value of none does not parse."""
    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        yield


def run_sweep(case: str | None, now: datetime | None) -> sweeping.SweepSummary:
    """Run the sweep flow here (on the local, a temporary or PREFECT_API_URL's server)."""
    with _short_run():
        return sweep(case=case, now=None if now is None else int(now.timestamp()))


def run_locate(case: str | None, now: datetime | None) -> dict[str, int]:
    """Run the locate flow here."""
    with _short_run():
        return locate(case=case, now=None if now is None else int(now.timestamp()))


def run_reconcile(settings: config.Settings, path: Path, case: str | None, *, dry_run: bool,
                  now: datetime | None, encoding: str = "auto",
                  sheet: str | None = None) -> ReconcileReport:
    """Keep the list in the private inbox, then run the reconcile flow on its number."""
    number = uploads.keep_custody_list(settings.home, path)
    try:
        with _short_run():
            report = reconcile(custody_list=number, case=case, dry_run=dry_run,
                               now=None if now is None else int(now.timestamp()),
                               encoding=encoding, sheet=sheet)
    except BaseException:
        uploads.discard_custody_list(settings.home, number)
        raise
    if dry_run:
        uploads.discard_custody_list(settings.home, number)
    return report


def scheduled_sweep(case_number: str) -> str | None:
    """The order's sweep deployment (``sweep/<case>``) when it sweeps on its own schedule, else
    None: then `bondtrack serve` is the one source of sweeps and the scheduler leaves them to it.

    A temporary server holds no deployments, so it is not started to be asked.
    """
    if TARGET == TEMPORARY:
        return None
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    name = f"sweep/{deployment_name(case_number)}"
    with get_client(sync_client=True) as client:
        try:
            deployment = client.read_deployment_by_name(name)
        except ObjectNotFound:
            return None
    scheduled = any(schedule.active for schedule in deployment.schedules)
    return name if scheduled and not deployment.paused else None


def serve(settings: config.Settings, case: str | None, pool: str | None = None) -> None:
    """The sweep and the notices (on the sweep's interval) and reconcile as deployments of
    the order's case.

    Without ``pool`` this process serves them until interrupted; with one,
    they are registered with that work pool and its workers (anywhere
    bondtrack is installed) run them. Either way a Prefect server is needed
    (PREFECT_API_URL): an ephemeral one would vanish with this process.
    """
    if not os.environ.get("PREFECT_API_URL"):
        raise BondtrackError("bondtrack serve needs a Prefect server: start a local one with"
                             " `bondtrack prefect start`, or set PREFECT_API_URL"
                             " (see the README, 'Flows (Prefect)')")
    from prefect import deploy
    from prefect import serve as serve_here
    from prefect.deployments.runner import RunnerDeployment
    from prefect.types.entrypoint import EntrypointType

    case_number = sweeping.case_number(_database(settings), case)
    name = deployment_name(case_number)
    common: dict[str, Any] = {"name": name, "parameters": {"case": case_number},
                              # Workers import the installed package, not a file in this checkout.
                              "entrypoint_type": EntrypointType.MODULE_PATH}
    interval = timedelta(minutes=settings.section("sweep")["interval_minutes"])
    # Called outside an event loop, to_deployment returns the deployment, not a coroutine.
    deployments = [cast(RunnerDeployment, made) for made in (
        sweep.to_deployment(interval=interval, **common),
        notices.to_deployment(interval=interval, **common),
        reconcile.to_deployment(**common))]
    if pool is None:
        serve_here(*deployments, pause_on_shutdown=False)
    else:
        deploy(*deployments, work_pool_name=pool, build=False, push=False, ignore_warnings=True)

