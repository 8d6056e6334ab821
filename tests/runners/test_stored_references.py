"""Names stored outside the code keep loading after the modules moved into wings: a job store
written when the jobs lived in ``workflow.scheduler``, and deployments whose entrypoints say
``workflow.flows.…`` (as main registered them before the move)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import create_engine, text

import workflow.runners.scheduler as scheduling


def test_a_job_stored_under_the_old_module_name_loads_as_the_job_it_was(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    # As the scheduler before the move stored it: the reference as text, module:function.
    writer = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=url)},
                                 timezone=UTC)
    writer.add_job("workflow.scheduler:run_sweep", "interval", minutes=30, id="sweep:1",
                   args=["1:18-cv-03757"], next_run_time=datetime(2025, 11, 20, tzinfo=UTC))
    writer.start(paused=True)
    writer.shutdown(wait=False)
    engine = create_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(text("select count(*) from apscheduler_jobs")).scalar_one()
    engine.dispose()
    assert stored == 1

    [job] = SQLAlchemyJobStore(url=url).get_all_jobs()
    assert job.func is scheduling.run_sweep
    assert job.args == ("1:18-cv-03757",)


def test_a_deployment_entrypoint_of_the_old_module_loads_the_flow(tmp_path: Path) -> None:
    """Prefect loads a module-path entrypoint by importing its module: the old name answers
    with the flow at its new place (run in a child, as a worker would)."""
    script = ("from prefect.flows import load_flow_from_entrypoint\n"
              "import workflow.runners.flows as flows\n"
              "for name in ('sweep', 'notices', 'reconcile'):\n"
              "    old = load_flow_from_entrypoint(f'workflow.flows.{name}')\n"
              "    assert old is getattr(flows, name), name\n"
              "print('loaded', old.name)\n")
    env = {**os.environ, "BONDTRACK_HOME": str(tmp_path / "home"), "PREFECT_API_URL": ""}
    env.pop("PREFECT_API_URL")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "loaded reconcile"
