"""One Prefect test harness for the whole session (it starts a server: slow), and helpers
to read back what Prefect recorded about a run.

Prefect reads its settings when it is first imported, so nothing here imports it
at module level: the harness fixture points PREFECT_HOME at a temporary folder
first, so no test ever writes to ~/.prefect.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest


def _starts(factory: pytest.TempPathFactory) -> Path:
    """Where each harness start is counted: beside every xdist worker's temp root."""
    base = factory.getbasetemp()
    return (base.parent if base.name.startswith("popen-") else base) / "prefect-harness-starts"


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Flows in this session run against a throwaway Prefect server and database."""
    with _starts(tmp_path_factory).open("a") as starts:
        starts.write(f"{os.getpid()}\n")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PREFECT_HOME", str(tmp_path_factory.mktemp("prefect-home")))
        env.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        env.setenv("PREFECT_RESULTS_PERSIST_BY_DEFAULT", "false")
        env.delenv("PREFECT_API_URL", raising=False)
        from prefect.testing.utilities import prefect_test_harness

        with prefect_test_harness(server_startup_timeout=120):
            yield


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
    """Say how often the harness started: once per process that ran a flow test."""
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is None or getattr(config, "workerinput", None) is not None:
        return  # an xdist worker: the controller says it for all of them
    path = _starts(factory)
    if path.exists():
        count = len(path.read_text().split())
        terminalreporter.write_line(f"prefect harness started {count} time(s) in this run")

