"""One Prefect server for the whole run, shared by every xdist worker (a start costs about
fifteen seconds of CPU), and helpers to read back what Prefect recorded about a run.

The server is bondtrack's own local one (``workflow.runners.prefect_server``), started for a
home in the run's shared temporary folder: the first process that needs it starts it, the
others wait on a lock and use it, and the run's controller stops it at the end. Each worker
is a client of its own (its own PREFECT_HOME), so no test ever writes to ~/.prefect.

Prefect reads its settings when it is first imported, so nothing here imports it at module
level: the harness sets the client's settings first.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from tests.support import locked, shared_root


def _server_settings(root: Path) -> Any:
    from workflow.core import config

    return config.load({"BONDTRACK_HOME": str(root / "prefect-server")})


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The API URL of the run's one Prefect server (started here if no process has yet)."""
    from workflow.runners import prefect_server

    root = shared_root(tmp_path_factory)
    settings = _server_settings(root)
    with locked(root / "prefect-server.lock"):
        server = prefect_server.running(settings)
        if server is None:
            with (root / "prefect-server-starts").open("a") as starts:
                starts.write(f"{os.getpid()}\n")
            server = prefect_server.start(settings)
    return server.api_url


@pytest.fixture(scope="session")
def prefect_harness(prefect_api: str, tmp_path_factory: pytest.TempPathFactory
                    ) -> Iterator[None]:
    """Flows in this process report to the run's Prefect server, with a client home of its
    own and results never persisted."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PREFECT_HOME", str(tmp_path_factory.mktemp("prefect-home")))
        env.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        env.setenv("PREFECT_RESULTS_PERSIST_BY_DEFAULT", "false")
        env.delenv("PREFECT_API_URL", raising=False)  # a subprocess a test starts picks its own
        from prefect.settings import PREFECT_API_URL, temporary_settings

        # In this process only, whenever Prefect was first imported, as Prefect's own harness
        # does it.
        with temporary_settings(updates={PREFECT_API_URL: prefect_api}):
            yield


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The run's controller (or the only process) stops the server once every test is done."""
    if getattr(session.config, "workerinput", None) is not None:
        return
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None:
        return
    from workflow.runners import prefect_server

    prefect_server.stop(_server_settings(shared_root(factory)))


def flow_run_id(state: Any) -> UUID:
    return state.state_details.flow_run_id


def task_run_names(run_id: UUID, count: int) -> list[str]:
    """The names of the run's ``count`` task runs, once the server has recorded them whole.

    Prefect records a task run from the events its run sends, a moment after the flow run
    ends: the first (Pending) event carries the default name (``check-batch-a1b``), the later
    ones the name the task gives it. Under load the server may not have read them all yet, so
    wait (bounded) until every task run is there in a final state, then read the names.
    """
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + 60
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
            settled = len(runs) == count and all(run.state and run.state.is_final()
                                                  for run in runs)
            if settled or time.monotonic() > deadline:
                return sorted(run.name for run in runs)
            time.sleep(0.2)


def flow_run(run_id: UUID) -> Any:
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(run_id)


def artifacts(run_id: UUID) -> list[Any]:
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        return client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id])))


def files_under(folder: Path) -> list[Path]:
    return [Path(root) / name for root, _, names in os.walk(folder) for name in names]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Say how often the run's Prefect server started: once, if any test needed it."""
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is None or getattr(config, "workerinput", None) is not None:
        return  # an xdist worker: the controller says it for all of them
    path = shared_root(factory) / "prefect-server-starts"
    if path.exists():
        count = len(path.read_text().split())
        terminalreporter.write_line(f"the Prefect test server started {count} time(s) in this run")
