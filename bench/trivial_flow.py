#!/usr/bin/env python3
"""The floor of `flow_overhead`: one trivial task in one flow, run the way `bondtrack run sweep`
runs its flow (the same Prefect configuration and server, no heartbeat), and nothing else."""

from prefect import flow, task

from workflow import flows


@task(name="nothing", persist_result=False)
def nothing() -> int:
    return 1


@flow(name="trivial", persist_result=False, log_prints=False)
def trivial() -> int:
    return nothing()


if __name__ == "__main__":
    with flows._short_run():
        trivial()
