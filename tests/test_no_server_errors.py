"""No server errors, no silent damage: a closed pipe, garbage in every form, empty files,
letters that cannot be made, final moves that ask first, and a demo that keeps to its folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BONDTRACK = Path(sys.executable).parent / "bondtrack"


@pytest.mark.parametrize("args", [("list", "--json"), ("list", "--csv"), ("list",),
                                  ("order", "list", "--json"), ("status",)])
def test_a_closed_pipe_ends_any_command_quietly(court_order, args) -> None:  # type: ignore[no-untyped-def]
    reader, writer = os.pipe()
    os.close(reader)  # `| head` that has already gone away
    try:
        done = subprocess.run([str(BONDTRACK), *args], stdout=writer, stderr=subprocess.PIPE,
                              text=True, timeout=120)
    finally:
        os.close(writer)
    assert done.stderr == "", done.stderr
    assert done.returncode in (0, 1)
