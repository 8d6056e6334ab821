#!/usr/bin/env python3
"""The floor of `flow_overhead`: one trivial task in one flow, run the way `bondtrack run sweep`
runs its flow (the same Prefect configuration and server, no heartbeat), and nothing else."""

from workflow.runners import flows

# Prefect reads its settings when imported: workflow.runners.flows must set them first, or this
# flow would run on a temporary server instead of the one `run sweep` uses.
if flows.TARGET is None:
    raise SystemExit("trivial_flow: Prefect was imported before bondtrack configured it")
from prefect import flow, task


@task(name="nothing", persist_result=False)
def nothing() -> int:
    return 1


@flow(name="trivial", persist_result=False, log_prints=False)
def trivial() -> int:
    return nothing()


if __name__ == "__main__":
    from workflow.core.processes import exit_now

    with flows._short_run():
        trivial()
    exit_now(0)  # and end as `bondtrack run sweep` does
