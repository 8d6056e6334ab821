"""The Prefect flows, run for real: in-process against the run's Prefect test server, then as a
user runs them (a subprocess on the ephemeral server), then through a real Prefect server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import func, select

from tests import pgcluster
from tests.fixtures_demo import Demo
from tests.fixtures_flows import DEADLINE, a_number, ids_by_index, seed_order, walk
from tests.fixtures_prefect import artifacts, files_under, flow_run, flow_run_id, task_run_names
from tests.support import CASE, Cli
from workflow.core import config
from workflow.core.errors import BondtrackError, ConflictError, ValidationError
from workflow.core.identity import format_a_number
from workflow.record import db
from workflow.record.models import Event

NOW = DEADLINE - timedelta(hours=24)  # where the `frozen` fixture stands
STAMP = int(NOW.timestamp())
BONDTRACK = Path(sys.executable).parent / "bondtrack"


@pytest.fixture
def flows(prefect_harness: None, database: db.Database,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """workflow.runners.flows on the run's test server, with batches of two people."""
    monkeypatch.setenv("BONDTRACK_SWEEP_BATCH_SIZE", "2")
    from workflow.runners import flows as module

    yield module
    for engine in module._DATABASES.values():
        engine.dispose()
    module._DATABASES.clear()


@pytest.fixture
def people(database: db.Database, tmp_path: Path) -> list[int]:
    """Five outstanding people (three batches of two) and one released."""
    order_id = seed_order(database, 6, tmp_path)
    ids = ids_by_index(database, order_id)
    walk(database, ids[1], [("search", 1), ("locate", 150)])
    walk(database, ids[2], [("locate", 2), ("set_bond", 3), ("post_bond", 160)])
    walk(database, ids[3], [("locate", 2), ("release", 165)])
    walk(database, ids[4], [("search", 170)])
    return ids


def findings(database: db.Database) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(Event)
                              .where(Event.kind == "finding")) or 0


def custody_list(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "custody.csv"
    path.write_text("a_number,facility_code,facility_name\n" + "\n".join(lines) + "\n",
                    encoding="utf-8")
    return path


# ---------------------------------------------------------------- in-process, on the test server


def test_sweep_runs_in_batches_named_by_number(
        flows: ModuleType, database: db.Database, people: list[int]) -> None:
    state = flows.sweep(case=CASE, now=STAMP, return_state=True)
    assert state.is_completed()
    run = flow_run_id(state)
    names = task_run_names(run, count=5)
    assert names[:3] == ["check-batch-0", "check-batch-1", "check-batch-2"]
    assert [n.split("-")[:2] for n in names[3:]] == [["check", "terms"], ["plan", "sweep"]]
    assert flow_run(run).parameters == {"case": CASE, "now": STAMP}
    assert findings(database) > 0


def test_sweep_returns_counts_and_a_second_sweep_adds_nothing(
        flows: ModuleType, database: db.Database, people: list[int]) -> None:
    summary = flows.run_sweep(CASE, NOW)
    assert (summary.checked, summary.batches) == (5, 3)
    recorded = findings(database)
    assert sum(summary.new.values()) == recorded
    again = flows.run_sweep(CASE, NOW)
    assert sum(again.new.values()) == 0 and findings(database) == recorded


def test_sweep_artifact_holds_counts_only(flows: ModuleType, people: list[int]) -> None:
    state = flows.sweep(case=None, now=STAMP, return_state=True)
    [artifact] = artifacts(flow_run_id(state))
    assert artifact.key == "sweep-1-18-cv-03757" and artifact.type == "markdown"
    assert "| stale |" in artifact.data and "outstanding people checked" in artifact.data
    assert a_number(0) not in artifact.data and "Zyxfamily" not in artifact.data


def test_reconcile_flow_applies_a_kept_list(
        flows: ModuleType, database: db.Database, people: list[int], settings: config.Settings,
        tmp_path: Path) -> None:
    path = custody_list(tmp_path, [f"{a_number(0)},KROME,", "999888777,KROME,"])
    report = flows.run_reconcile(settings, path, CASE, dry_run=False, now=NOW)
    assert report.found == [people[0]] and report.strangers == [3]
    kept = files_under(settings.home / "custody-lists")
    assert [p.name for p in kept] == ["custody.csv"]


def test_reconcile_flow_reads_the_sheet_and_encoding_it_is_given(
        flows: ModuleType, database: db.Database, people: list[int], settings: config.Settings,
        tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.title = "Cover"
    workbook.active.append(["a_number", "facility_code", "facility_name"])  # looks like a list
    workbook.active.append([a_number(1), "KROME", ""])
    sheet = workbook.create_sheet("Detained")
    sheet.append(["a_number", "facility_code", "facility_name"])
    sheet.append([a_number(0), "KROME", ""])
    path = tmp_path / "custody.xlsx"
    workbook.save(path)
    report = flows.run_reconcile(settings, path, CASE, dry_run=True, now=NOW, sheet="Detained")
    assert report.found == [people[0]]
    text = tmp_path / "excel.csv"  # Windows-1252, as Excel saves a plain "CSV"
    text.write_bytes(f"a_number,facility_code,facility_name\n{a_number(0)},KROME,Krôme\n"
                     .encode("cp1252"))
    with pytest.raises(ValidationError, match="not UTF-8 text"):
        flows.run_reconcile(settings, text, CASE, dry_run=True, now=NOW, encoding="utf-8")
    report = flows.run_reconcile(settings, text, CASE, dry_run=True, now=NOW)
    assert report.found == [people[0]]
    assert report.notes == ["excel.csv: not UTF-8; read as Windows-1252"]


def test_reconcile_flow_refuses_a_bad_list_and_keeps_nothing(
        flows: ModuleType, database: db.Database, people: list[int], settings: config.Settings,
        tmp_path: Path) -> None:
    path = custody_list(tmp_path, ["A-1,KROME,", f"{a_number(1)},NEWPLACE,"])
    before = findings(database)
    with pytest.raises(ValidationError) as caught:
        flows.run_reconcile(settings, path, CASE, dry_run=False, now=NOW)
    assert [p.split(":")[1] for p in caught.value.problems] == ["2", "3"]
    assert findings(database) == before
    assert files_under(settings.home / "custody-lists") == []


def test_reconcile_dry_run_keeps_nothing(
        flows: ModuleType, database: db.Database, people: list[int], settings: config.Settings,
        tmp_path: Path) -> None:
    path = custody_list(tmp_path, [f"{a_number(0)},KROME,"])
    report = flows.run_reconcile(settings, path, CASE, dry_run=True, now=NOW)
    assert report.dry_run and report.found == [people[0]]
    assert files_under(settings.home / "custody-lists") == []
    with pytest.raises(BondtrackError):
        flows.reconcile(custody_list=1, case=CASE, now=STAMP)  # nothing kept under 1


def test_run_sweep_command(flows: ModuleType, cli: Cli, people: list[int]) -> None:
    out = cli("run", "sweep", "--now", "2025-11-20 12:00").output
    assert f"sweep of {CASE}: 5 outstanding people checked in 3 batch(es)" in out
    assert "people with new findings" in out and "A100-000-000" in out
    assert "projection:" in out
    assert "no new findings" in cli("run", "sweep", "--now", "2025-11-20 12:00").output


def test_run_sweep_json(flows: ModuleType, cli: Cli, people: list[int]) -> None:
    data = json.loads(cli("run", "sweep", "--json").output)
    assert data["checked"] == 5 and data["new_findings"] == sum(c["new"] for c in data["checks"])
    assert {row["id"] for row in data["new"]} <= set(people)
    assert data["projection"]["outstanding"] == 5


def test_run_sweep_top(flows: ModuleType, cli: Cli, people: list[int]) -> None:
    out = cli("run", "sweep", "--top", "1").output
    assert "1 of " in out and "people with new findings" in out


def test_run_reconcile_command(
        flows: ModuleType, cli: Cli, people: list[int], tmp_path: Path) -> None:
    path = custody_list(tmp_path, [f"{a_number(0)},KROME,", f"{a_number(1)},DODGEWI,",
                                   "999888777,KROME,", "999888776,KROME,"])
    dry = cli("run", "reconcile", str(path), "--dry-run").output
    assert "would change" in dry
    refused = cli("run", "reconcile", str(path), ok=False)  # 3 of 5 missing: a list cut short?
    assert refused.exit_code == 1 and refused.output.count("\n") == 1
    assert "would flag 3 of the 5 people in custody as missing" in refused.output
    assert "run again with --yes" in refused.output
    out = cli("run", "reconcile", str(path), "--yes").output
    assert "custody list custody.csv: 4 lines; changed:" in out
    assert "2 A-number(s) not in the order, on line(s) 4, 5: not imported" in out
    assert "999888777" not in out
    assert "moved" in out and "A100-000-001" in out


def _no_person_in(out: str) -> None:
    for i in range(6):
        assert a_number(i) not in out and format_a_number(a_number(i)) not in out


def test_quiet_flow_commands_print_counts_and_never_an_a_number(
        flows: ModuleType, cli: Cli, people: list[int], tmp_path: Path) -> None:
    """What cron mails and services log: the counts of `run sweep|reconcile`, nobody named."""
    out = cli("run", "sweep", "--quiet", "--now", "2025-11-20 12:00").output
    assert f"sweep of {CASE}: 5 outstanding people checked in 3 batch(es)" in out
    assert "projection:" in out and "5 people with new findings" in out
    _no_person_in(out)
    data = json.loads(cli("run", "sweep", "-q", "--json").output)
    assert data["checked"] == 5 and data["people_with_new_findings"] == 0 and "new" not in data
    path = custody_list(tmp_path, [f"{a_number(0)},KROME,", f"{a_number(1)},DODGEWI,",
                                   "999888777,KROME,"])
    # It leaves three of five people off: a cut-short list, confirmed with --yes.
    out = cli("run", "reconcile", str(path), "--quiet", "--yes").output
    assert "custody list custody.csv: 3 lines; changed:" in out and "strangers" in out
    _no_person_in(out)
    assert "999888777" not in out and "people" not in out
    counts = json.loads(cli("run", "reconcile", str(path), "--dry-run", "-q", "--json").output)
    assert {row["outcome"] for row in counts} >= {"moved", "strangers"}
    _no_person_in(json.dumps(counts))


def test_run_reconcile_names_every_bad_line(
        flows: ModuleType, cli: Cli, database: db.Database, people: list[int],
        tmp_path: Path) -> None:
    path = custody_list(tmp_path, ["not-a-number,KROME,", f"{a_number(0)},,", "1234,KROME,"])
    before = findings(database)
    result = cli("run", "reconcile", str(path), ok=False)
    assert result.exit_code == 1
    assert "custody.csv:2: a_number:" in result.output
    assert "custody.csv:3: facility_code: is required for someone in custody" in result.output
    assert "custody.csv:4: a_number:" in result.output
    assert "3 problem(s) in custody.csv; nothing was changed" in result.output
    assert findings(database) == before


def test_serve_needs_a_prefect_server(
        flows: ModuleType, cli: Cli, people: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    result = cli("serve", ok=False)
    assert result.exit_code == 1
    assert ("bondtrack serve needs a Prefect server: start a local one with `bondtrack prefect"
            " start`, or set PREFECT_API_URL") in result.output


def test_unexpected_errors_reach_prefect_without_their_message(flows: ModuleType) -> None:
    @flows._private
    def leaky() -> None:
        raise KeyError("012345678")

    with pytest.raises(BondtrackError) as caught:
        leaky()
    assert str(caught.value) == "internal error in leaky (KeyError)"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_only_a_busy_database_is_retried(flows: ModuleType) -> None:
    from prefect.states import Completed, Failed

    assert flows._retry_transient(None, None, Failed(data=ConflictError("busy")))
    assert not flows._retry_transient(None, None, Failed(data=ValueError("bug")))
    assert not flows._retry_transient(None, None, Completed(data=1))


def test_artifact_keys_are_what_prefect_allows(flows: ModuleType) -> None:
    assert flows.artifact_key("sweep", "1:18-cv-03757") == "sweep-1-18-cv-03757"
    assert flows.deployment_name("1:25-CV-12345 (N.D. Ill.)") == "1-25-cv-12345-n-d-ill"


# ---------------------------------------------------------------- as a user runs it


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "BONDTRACK_"))}
    return {**env, "BONDTRACK_HOME": str(home), "HOME": str(home.parent / "user-home"), **extra}


@pytest.mark.slow
def test_prefect_home_is_private_and_inside_bondtracks_home(tmp_path: Path) -> None:
    code = ("import os; from workflow import flows; import prefect.settings as s;"
            "print(os.environ['PREFECT_HOME']); print(s.get_current_settings().home)")
    home = tmp_path / "home"
    out = subprocess.run([sys.executable, "-c", code], env=_env(home), capture_output=True,
                         text=True, timeout=120, check=True).stdout.split()
    assert out == [str(home / "prefect")] * 2
    assert (home / "prefect").stat().st_mode & 0o777 == 0o700
    served = _env(tmp_path / "other", PREFECT_API_URL="http://127.0.0.1:9/api")
    out = subprocess.run([sys.executable, "-c", code.replace("os.environ['PREFECT_HOME']", "1")],
                         env=served, capture_output=True, text=True, timeout=120,
                         check=True).stdout.split()
    assert out[1] == str(tmp_path / "user-home" / ".prefect")
    assert not (tmp_path / "other" / "prefect").exists()


@pytest.mark.slow
def test_no_demo_a_number_or_name_anywhere_under_prefect_home(demo_615: Demo) -> None:
    """`bondtrack demo` runs the sweep and a reconcile through Prefect, as a user would;
    then every byte Prefect wrote is searched for every demo A-number and family name."""
    from workflow.core.identity import format_a_number
    from workflow.record.models import Detainee

    home, output = demo_615.home, demo_615.output
    assert demo_615.status["total"] == 615
    assert "people with new findings" in output and "A-number(s) not in the order" in output
    database = db.connect(config.load({"BONDTRACK_HOME": str(home)}))
    with database.read() as session:
        people = session.execute(select(Detainee.a_number, Detainee.family_name)).all()
        assert session.scalar(select(func.count()).select_from(Event)
                              .where(Event.kind == "finding")) > 100
    database.dispose()
    needles = {text.encode() for a_number, family in people
               for text in (a_number, format_a_number(a_number), family)}
    assert len(people) == 615 and len(needles) > 1300
    prefect_files = files_under(home / "prefect")
    assert any(p.name == "prefect.db" for p in prefect_files)
    leaks = [(p.name, n, _around(data, n)) for p in prefect_files
             for data in [p.read_bytes()] for n in needles if n in data]
    assert leaks == []
    assert (home / "prefect").stat().st_mode & 0o777 == 0o700
    assert not (demo_615.user_home / ".prefect").exists()


def _around(data: bytes, needle: bytes) -> bytes:
    at = data.index(needle)
    return data[max(at - 30, 0): at + len(needle) + 30]


# ---------------------------------------------------------------- through a real Prefect server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Deadline:
    """Every wait in the server test shares one budget, so it cannot hang."""

    def __init__(self, seconds: float) -> None:
        self.ends = time.monotonic() + seconds
        self.seconds = seconds

    def wait_for(self, what: str, check: Callable[[], Any], every: float = 0.5) -> Any:
        while time.monotonic() < self.ends:
            value = check()
            if value:
                return value
            time.sleep(every)
        pytest.fail(f"gave up after {self.seconds:.0f} s waiting for {what}")


def _api(url: str, method: str, path: str, body: dict | None = None) -> Any:
    import httpx

    try:
        response = httpx.request(method, url + path, json=body, timeout=10)
    except httpx.HTTPError:
        return None
    return response.json() if response.status_code < 300 else None


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _wait_for_run(budget: Deadline, url: str, deployment: dict, what: str) -> str:
    created = _api(url, "POST", f"/deployments/{deployment['id']}/create_flow_run",
                   {"parameters": {"case": CASE, "now": STAMP}})
    assert created is not None, f"could not start {what}"

    def finished() -> str | None:
        run = _api(url, "GET", f"/flow_runs/{created['id']}")
        state = run["state"]["type"] if run else None
        return state if state in ("COMPLETED", "FAILED", "CRASHED") else None

    return budget.wait_for(what, finished, every=1)


@pytest.mark.slow
def test_sweep_through_a_real_prefect_server_on_postgresql(
        pg: pgcluster.Cluster, pg_template: str, tmp_path: Path) -> None:
    """The README's scale-out, for real: `prefect server start` on 127.0.0.1 with PostgreSQL,
    bondtrack on PostgreSQL too; a sweep run against it, `bondtrack serve`, then a work pool
    and a worker; everything stopped after. Each wait ends when its step is done; all of them
    share one generous budget, so a hang fails the test rather than the whole run."""
    from tests.support import new_pg_database
    from workflow.core import config

    started = time.monotonic()
    budget = Deadline(600)  # about 40 s when alone: a bound for a hang, not a speed target
    bondtrack_url = new_pg_database(pg, pg_template)
    settings = config.load({"BONDTRACK_HOME": str(tmp_path / "home"),
                            "BONDTRACK_DATABASE_URL": bondtrack_url})
    database = db.connect(settings)
    seed_order(database, 12, tmp_path)
    database.dispose()
    prefect_db = new_pg_database(pg, None).replace("+psycopg", "+asyncpg")
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    quick = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_RUNNER_POLL_FREQUENCY": "1",
             "PREFECT_WORKER_QUERY_SECONDS": "1"}
    server_env = {**_env(tmp_path / "server"), **quick, "PREFECT_HOME": str(tmp_path / "server"),
                  "PREFECT_SERVER_DATABASE_CONNECTION_URL": prefect_db,
                  "PREFECT_UI_ENABLED": "false"}
    prefect = str(Path(sys.executable).parent / "prefect")
    server = subprocess.Popen([prefect, "server", "start", "--host", "127.0.0.1", "--port",
                               str(port), "--no-services"],
                              env=server_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    background: list[subprocess.Popen] = []
    env = {**_env(tmp_path / "home", PREFECT_API_URL=url, BONDTRACK_DATABASE_URL=bondtrack_url),
           **quick}

    def bondtrack(*args: str) -> subprocess.CompletedProcess:
        left = max(budget.ends - time.monotonic(), 1)
        done = subprocess.run([str(BONDTRACK), *args], env=env, capture_output=True, text=True,
                              timeout=left)
        assert done.returncode == 0, done.stderr
        return done

    try:
        budget.wait_for("the Prefect server to answer", lambda: _api(url, "GET", "/health"))
        # Independent start-ups overlap: each process spends seconds importing Prefect.
        background.append(subprocess.Popen([str(BONDTRACK), "serve"], env=env,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        pool = subprocess.Popen([prefect, "work-pool", "create", "bondtrack", "--type", "process"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        bondtrack("run", "sweep", "--now", "2025-11-20 12:00")
        runs = _api(url, "POST", "/flow_runs/filter", {"flows": {"name": {"any_": ["sweep"]}}})
        assert [(r["state"]["type"], r["parameters"]["case"]) for r in runs] == [
            ("COMPLETED", CASE)]

        served = budget.wait_for("bondtrack serve to register its deployments", lambda: _api(
            url, "GET", "/deployments/name/sweep/1-18-cv-03757"))
        assert served["schedules"][0]["schedule"]["interval"] == 30 * 60
        assert served["entrypoint"] == "workflow.runners.flows.sweep"
        budget.wait_for("the reconcile deployment", lambda: _api(
            url, "GET", "/deployments/name/reconcile/1-18-cv-03757"))
        assert _wait_for_run(budget, url, served, "the served sweep") == "COMPLETED"
        _stop(background.pop())

        assert pool.wait(timeout=max(budget.ends - time.monotonic(), 1)) == 0
        background.append(subprocess.Popen([prefect, "worker", "start", "--pool", "bondtrack"],
                                           env=env, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL))
        registered = bondtrack("serve", "--pool", "bondtrack").stdout
        assert "registered with work pool bondtrack" in registered
        pooled = _api(url, "GET", "/deployments/name/sweep/1-18-cv-03757")
        assert pooled["work_pool_name"] == "bondtrack"
        assert _wait_for_run(budget, url, pooled, "the worker's sweep") == "COMPLETED"
    finally:
        for process in background:
            _stop(process)
        _stop(server)
    print(f"\nPrefect server integration test: {time.monotonic() - started:.1f} s")
