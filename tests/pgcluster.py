"""A throwaway PostgreSQL cluster on 127.0.0.1 for tests and benchmarks.

PostgreSQL refuses to run as root, so as root the cluster is created and run
by the `postgres` user in a directory it owns. Never touches a server we did
not start.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def _binary(name: str) -> str:
    installed = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    found = shutil.which(name) or next(iter(installed), None)
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (make test installs it)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Cluster:
    base: Path
    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        _run_as_postgres([_binary("pg_ctl"), "-D", str(self.base / "data"), "-m", "immediate",
                          "stop"], check=False)
        shutil.rmtree(self.base, ignore_errors=True)


def _run_as_postgres(argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--", *argv]
    return subprocess.run(argv, check=check, capture_output=True, text=True)


def start() -> Cluster:
    """initdb + pg_ctl start on a free port; the caller must call ``stop()``."""
    base = Path(tempfile.mkdtemp(prefix="bondtrack-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    data = base / "data"
    _run_as_postgres([_binary("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                      "-E", "UTF8", "--locale=C", "--no-sync"])
    port = free_port()
    options = (f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
               " -c full_page_writes=off -c synchronous_commit=off -c max_connections=200")
    result = _run_as_postgres([_binary("pg_ctl"), "-D", str(data), "-o", options,
                               "-l", str(base / "server.log"), "-w", "-t", "60", "start"],
                              check=False)
    if result.returncode != 0:
        server_log = base / "server.log"
        log = server_log.read_text(errors="replace") if server_log.exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {result.stderr}\n{log}")
    return Cluster(base=base, port=port)
