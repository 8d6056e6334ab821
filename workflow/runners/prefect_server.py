"""A local Prefect server for this BONDTRACK_HOME, started once and reused by every run.

Prefect's temporary server costs each `bondtrack run` about ten seconds of
start-up (mostly importing the server, in two processes); a long-lived
``prefect server start`` costs that once. bondtrack runs it:

- on 127.0.0.1 and a free port, with analytics off and the UI off unless asked;
- with ``PREFECT_HOME`` (and so its SQLite database) in ``$BONDTRACK_HOME/prefect``
  (0700), the same home the temporary server uses, so every recorded run is in
  one place;
- with its services on: they record task runs and events (the UI shows them);
- detached, its pid and port in ``server.pid`` there, and its output in
  ``server.log`` (request lines and counts: flows carry no personal data).

Healthy means the pid in the file is alive and ``/api/health`` answers ``true``.
This module never imports Prefect: `bondtrack prefect status` is instant.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from workflow.core.config import Settings
from workflow.core.errors import BondtrackError
from workflow.core.files import ensure_private_dir, private_file

HINT = "start a local Prefect server with `bondtrack prefect start` to make this faster"
PID_FILE = "server.pid"
LOG_FILE = "server.log"
START_TIMEOUT = 180.0  # a first start on a busy laptop migrates a new database
START_ATTEMPTS = 3


@dataclass(frozen=True)
class Server:
    """A local server as its pid file describes it, and whether it answers now."""

    pid: int
    port: int
    healthy: bool

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"


def home(settings: Settings) -> Path:
    """Prefect's home for this BONDTRACK_HOME (0700)."""
    return ensure_private_dir(settings.home / "prefect")


def status(settings: Settings) -> Server | None:
    """The server the pid file names, if its process is alive (healthy or still starting)."""
    path = settings.home / "prefect" / PID_FILE
    try:
        pid_text, port_text = path.read_text().split()
        pid, port = int(pid_text), int(port_text)
    except (OSError, ValueError):
        return None
    if not _alive(pid, port):
        path.unlink(missing_ok=True)  # it died without stopping: nothing to reuse
        return None
    return Server(pid, port, healthy(f"http://127.0.0.1:{port}"))


def running(settings: Settings) -> Server | None:
    """The local server if it is healthy now, else None (then runs use a temporary one)."""
    server = status(settings)
    return server if server is not None and server.healthy else None


def healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/health", timeout=timeout) as answer:
            return answer.status == 200 and answer.read().strip() == b"true"
    except (OSError, urllib.error.URLError, ValueError):
        return False


def start(settings: Settings, *, ui: bool = False, timeout: float = START_TIMEOUT) -> Server:
    """Start the local server (or return the one already running) and wait until healthy."""
    server = status(settings)
    if server is None:
        server = _spawn(settings, ui)
    deadline = time.monotonic() + timeout
    attempts = 1
    while not server.healthy:
        if not _alive(server.pid, server.port):
            (settings.home / "prefect" / PID_FILE).unlink(missing_ok=True)
            if attempts == START_ATTEMPTS:
                raise BondtrackError("the local Prefect server exited while starting: see"
                                     f" {settings.home / 'prefect' / LOG_FILE}")
            # The free port it was given can be taken before it binds: a new port, once more.
            attempts += 1
            server = _spawn(settings, ui)
        if time.monotonic() > deadline:
            stop(settings)
            raise BondtrackError(f"the local Prefect server did not answer within {timeout:.0f} s:"
                                 f" see {settings.home / 'prefect' / LOG_FILE}")
        time.sleep(0.25)
        server = Server(server.pid, server.port, healthy(server.url))
    return server


def _spawn(settings: Settings, ui: bool) -> Server:
    folder = home(settings)
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(folder), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "DO_NOT_TRACK": "1",
           "PREFECT_SERVER_UI_ENABLED": "true" if ui else "false"}
    # This server is the home's own: its database is in the home, whatever the caller's is.
    for inherited in ("PREFECT_API_URL", "PREFECT_PROFILE",
                      "PREFECT_SERVER_DATABASE_CONNECTION_URL"):
        env.pop(inherited, None)
    log = private_file(folder / LOG_FILE)
    prefect = Path(sys.executable).parent / "prefect"
    previous = os.umask(0o077)  # its database and files are for this user only
    try:
        with log.open("ab") as out:
            out.write(f"bondtrack: starting the Prefect server on port {port}\n".encode())
            out.flush()
            process = subprocess.Popen(
                [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port),
                 "--analytics-off", "--ui" if ui else "--no-ui"],
                env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives this command; Ctrl-C here does not stop it
            )
    finally:
        os.umask(previous)
    pid_file = private_file(folder / PID_FILE)
    pid_file.write_text(f"{process.pid} {port}\n")
    return Server(process.pid, port, False)


def stop(settings: Settings, timeout: float = 30.0) -> Server | None:
    """Stop the local server (SIGTERM, then SIGKILL); the one stopped, or None if none ran."""
    server = status(settings)
    if server is None:
        return None
    _signal(server.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(server.pid, server.port) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(server.pid, server.port):
        _signal(server.pid, signal.SIGKILL)
    (settings.home / "prefect" / PID_FILE).unlink(missing_ok=True)
    return server


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _alive(pid: int, port: int) -> bool:
    """The process exists, is not a zombie (ours, exited, not yet reaped) and, when its
    command line can be read, is the Prefect server on ``port`` (pids are reused)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # another user's process: not the server this user started
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                return False
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            argv = cmdline.read().split(b"\0")
    except OSError:
        return True  # no /proc (macOS): the pid is all there is to go on
    return b"server" in argv and str(port).encode() in argv


def _signal(pid: int, number: int) -> None:
    try:
        os.kill(pid, number)
    except ProcessLookupError:
        pass
