"""Processes: whether one is still there (the one test backups and the scheduler's lock
share), and the quick end of this one after a flow."""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn


def alive(pid: int) -> bool:
    """True while process ``pid`` exists on this machine, whoever owns it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's, but there
        return True
    return True


def exit_now(code: Any) -> NoReturn:
    """End the process as ``sys.exit(code)`` would, without the interpreter's teardown.

    After a flow, tearing down the thousands of Prefect and pydantic objects takes a second
    or more while the user waits for the prompt. Everything that must happen at exit
    happens first, in the interpreter's order: Prefect's log and event workers drain
    (threading's exit hooks), then the atexit hooks; only the teardown is skipped.
    """
    import atexit
    import threading

    threading._shutdown()  # type: ignore[attr-defined]  # as the interpreter does first
    atexit._run_exitfuncs()
    if isinstance(code, str):
        print(code, file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            pass
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)
