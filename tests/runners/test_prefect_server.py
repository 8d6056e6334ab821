"""The local Prefect server, as a user runs it: start, status, reuse by `run sweep`, stop, and
the fallback to a temporary server with its hint. Real processes, a real server, its API read
back to prove the runs were recorded.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures_hardening import fresh_home
from tests.fixtures_notices import Mailbox, SmtpServer, free_port
from workflow.runners import prefect_server

BONDTRACK = Path(sys.executable).parent / "bondtrack"  # this checkout's, whichever it is
PEOPLE = 5
# Prefect is the cost (each start is seconds of CPU), not the database.
pytestmark = [pytest.mark.parametrize("backend", ["sqlite"], indirect=True), pytest.mark.slow]


def bondtrack(env: dict[str, str], *args: str, ok: bool = True,
              timeout: float = 300) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(BONDTRACK), *args], env=env, capture_output=True, text=True,
                          timeout=timeout)
    if ok:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture
def env(backend: str, tmp_path: Path, sqlite_template: Path) -> Iterator[dict[str, str]]:
    """A home with an order of PEOPLE people; any server left running is stopped after."""
    env = fresh_home(tmp_path, backend, sqlite_template)
    bondtrack(env, "order", "add", "--case", "C-1", "--court", "N.D. Ill.", "--judge", "J",
              "--deadline", "2025-11-21 12:00")
    roster = tmp_path / "class-list.csv"
    roster.write_text("a_number,family_name,given_name,language\n" + "".join(
        f"{100_000_000 + i},Zyx{i},Ann,es\n" for i in range(PEOPLE)), encoding="utf-8")
    bondtrack(env, "import", str(roster))
    yield env
    subprocess.run([str(BONDTRACK), "prefect", "stop"], env=env, capture_output=True,
                   timeout=60)


def api(url: str, path: str) -> list[dict]:  # type: ignore[type-arg]
    request = urllib.request.Request(f"{url}/api/{path}", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def settled_task_states(url: str) -> set[str]:
    """The task runs' state types once the server has recorded them: Prefect writes a task
    run's states from the events its run sends, a moment after the flow run ends (bounded)."""
    deadline = time.monotonic() + 60
    while True:
        states = {t["state_type"] for t in api(url, "task_runs/filter")}
        if states == {"COMPLETED"} or time.monotonic() > deadline:
            return states
        time.sleep(0.5)


def test_a_local_server_starts_is_reused_by_run_sweep_and_stops(env: dict[str, str]) -> None:
    home = Path(env["BONDTRACK_HOME"])
    down = bondtrack(env, "prefect", "status", ok=False)
    assert down.returncode == 1 and "no local Prefect server is running" in down.stdout

    started = bondtrack(env, "prefect", "start").stdout
    found = re.search(r"started at (http://127\.0\.0\.1:(\d+)) \(pid (\d+)\)", started)
    assert found, started
    url, port, pid = found.group(1), int(found.group(2)), int(found.group(3))
    assert (home / "prefect" / "server.pid").read_text() == f"{pid} {port}\n"
    assert (home / "prefect").stat().st_mode & 0o777 == 0o700
    assert (home / "prefect" / "server.pid").stat().st_mode & 0o777 == 0o600
    server_env = environ_of(pid)
    assert server_env["PREFECT_HOME"] == str(home / "prefect")
    assert server_env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert server_env["PREFECT_SERVER_UI_ENABLED"] == "false"
    assert json.loads(bondtrack(env, "prefect", "status", "--json").stdout) == {
        "running": True, "healthy": True, "pid": pid, "api_url": f"{url}/api"}
    again = bondtrack(env, "prefect", "start").stdout
    assert f"already running at {url} (pid {pid})" in again

    swept = bondtrack(env, "run", "sweep", "--json")
    assert json.loads(swept.stdout)["checked"] == PEOPLE
    assert prefect_server.HINT not in swept.stderr
    assert f"View at {url}/runs/flow-run/" in swept.stderr
    runs = api(url, "flow_runs/filter")
    assert [(r["name"] != "", r["state_type"]) for r in runs] == [(True, "COMPLETED")]
    tasks = sorted(re.sub(r"-[0-9a-f]{3}$", "", t["name"]) for t in api(url, "task_runs/filter"))
    assert tasks == ["check-batch-0", "check-terms", "plan-sweep"]
    assert settled_task_states(url) == {"COMPLETED"}
    assert list((home / "prefect").glob("prefect.db"))  # its database is in the home
    served_on_it(env, url)

    stopped = bondtrack(env, "prefect", "stop").stdout
    assert f"stopped the local Prefect server (pid {pid})" in stopped
    assert not Path(f"/proc/{pid}").exists() or b"prefect" not in Path(
        f"/proc/{pid}/cmdline").read_bytes()
    assert not (home / "prefect" / "server.pid").exists()
    assert not prefect_server.healthy(url)
    assert bondtrack(env, "prefect", "status", ok=False).returncode == 1
    assert "no local Prefect server is running" in bondtrack(env, "prefect", "stop").stdout

    fallback = bondtrack(env, "run", "sweep", "--json")
    assert json.loads(fallback.stdout)["checked"] == PEOPLE
    assert fallback.stderr.count(prefect_server.HINT) == 1


def served_on_it(env: dict[str, str], url: str) -> None:
    """`bondtrack serve` needs a Prefect server: with no PREFECT_API_URL, the local one."""
    serving = subprocess.Popen([str(BONDTRACK), "serve"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/deployments/name/sweep/c-1",
                                            timeout=10) as answer:
                    assert json.loads(answer.read())["name"] == "c-1"
                    break
            except urllib.error.HTTPError:
                assert serving.poll() is None, "bondtrack serve exited"
                assert time.monotonic() < deadline, "no deployment on the local server"
                time.sleep(0.5)
    finally:
        serving.terminate()
        serving.wait(timeout=60)


def test_a_dead_servers_pid_file_is_not_reused(env: dict[str, str]) -> None:
    """A pid file left by a server that died (or a pid now used by another process)."""
    folder = Path(env["BONDTRACK_HOME"]) / "prefect"
    folder.mkdir(mode=0o700, exist_ok=True)
    (folder / "server.pid").write_text(f"{os.getpid()} {free_port()}\n")  # pytest, not Prefect
    down = bondtrack(env, "prefect", "status", ok=False)
    assert down.returncode == 1 and "no local Prefect server is running" in down.stdout
    assert not (folder / "server.pid").exists()
    assert "no local Prefect server is running" in bondtrack(env, "prefect", "stop").stdout


def test_a_server_that_cannot_start_is_tried_on_new_ports_then_refused_in_one_line(
    env: dict[str, str],
) -> None:
    """A server that exits while starting (here: a setting it refuses) is spawned again, on a
    new port each time (another process may take the port it was given), then given up."""
    failing = {**env, "PREFECT_LOGGING_LEVEL": "NOT-A-LEVEL"}
    done = bondtrack(failing, "prefect", "start", ok=False)
    folder = Path(env["BONDTRACK_HOME"]) / "prefect"
    assert done.returncode == 1
    assert done.stderr == (f"Error: the local Prefect server exited while starting: see"
                           f" {folder / 'server.log'}\n")
    assert not (folder / "server.pid").exists()
    ports = re.findall(r"bondtrack: starting the Prefect server on port (\d+)",
                       (folder / "server.log").read_text())
    assert len(ports) == len(set(ports)) == prefect_server.START_ATTEMPTS


def test_the_scheduler_starts_the_local_server_and_sweeps_on_it(env: dict[str, str]) -> None:
    box = Mailbox()
    smtp = SmtpServer(box, free_port())
    smtp.start()
    try:
        done = bondtrack({**env, "BONDTRACK_NOTICES_STAFF_EMAILS": "duty@example.org",
                          "BONDTRACK_SMTP_PORT": str(smtp.port)},
                         "scheduler", "--once", "--start-prefect")
    finally:
        smtp.stop()
    found = re.search(r"local Prefect server at (http://127\.0\.0\.1:\d+)", done.stderr)
    assert found, done.stderr[-3000:]
    assert prefect_server.HINT not in done.stderr
    assert f"sweep: C-1: {PEOPLE} outstanding people checked" in done.stderr
    assert f"locate: C-1: {PEOPLE} due for a look-up" in done.stderr
    runs = api(found.group(1), "flow_runs/filter")  # the sweep and the locate run
    assert [r["state_type"] for r in runs] == ["COMPLETED", "COMPLETED"]
    assert json.loads(bondtrack(env, "prefect", "status", "--json").stdout)["healthy"] is True
