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
    password: str | None = None  # the superuser's, when TCP connections need one

    def url(self, database: str = "postgres") -> str:
        login = f"postgres:{self.password}" if self.password else "postgres"
        return f"postgresql+psycopg://{login}@127.0.0.1:{self.port}/{database}"

    def halt(self) -> None:
        """Stop the server as an outage would, keeping its data for ``resume``."""
        _run_as_postgres([_binary("pg_ctl"), "-D", str(self.base / "data"), "-m", "fast", "-w",
                          "stop"])

    def resume(self) -> None:
        """Start the server again after ``halt``, on the same port with the same data."""
        _pg_ctl_start(self.base, self.port)

    def stop(self) -> None:
        _run_as_postgres([_binary("pg_ctl"), "-D", str(self.base / "data"), "-m", "immediate",
                          "stop"], check=False)
        shutil.rmtree(self.base, ignore_errors=True)


def _run_as_postgres(argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--", *argv]
    return subprocess.run(argv, check=check, capture_output=True, text=True)


def _memory_folder() -> str | None:
    """/dev/shm when the machine has one (a tmpfs), else the usual temporary folder.

    The tests create a database per test (a copy of a template, about 13 MB): on a disk
    that is a write of every copy, and removing a cluster that held hundreds of them
    took minutes at the end of a run. In memory both are instant; the conftest drops
    each test's database after it, so a cluster stays small.
    """
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) else None


def start(password: str | None = None) -> Cluster:
    """initdb + pg_ctl start on a free port; the caller must call ``stop()``.

    With ``password``, connections over TCP need one (scram-sha-256, as Debian's packaged
    PostgreSQL asks), the superuser's being ``password``; the socket in the cluster's folder
    stays trusted, as the local ``postgres`` account's peer login is on a server.
    """
    base = Path(tempfile.mkdtemp(prefix="bondtrack-pg-", dir=_memory_folder()))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    data = base / "data"
    auth = ["-A", "trust"]
    if password:
        secret = base / "superuser-password"
        secret.write_text(password + "\n")
        if os.geteuid() == 0:
            shutil.chown(secret, "postgres", "postgres")
        auth = ["--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={secret}"]
    _run_as_postgres([_binary("initdb"), "-D", str(data), *auth, "-U", "postgres",
                      "-E", "UTF8", "--locale=C", "--no-sync"])
    port = free_port()
    _pg_ctl_start(base, port)
    return Cluster(base=base, port=port, password=password)


def _pg_ctl_start(base: Path, port: int) -> None:
    options = (f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
               " -c full_page_writes=off -c synchronous_commit=off -c max_connections=200")
    result = _run_as_postgres([_binary("pg_ctl"), "-D", str(base / "data"), "-o", options,
                               "-l", str(base / "server.log"), "-w", "-t", "60", "start"],
                              check=False)
    if result.returncode != 0:
        server_log = base / "server.log"
        log = server_log.read_text(errors="replace") if server_log.exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {result.stderr}\n{log}")
