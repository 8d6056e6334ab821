"""A fork server for the crash trials: bondtrack imported once, a forked child per command.

``python -m tests.forkserver MODULE...`` imports the modules, then serves one
request at a time, a JSON line on stdin: ``{"argv", "env", "log",
"kill_after", "kill_at", "call"}``. It forks a child that runs ``bondtrack
ARGV`` (the real ``workflow.cli.main``, as the installed script does), or with
``call`` ("module:function") that function with ARGV, in that environment,
stderr to ``log``, and answers ``{"pid": N}`` at once. The child is killed
with SIGKILL the moment it announces the step ``kill_at`` names (``[STEP, N]``:
the Nth time it reaches STEP, see workflow/core/crashpoints.py), after
``kill_after`` seconds, or as soon as a line ``kill`` arrives (``term`` sends
SIGTERM, a clean stop); ``{"exit": CODE, "killed": BOOL, "at_step": BOOL}``
follows when the child is gone (CODE -9 when the kill ended it). Signals go
through a pidfd, so they can only ever reach this child.

A child announces the step by writing a byte on a pipe it inherits, then waits
there to be killed: the kill lands at that step, however busy the machine is.

Each child is a real process writing to the real database, killed as
`bondtrack` would be; what a trial no longer waits for is Python's start-up
and imports (half a second, two with Prefect), before the command touches
anything a kill could break.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- the client


class ForkServer:
    """One fork server process; one command at a time."""

    def __init__(self, modules: Iterable[str], env: Mapping[str, str]):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.forkserver", *modules], env=dict(env), cwd=ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.replies: queue.Queue[dict[str, Any]] = queue.Queue()
        self._ended: tuple[int, bool] | None = None
        self.at_step = False  # whether the last command was killed at its step
        threading.Thread(target=self._read, daemon=True).start()
        assert self._reply(120) == {"ready": True}, "the fork server did not start"

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.replies.put(json.loads(line))
        self.replies.put({"gone": self.process.wait()})

    def _reply(self, timeout: float) -> dict[str, Any]:
        reply = self.replies.get(timeout=timeout)
        assert "gone" not in reply, f"the fork server died ({reply['gone']})"
        return reply

    def _send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def start(self, argv: list[str], env: Mapping[str, str], log: Path,
              kill_after: float | None = None, call: str | None = None,
              kill_at: tuple[str, int] | None = None) -> None:
        """Start ``bondtrack argv`` (or ``call``, "module:function", with argv), to be SIGKILLed
        when it reaches step ``kill_at`` (the Nth time), or after ``kill_after`` s."""
        self._ended = None
        self.at_step = False
        self._send(json.dumps({"argv": argv, "env": dict(env), "log": str(log),
                               "kill_after": kill_after, "kill_at": kill_at, "call": call}))
        self._reply(60)  # its pid: never used here, so nothing else can ever be signalled

    def poll(self) -> tuple[int, bool] | None:
        """(exit code, whether the kill ended it) once the command is over, else None."""
        if self._ended is None:
            try:
                reply = self._reply(0)
            except queue.Empty:
                return None
            self._ended = reply["exit"], reply["killed"]
            self.at_step = reply["at_step"]
        return self._ended

    def end(self, after: float | None = None) -> tuple[int, bool]:
        """Wait for the command; SIGKILL it if still running ``after`` s from now."""
        if self._ended is None:
            try:
                self._reply_ended(600 if after is None else after)
            except queue.Empty:
                self._send("kill")
                self._reply_ended(60)
        assert self._ended is not None
        return self._ended

    def stop(self) -> int:
        """SIGTERM (a clean stop); the exit code."""
        if self._ended is None:
            self._send("term")
        return self.end()[0]

    def _reply_ended(self, timeout: float) -> None:
        reply = self._reply(timeout)
        self._ended = reply["exit"], reply["killed"]
        self.at_step = reply["at_step"]

    def run(self, argv: list[str], env: Mapping[str, str], log: Path,
            kill_after: float | None = None, call: str | None = None,
            kill_at: tuple[str, int] | None = None) -> bool:
        """Run ``bondtrack argv`` (or ``call``), killed at step ``kill_at`` or after
        ``kill_after`` s; True if it was killed. A command that ends by itself must succeed,
        and one told to die at a step must have reached it.
        """
        self.start(argv, env, log, kill_after, call, kill_at)
        code, killed = self.end()
        failure = f"{call or 'bondtrack'} {argv} failed ({code}):\n" + \
            log.read_text(errors="replace")[-2000:]
        assert killed or code == 0, failure
        assert kill_at is None or self.at_step, f"it never reached {kill_at}: " + failure
        return killed

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


# ---------------------------------------------------------------- the server


def _lines(fd: int) -> Iterator[str]:
    """Lines read straight from ``fd`` (no buffer that select could not see)."""
    pending = b""
    while True:
        while b"\n" not in pending:
            chunk = os.read(fd, 65536)
            if not chunk:
                return
            pending += chunk
        line, pending = pending.split(b"\n", 1)
        yield line.decode()


def _announce_at(step: str, nth: int, marker: int) -> None:
    """Make the child write a byte on ``marker`` the ``nth`` time it reaches ``step``, then wait
    there (in whatever thread reached it) for the kill."""
    import threading
    import time

    from workflow.core import crashpoints

    seen = 0
    lock = threading.Lock()

    def hook(reached: str) -> None:
        nonlocal seen
        if reached != step:
            return
        with lock:
            seen += 1
            if seen != nth:
                return
        os.write(marker, b"!")
        while True:
            time.sleep(60)

    crashpoints.install(hook)


def _child(request: dict[str, Any], marker: int) -> None:
    """In the forked child: become `bondtrack ARGV` in the request's environment; never returns."""
    import atexit
    import traceback

    code = 70
    try:
        if request.get("kill_at"):
            _announce_at(*request["kill_at"], marker)
        os.environ.clear()
        os.environ.update(request["env"])
        null = os.open(os.devnull, os.O_RDWR)
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.dup2(log, 2)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        if request.get("call"):  # "module:function", called with argv
            import importlib

            module, name = request["call"].split(":")
            getattr(importlib.import_module(module), name)(request["argv"])
        else:
            from workflow.cli import main

            main.main(args=request["argv"], prog_name="bondtrack")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except BaseException:  # noqa: BLE001 - reported in the log, as Python would
        traceback.print_exc()
    finally:
        try:
            atexit._run_exitfuncs()  # what Python does on exit (Prefect flushes its logs)
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _serve(requests: Iterator[str]) -> None:
    import select

    for line in requests:
        if line in ("kill", "term"):
            continue  # it came after its child had ended
        request = json.loads(line)
        marker, announce = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(marker)
            _child(request, announce)
        os.close(announce)
        pidfd = os.pidfd_open(pid)
        print(json.dumps({"pid": pid}), flush=True)
        killed = at_step = False
        watched = [pidfd, 0, marker]
        while True:
            ready, _, _ = select.select(watched, [], [], request["kill_after"])
            if marker in ready:
                if not os.read(marker, 1):  # the child is going without reaching the step
                    watched.remove(marker)
                    continue
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                killed = at_step = True
                break
            if pidfd in ready:
                break
            # The time is up, the client says kill (or term), or the client is gone.
            line = next(requests, "kill") if ready else "kill"
            if line == "term":
                signal.pidfd_send_signal(pidfd, signal.SIGTERM)
                continue
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            killed = True
            break
        _, status = os.waitpid(pid, 0)
        os.close(pidfd)
        os.close(marker)
        print(json.dumps({"exit": os.waitstatus_to_exitcode(status), "killed": killed,
                          "at_step": at_step}), flush=True)


def main(modules: list[str]) -> None:
    import importlib

    for module in modules:
        importlib.import_module(module)
    print(json.dumps({"ready": True}), flush=True)
    _serve(_lines(0))


if __name__ == "__main__":
    main(sys.argv[1:])
