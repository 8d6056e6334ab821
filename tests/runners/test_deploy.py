"""docs/deploy.md as written, end to end, on throwaway servers.

Every shell block of the page is a step, named by the ``<!-- deploy-test: NAME -->`` comment
above it; this test runs them in the page's order, each in a new ``bash -eu`` (or as cron
runs its line), with the page's example passwords and only host names, ports and paths
replaced by its own, and fails when a step fails. Around them it stands in for what a site
has already: a PostgreSQL 15 cluster that asks for passwords over TCP (scram-sha-256), a mail
relay, an order with people. Then it checks what the steps must have done: files at 0600, a
sweep deployment run completed on the worker with its findings in the bondtrack database and
nothing about a person in Prefect's, the scheduler leaving that order's sweeps to the
deployment, two web processes answering, no telemetry tried, and the worker stopping within
the unit's stop timeout on the unit's stop signal.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, func, select

from tests import pgcluster
from tests.fixtures_flows import a_number, family_name
from tests.fixtures_notices import Mailbox, SmtpServer
from tests.support import ROOT
from workflow.core import clock
from workflow.core.identity import format_a_number
from workflow.record.models import Event

DOC = ROOT / "docs" / "deploy.md"
UNITS = ROOT / "deploy" / "systemd"
BIN = Path(sys.executable).parent
CASE = "1:18-cv-03757"
PEOPLE = 40
# The page's example passwords: the roles get them as typed, the URLs carry them encoded.
PASSWORDS = {"bondtrack": "pa:ss/w@rd#1", "prefect": "another one!"}
ACCOUNT_PASSWORD = "correct horse battery staple on the bench"
WAIT = 180.0  # a bound for a hang, not a speed target
STEP = re.compile(r"<!-- deploy-test: (\S+)(.*?) -->\n```(\w*)\n(.*?)```", re.S)
ORDER = ["roles", "env-files", "encode", "file /etc/bondtrack/env", "init",
         "file /etc/prefect/env", "prefect-server", "deployments", "worker", "try", "scheduler",
         "cron", "web", "account"]


@dataclass(frozen=True)
class Step:
    name: str
    note: str
    text: str


def page_steps() -> dict[str, Step]:
    """The page's steps by name (a file step's name carries its path), in the page's order."""
    found: dict[str, Step] = {}
    for name, note, _, body in STEP.findall(DOC.read_text()):
        if name == "file":
            name, note = f"file {note.split()[0]}", ""
        assert name not in found, f"two steps named {name}"
        found[name] = Step(name, note.strip(), body)
    return found


def test_every_shell_block_of_the_page_is_a_step_in_order() -> None:
    text = DOC.read_text()
    assert text.count("```sh\n") == len(page_steps()) - 1  # the cron line is a plain block
    assert list(page_steps()) == ORDER


@pytest.fixture(scope="module")
def cluster() -> Iterator[pgcluster.Cluster]:
    cluster = pgcluster.start(password="the superuser's own")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(Mailbox(), pgcluster.free_port())
    server.start()
    yield server
    server.stop()


class Site:
    """The page's steps run on this machine, in a folder standing in for /etc and /var/lib."""

    def __init__(self, root: Path, cluster: pgcluster.Cluster, smtp_port: int):
        self.root, self.cluster = root, cluster
        self.prefect_port = pgcluster.free_port()
        self.web_ports = (pgcluster.free_port(), pgcluster.free_port())
        self.replace = {
            "db.internal:5432": f"127.0.0.1:{cluster.port}",
            "/etc/bondtrack": f"{root}/etc/bondtrack", "/etc/prefect": f"{root}/etc/prefect",
            "/var/lib/bondtrack": f"{root}/var/lib/bondtrack",
            "/var/lib/prefect": f"{root}/var/lib/prefect",
            "/opt/bondtrack/.venv/bin": str(BIN),
            # Nobody here is root with a bondtrack and a prefect user: the files stay ours.
            " -o bondtrack -g bondtrack": "", " -o prefect -g prefect": "",
            "4200": str(self.prefect_port),
            "8001": str(self.web_ports[0]), "8002": str(self.web_ports[1]),
            "BONDTRACK_SMTP_PORT=25": f"BONDTRACK_SMTP_PORT={smtp_port}",
        }
        page = DOC.read_text()
        for original in self.replace:
            assert original in page, f"the page no longer says {original!r}: update this test"
        self.steps = page_steps()
        self.running: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
        base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "BONDTRACK_"))}
        self.base = {**base, "PATH": f"{BIN}:{base.get('PATH', '')}", "HOME": str(root)}
        for state in ("var/lib/bondtrack", "var/lib/prefect"):  # what adduser --home makes
            (root / state).mkdir(mode=0o700, parents=True)

    def text(self, name: str) -> str:
        text = self.steps[name].text
        for original, ours in self.replace.items():
            text = text.replace(original, ours)
        return text

    def path(self, documented: str) -> Path:
        return Path(self.replace["/etc/bondtrack"].rsplit("/etc/", 1)[0] + documented)

    def run(self, name: str, stdin: str = "", timeout: float = WAIT) -> str:
        """A step in a new `bash -eu`, as a volunteer pastes it into a new shell."""
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", self.text(name)], env=self.base,
                              cwd=self.root, input=stdin, capture_output=True, text=True,
                              timeout=timeout, start_new_session=True)  # no terminal: stdin
        assert done.returncode == 0, f"step {name} failed:\n{done.stdout[-2000:]}" \
                                     f"\n{done.stderr[-2000:]}"
        return done.stdout + done.stderr

    def start(self, name: str) -> Path:
        """A step that runs until stopped (a service), its output in a log."""
        log = self.root / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(["bash", "-euo", "pipefail", "-c", self.text(name)],
                                       env=self.base, cwd=self.root, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        self.running[name] = (process, log)
        return log

    def until(self, name: str, ready: str, what: str) -> None:
        """Wait until the running step ``name`` is ready (a URL answers, or its log says so)."""
        process, log = self.running[name]
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            assert process.poll() is None, f"step {name} exited:\n{log.read_text()[-3000:]}"
            if what == "url" and answers(ready) or what == "log" and ready in log.read_text():
                return
            time.sleep(0.3)
        raise AssertionError(f"step {name}: no {ready!r} within {WAIT} s:\n"
                             f"{log.read_text()[-3000:]}")

    def write(self, name: str) -> Path:
        """A file step: the page's text, written into the file an earlier step made."""
        path = self.path(name.split(" ", 1)[1])
        with path.open("w") as out:  # an existing file keeps its mode
            out.write(self.text(name))
        return path

    def env(self) -> dict[str, str]:
        """What `set -a; . /etc/bondtrack/env; set +a` gives a shell."""
        lines = self.path("/etc/bondtrack/env").read_text().splitlines()
        pairs = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
        return {**self.base, **pairs}

    def stop(self, name: str, signum: int = signal.SIGTERM, timeout: float = 30,
             main_only: bool = False) -> float:
        """Signal the step's processes (``main_only``: its service process alone, as systemd's
        KillMode=mixed does, so a flow run it started is left to finish); how long they took
        to end."""
        process, _ = self.running.pop(name)
        started = time.monotonic()
        try:
            if main_only:
                os.kill(_main_process(process.pid), signum)
            else:
                os.killpg(process.pid, signum)
            process.wait(timeout=timeout)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return float("inf")
        took = time.monotonic() - started
        try:
            os.killpg(process.pid, signal.SIGKILL)  # what the shell left behind
        except ProcessLookupError:
            pass
        return took


def _main_process(shell: int) -> int:
    """The service's own process: the command the step's shell runs last (its last child)."""
    children = Path(f"/proc/{shell}/task/{shell}/children").read_text().split()
    return int(children[-1]) if children else shell


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def as_postgres(cluster: pgcluster.Cluster, line: str, stdin: str) -> None:
    """A line of the roles step, as the postgres user on the database host (its own socket)."""
    tools = str(Path(pgcluster._binary("initdb")).parent)
    argv = ["env", f"PATH={tools}:/usr/bin:/bin", f"PGHOST={cluster.base}",
            f"PGPORT={cluster.port}", "PGUSER=postgres", "bash", "-euo", "pipefail", "-c", line]
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--", *argv]
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60,
                          cwd=cluster.base, start_new_session=True)
    assert done.returncode == 0, f"step roles: {line}: {done.stdout} {done.stderr}"


def unit(name: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read(UNITS / name)
    return parser["Service"]


def class_list(path: Path) -> Path:
    rows = ["a_number,family_name,given_name,language"]
    rows += [f"{a_number(i)},{family_name(i)},Testgiven,es" for i in range(PEOPLE)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def bondtrack(site: Site, *args: str, timeout: float = WAIT) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(BIN / "bondtrack"), *args], env=site.env(), capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, f"bondtrack {args[0]}: {done.stdout} {done.stderr}"
    return done


# Serial: it times how long the worker takes to stop against the unit's TimeoutStopSec, which
# under the parallel pass's load measures the machine, not the unit.
@pytest.mark.serial
def test_the_deploy_page_runs_as_written(cluster: pgcluster.Cluster, smtp: SmtpServer,
                                         tmp_path: Path) -> None:
    site = Site(tmp_path / "site", cluster, smtp.port)
    try:
        _databases_with_passwords(site, cluster)
        _the_prefect_server_and_a_worker_run_a_sweep(site)
        _one_scheduler_which_leaves_the_sweep_to_the_deployment(site)
        _two_web_processes(site)
        _stopped_as_the_units_stop_them(site)
    finally:
        for name in list(site.running):
            site.stop(name, signal.SIGKILL)
    _nothing_about_a_person_in_prefect(cluster)


def _databases_with_passwords(site: Site, cluster: pgcluster.Cluster) -> None:
    for line in site.text("roles").splitlines():
        role = re.search(r"createuser --pwprompt (\w+)", line).group(1)  # type: ignore[union-attr]
        as_postgres(cluster, line, f"{PASSWORDS[role]}\n" * 2)
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(host="127.0.0.1", port=cluster.port, user="bondtrack", dbname="bondtrack")
    site.run("env-files")
    encoded = site.run("encode").strip()
    assert encoded == site.steps["encode"].note.rsplit(" ", 1)[1].rstrip(")")
    assert encoded == urllib.parse.quote(PASSWORDS["bondtrack"], safe="")
    for name in ("file /etc/bondtrack/env", "file /etc/prefect/env"):
        path = site.write(name)
        assert path.stat().st_mode & 0o777 == 0o600, path
    assert "PREFECT_SERVER_DATABASE_CONNECTION_URL" not in site.text("init")
    site.run("init")


def _the_prefect_server_and_a_worker_run_a_sweep(site: Site) -> None:
    log = site.start("prefect-server")
    site.until("prefect-server", f"http://127.0.0.1:{site.prefect_port}/api/health", "url")
    # What a site has by now: an order with its people, three days left and nobody out yet.
    deadline = clock.local(clock.now() + timedelta(days=3, hours=2), "America/Chicago")
    bondtrack(site, "order", "add", "--case", CASE, "--court", "N.D. Ill.", "--judge", "J",
              "--deadline", f"{deadline:%Y-%m-%d %H:%M}")
    bondtrack(site, "import", str(class_list(site.root / "class-list.csv")))
    assert "work pool bondtrack" in site.run("deployments")
    site.start("worker")
    tried = site.run("try", timeout=400)
    assert "Completed" in tried and f"sweep of {CASE}: {PEOPLE} outstanding people" in tried
    for i in range(PEOPLE):
        assert format_a_number(a_number(i)) not in tried
    engine = create_engine(site.env()["BONDTRACK_DATABASE_URL"])
    with engine.connect() as conn:
        at_risk = conn.scalar(select(func.count()).select_from(Event).where(
            Event.kind == "finding", Event.payload["check"].as_string() == "at-risk"))
        sources = set(conn.scalars(select(Event.source).where(Event.kind == "finding")))
    engine.dispose()
    assert at_risk == PEOPLE and sources == {"flow"}  # the worker's run found them
    with urllib.request.urlopen(f"http://127.0.0.1:{site.prefect_port}/api/admin/settings",
                                timeout=30) as answer:
        assert json.load(answer)["server"]["analytics_enabled"] is False
    assert "telemetry" not in log.read_text().lower()  # "Failed to send telemetry", offline


def _one_scheduler_which_leaves_the_sweep_to_the_deployment(site: Site) -> None:
    once = bondtrack(site, "scheduler", "--once")
    assert (f"{CASE}: not swept here: the Prefect deployment sweep/1-18-cv-03757 sweeps it on"
            " its own schedule") in once.stderr
    # Its schedule paused (as the page says), the scheduler sweeps the order itself.
    prefect = [str(BIN / "prefect"), "deployment", "schedule"]
    listed = subprocess.run([*prefect, "ls", "sweep/1-18-cv-03757"], env=site.env(),
                            capture_output=True, text=True, check=True, timeout=WAIT).stdout
    schedule = re.search(r"[0-9a-f]{8}-[0-9a-f-]{27}", listed).group(0)  # type: ignore[union-attr]
    subprocess.run([*prefect, "pause", "sweep/1-18-cv-03757", schedule], env=site.env(),
                   check=True, capture_output=True, timeout=WAIT)
    once = bondtrack(site, "scheduler", "--once")
    assert f"sweep: {CASE}: {PEOPLE} outstanding people checked" in once.stderr
    subprocess.run([*prefect, "resume", "sweep/1-18-cv-03757", schedule], env=site.env(),
                   check=True, capture_output=True, timeout=WAIT)
    site.start("scheduler")
    site.until("scheduler", "alert check:", "log")
    cron = site.text("cron").strip().split(None, 6)[6]  # minute hour day month weekday user
    done = subprocess.run(["/bin/sh", "-c", cron], env=site.base, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and done.stdout == "", done.stdout  # cron mails nothing


def _two_web_processes(site: Site) -> None:
    site.start("web")
    for port in site.web_ports:
        site.until("web", f"http://127.0.0.1:{port}/login", "url")
    assert "added" in site.run("account", stdin=f"{ACCOUNT_PASSWORD}\n" * 2).lower()


def _stopped_as_the_units_stop_them(site: Site) -> None:
    worker = unit("prefect-worker.service")
    signum = signal.Signals[worker["KillSignal"]]
    timeout = float(worker["TimeoutStopSec"])
    took = site.stop("worker", signum, timeout=timeout,
                     main_only=worker.get("KillMode") == "mixed")
    print(f"prefect worker stopped {took:.1f} s after {signum.name}")
    assert took <= timeout, f"the worker did not stop within TimeoutStopSec={timeout:g}"
    for name in ("web", "scheduler", "prefect-server"):
        assert site.stop(name) < 30, name


def _nothing_about_a_person_in_prefect(cluster: pgcluster.Cluster) -> None:
    dump = subprocess.run(["pg_dump", "--data-only", "-h", "127.0.0.1", "-p", str(cluster.port),
                           "-U", "postgres", "prefect"], capture_output=True, text=True,
                          check=True, timeout=120,
                          env={**os.environ, "PGPASSWORD": str(cluster.password)}).stdout
    assert "check-batch-0" in dump, "the dump holds the run"
    for i in range(PEOPLE):
        assert a_number(i) not in dump and family_name(i) not in dump
        assert format_a_number(a_number(i)) not in dump
