"""The sweep flow's tasks, run as the flow runs them but without Prefect's bookkeeping.

`flows.sweep` plans once, then submits every batch (and the terms check) to
Prefect's thread-pool task runner, which runs them all at once. ``run`` calls
the same task functions (``.fn``, what Prefect itself calls) the same way, so
a crash trial can kill the sweep's database work many times in the time one
real flow run takes to start; tests/record/test_crashes.py kills the real flow too.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor


def run(argv: list[str]) -> None:
    """``argv``: the case number and ``now`` in Unix seconds, as the flow takes them."""
    from workflow.core import config
    from workflow.people import sweep as sweeping
    from workflow.runners import flows

    case, now = argv[0], int(argv[1])
    plan = flows.plan_sweep.fn(case, now)
    count = len(sweeping.batches(plan.detainee_ids, sweeping.batch_size(config.load())))
    with ThreadPoolExecutor(max_workers=count + 1) as pool:  # Prefect's runner: no limit
        futures = [pool.submit(flows.check_batch.fn, plan, n, now) for n in range(count)]
        futures.append(pool.submit(flows.check_terms.fn, plan, now))
    for future in futures:
        future.result()
