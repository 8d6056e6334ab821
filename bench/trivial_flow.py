#!/usr/bin/env python3
"""The floor of `flow_overhead`: one trivial task in one flow, and nothing else imported but
Prefect. bench/run gives it the environment `bondtrack run sweep` gives its flow (the same
Prefect home, server and settings), and it runs and ends as `run sweep` does: no heartbeat,
and no interpreter teardown after the flow."""

import atexit
import os
import sys
import threading

from prefect import flow, task
from prefect.settings import temporary_settings


@task(name="nothing", persist_result=False)
def nothing() -> int:
    return 1


@flow(name="trivial", persist_result=False, log_prints=False)
def trivial() -> int:
    return nothing()


if __name__ == "__main__":
    if not os.environ.get("PREFECT_API_URL"):
        raise SystemExit("trivial_flow: no PREFECT_API_URL (bench/run sets it to the local server)")
    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        trivial()
    # As workflow.core.processes.exit_now ends `run sweep`: workers drain, atexit runs, no teardown.
    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
