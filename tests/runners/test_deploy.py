"""The deployment for scale, end to end: docs/deploy.md's steps on throwaway servers.

A PostgreSQL cluster of its own (databases ``bondtrack`` and ``prefect``), a
real ``prefect server start`` on that PostgreSQL on 127.0.0.1, a process work
pool, ``bondtrack serve --pool`` to register the deployments, a real
``prefect worker``, and a run of the sweep deployment triggered through the
server: the run completes, its findings are in the bondtrack database, and
nothing Prefect stored names a person.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from tests import pgcluster
from tests.fixtures_flows import a_number, family_name
from workflow.core import clock
from workflow.core.identity import format_a_number
from workflow.record.models import Event

BIN = Path(sys.executable).parent
CASE = "1:25-cv-00615"
DEPLOYMENT = "sweep/1-25-cv-00615"
POOL = "bondtrack-test-pool"
PEOPLE = 40


def run(argv: list[str], env: dict[str, str], timeout: float = 180) -> str:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{argv[:3]}: {result.stdout[-800:]} {result.stderr[-800:]}"
    return result.stdout


@pytest.fixture(scope="module")
def cluster() -> Iterator[pgcluster.Cluster]:
    cluster = pgcluster.start()
    try:
        engine = create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("CREATE DATABASE bondtrack"))
            conn.execute(text("CREATE DATABASE prefect"))
        engine.dispose()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def env(cluster: pgcluster.Cluster, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """What every service of the deployment shares: the two databases and the server's URL."""
    port = pgcluster.free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "BONDTRACK_"))}
    return {
        **base,
        "PATH": f"{BIN}:{base.get('PATH', '')}",
        "BONDTRACK_HOME": str(tmp_path_factory.mktemp("home")),
        "BONDTRACK_DATABASE_URL": cluster.url("bondtrack"),
        "PREFECT_HOME": str(tmp_path_factory.mktemp("prefect-home")),
        "PREFECT_API_DATABASE_CONNECTION_URL":
            f"postgresql+asyncpg://postgres@127.0.0.1:{cluster.port}/prefect",
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
    }


@pytest.fixture(scope="module")
def server(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    log = (tmp_path_factory.mktemp("logs") / "server.log").open("w")
    process = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
         "--port", env["PREFECT_SERVER_API_PORT"], "--no-ui"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_healthy(env["PREFECT_API_URL"], process)
        yield
    finally:
        stop(process)
        log.close()


def wait_until_healthy(api: str, process: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "prefect server exited"
        try:
            with urllib.request.urlopen(f"{api}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError("prefect server did not become healthy")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def class_list(path: Path) -> Path:
    rows = ["a_number,family_name,given_name,language"]
    rows += [f"{a_number(i)},{family_name(i)},Testgiven,es" for i in range(PEOPLE)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_a_sweep_deployment_runs_on_a_worker_against_postgresql(
        env: dict[str, str], server: None, cluster: pgcluster.Cluster, tmp_path: Path) -> None:
    bondtrack = str(BIN / "bondtrack")
    # Three days left and nobody released yet: at this pace every person is at risk.
    deadline = clock.local(clock.now() + timedelta(days=3), "America/Chicago")
    run([bondtrack, "init"], env)
    run([bondtrack, "order", "add", "--case", CASE, "--court", "N.D. Ill.", "--judge", "J",
         "--deadline", f"{deadline:%Y-%m-%d %H:%M}"], env)
    run([bondtrack, "import", str(class_list(tmp_path / "class-list.csv"))], env)

    run([str(BIN / "prefect"), "work-pool", "create", POOL, "--type", "process"], env)
    assert f"work pool {POOL}" in run([bondtrack, "serve", "--pool", POOL], env)
    listed = run([str(BIN / "prefect"), "deployment", "ls"], env)
    for flow in ("sweep", "notices", "reconcile"):
        assert f"{flow}/1-25-cv-00615" in listed, flow
    worker = subprocess.Popen([str(BIN / "prefect"), "worker", "start", "--pool", POOL],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        outcome = run([sys.executable, "-c", TRIGGER, DEPLOYMENT], env, timeout=300).split()
    finally:
        stop(worker)
    state, parameters = outcome[0], outcome[1:]
    assert state == "COMPLETED"
    assert parameters == [f"case={CASE}"]  # the case number and nothing about a person

    engine = create_engine(env["BONDTRACK_DATABASE_URL"])
    with engine.connect() as conn:
        at_risk = conn.scalar(select(func.count()).select_from(Event).where(
            Event.kind == "finding", Event.payload["check"].as_string() == "at-risk"))
        actors = set(conn.scalars(select(Event.source).where(Event.kind == "finding")))
    engine.dispose()
    assert at_risk == PEOPLE and actors == {"flow"}

    dump = subprocess.run(["pg_dump", "--data-only", "-h", "127.0.0.1", "-p", str(cluster.port),
                           "-U", "postgres", "prefect"], capture_output=True, text=True,
                          check=True, timeout=120).stdout
    assert "check-batch-0" in dump, "the dump holds the run"
    for i in range(PEOPLE):
        assert a_number(i) not in dump and family_name(i) not in dump
        assert format_a_number(a_number(i)) not in dump


# Runs in its own process: Prefect reads PREFECT_API_URL when it is imported.
TRIGGER = """
import sys
from prefect.deployments import run_deployment
run = run_deployment(sys.argv[1], timeout=240)
print(run.state.type.value, *(f"{k}={v}" for k, v in sorted(run.parameters.items())))
"""
