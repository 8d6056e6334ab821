"""No person where they do not belong: the whole demo, searched byte by byte.

The run's demo (615 synthetic people, its flows, letters, alerts, report and
dashboard; tests/fixtures_demo.py) and, on a copy of it, a staff member's next
steps (sending the e-mails, an export, a backup, every scheduled job once) run
in processes of their own with logging at DEBUG into a file and Prefect at
DEBUG; then commands that fail are run with real people's A-numbers. Every
demo A-number (both spellings), family name and date of birth (both
spellings) is searched for in the log, in
Prefect's home, in the output of the failing commands and in every other file
bondtrack wrote: it may only be in the database and in what the user asked
for (letters, e-mails, report, dashboard, export, backup, the lists given to
it). Those files are 0600 in 0700 folders, even under a umask of 022.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from tests import fixtures_demo
from tests.fixtures_hardening import BONDTRACK, connected, environment
from tests.fixtures_notices import Mailbox, SmtpServer, free_port
from tests.support import ROOT
from workflow.core.identity import format_a_number
from workflow.record.models import Detainee

pytestmark = pytest.mark.slow  # the 615-person demo and the next steps, at DEBUG

# Files that may hold personal data: the database, and what the user asked bondtrack to make
# or gave it (relative to the demo's home).
ASKED_FOR = re.compile(r"^(bondtrack\.db(-wal|-shm)?|class-list\.csv|custody-lists?(/.*|\.csv)|"
                       r"letters/.*|outbox/.*\.(eml|html)|compliance-report\.\w+|dashboard\.html|"
                       r"exports/.*|backups/.*)$")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


@dataclass(frozen=True)
class People:
    """What identifies the demo's people, in every spelling bondtrack writes."""

    a_numbers: frozenset[str]  # 012345678 and A012-345-678
    names: frozenset[str]  # family names of one word
    phrases: frozenset[str]  # family names of several words
    births: frozenset[str]  # 1985-03-07 and 3/7/1985

    def found_in(self, data: bytes) -> set[str]:
        """Which of them ``data`` contains, matched as whole words and numbers."""
        text = data.decode("utf-8", errors="replace")
        hits = {w for w in _WORD.findall(text) if w in self.names}
        hits |= {n for n in re.findall(r"(?<![\d-])(?:A\d{3}-\d{3}-\d{3}|\d{9})(?![\d-])", text)
                 if n in self.a_numbers}
        hits |= {d for d in re.findall(r"(?<!\d)(?:\d{4}-\d\d-\d\d|\d{1,2}/\d{1,2}/\d{4})(?!\d)",
                                       text) if d in self.births}
        return hits | {p for p in self.phrases if p in text}


def demo_people(home: Path) -> People:
    with connected(environment(home)) as database, database.read() as session:
        rows = session.execute(
            select(Detainee.a_number, Detainee.family_name, Detainee.date_of_birth)).all()
    families = {family for _, family, _ in rows}
    return People(
        a_numbers=frozenset(x for a, _, _ in rows for x in (a, format_a_number(a))),
        names=frozenset(f for f in families if " " not in f),
        phrases=frozenset(f for f in families if " " in f),
        births=frozenset(x for _, _, dob in rows if dob
                         for x in (dob.isoformat(), f"{dob.month}/{dob.day}/{dob.year}")),
    )


# The demo's home, its log file, its stderr, and the environment to run bondtrack in it.
Demo = tuple[Path, Path, Path, dict[str, str]]


@pytest.fixture(scope="module")
def demo(demo_615: fixtures_demo.Demo, tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The run's 615-person demo (built at DEBUG, tests/fixtures_demo.py), copied, and a staff
    member's next steps on the copy at DEBUG: (its home, the log file, its stderr, the
    environment to use)."""
    base = tmp_path_factory.mktemp("privacy")
    home, log, stderr = base / "demo", base / "debug.log", base / "stderr.txt"
    shutil.copytree(demo_615.home, home)  # modes and all: the copy is checked as built
    shutil.copy(demo_615.log, log)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BONDTRACK_", "PREFECT_"))}
    env["HOME"] = str(base / "user-home")  # anything written to ~ would be found there
    server = SmtpServer(Mailbox(), free_port())
    server.start()
    try:
        done = subprocess.run([sys.executable, "-m", "tests.privacy_demo", "after", str(home),
                               str(log), str(server.port)], cwd=ROOT, env=env,
                              capture_output=True, timeout=900)
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    assert b"done: the next steps" in done.stdout
    assert server.mailbox.messages, "the e-mails were sent"
    said = on_the_local_server({**environment(home), "HOME": env["HOME"]}, home)
    stderr.write_bytes(demo_615.stderr.read_bytes() + done.stderr + said)
    return home, log, stderr, {**environment(home), "HOME": env["HOME"]}


def on_the_local_server(env: dict[str, str], home: Path) -> bytes:
    """The flows again, on bondtrack's local Prefect server, both it and the runs at DEBUG;
    its database and log are then in Prefect's home with the rest. Returns their stderr."""
    env = {**env, "PREFECT_LOGGING_LEVEL": "DEBUG", "PREFECT_SERVER_LOGGING_LEVEL": "DEBUG"}
    own = Path(sys.executable).parent / "bondtrack"  # this checkout's
    said = b""
    try:
        for args in (["prefect", "start"], ["run", "sweep", "--now", "2025-11-20 09:00"],
                     ["run", "reconcile", str(home / "custody-list.csv"), "--dry-run"]):
            done = subprocess.run([str(own), *args], env=env, capture_output=True, timeout=300)
            assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
            said += done.stderr
        from workflow.core import config
        from workflow.runners import prefect_server

        local = prefect_server.running(config.load(env))
        assert local is not None
        ids = re.findall(rf"View at {re.escape(local.url)}/runs/flow-run/([0-9a-f-]{{36}})",
                         said.decode(errors="replace"))
        assert len(ids) == 2, "the sweep and the reconcile ran on the local server"
        query = json.dumps({"flow_runs": {"id": {"any_": ids}}}).encode()
        request = urllib.request.Request(f"{local.api_url}/flow_runs/filter", data=query,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            states = [run["state_type"] for run in json.loads(answer.read())]
        assert states == ["COMPLETED", "COMPLETED"], "both runs are recorded there"
    finally:
        subprocess.run([str(own), "prefect", "stop"], env=env, capture_output=True, timeout=60)
    return said


def test_the_log_and_prefects_home_name_nobody(demo: Demo) -> None:
    home, log, stderr, _ = demo
    people = demo_people(home)
    assert len(people.a_numbers) == 2 * 615
    logged = log.read_bytes()
    assert logged.count(b"\n") > 100 and b" DEBUG " in logged  # DEBUG really was on
    assert people.found_in(logged) == set()
    assert people.found_in(stderr.read_bytes()) == set()
    prefect = home / "prefect"
    assert any(p.name == "prefect.db" for p in prefect.rglob("*"))
    assert b" DEBUG " in (prefect / "server.log").read_bytes()  # the local server's, at DEBUG
    leaks = {str(p.relative_to(home)): people.found_in(p.read_bytes())
             for p in prefect.rglob("*") if p.is_file()}
    assert {k: v for k, v in leaks.items() if v} == {}
    assert not (Path(demo[3]["HOME"]) / ".prefect").exists()


def test_building_the_demo_wrote_nothing_outside_its_home(demo_615: fixtures_demo.Demo) -> None:
    assert not (demo_615.user_home / ".prefect").exists()
    assert not demo_615.user_bondtrack_home.exists()


def test_personal_data_is_only_where_the_user_asked_and_private(demo: Demo) -> None:
    home, *_ = demo
    people = demo_people(home)
    holding = {}
    for path in sorted(home.rglob("*")):
        relative = str(path.relative_to(home))
        if path.is_dir():
            assert path.stat().st_mode & 0o777 == 0o700, relative
        elif people.found_in(path.read_bytes()):
            holding[relative] = path.stat().st_mode & 0o777
    assert home.stat().st_mode & 0o777 == 0o700
    strays = sorted(p for p in holding if not ASKED_FOR.match(p))
    assert strays == [], "personal data where nobody asked for it"
    assert {p: mode for p, mode in holding.items() if mode != 0o600} == {}
    made = [path for path in home.rglob("*") if path.is_file()
            and ASKED_FOR.match(str(path.relative_to(home)))]
    named = {str(p.relative_to(home)) for p in made}
    for expected in ("bondtrack.db", "compliance-report.pdf", "dashboard.html",
                     "exports/people.csv", "backups/demo.backup"):
        assert expected in named, f"{expected} was not made"
    assert any(n.startswith("letters/") for n in named) and any(
        n.startswith("outbox/") for n in named)
    # PDFs are compressed, so their bytes show no names: all of it is checked by its mode.
    assert {str(p.relative_to(home)): oct(p.stat().st_mode & 0o777) for p in made
            if p.stat().st_mode & 0o777 != 0o600} == {}


def _failing(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BONDTRACK), *map(str, args)], env=env, capture_output=True,
                          timeout=300)


def test_failing_commands_say_what_failed_without_naming_anyone(demo: Demo,
                                                               tmp_path: Path) -> None:
    home, _, _, env = demo
    people = demo_people(home)
    with connected(env) as database, database.read() as session:
        waiting = session.execute(select(Detainee.a_number, Detainee.family_name,
                                         Detainee.given_name).where(
            Detainee.stage == "INTAKE").limit(1)).one()
    a_number, family, given = waiting
    bad_list = tmp_path / "list.csv"
    bad_list.write_text(f"A#,Last Name,First Name,DOB,Language\n{a_number},{family},{given}\x07,"
                        "13/45/1990,es\n", encoding="utf-8")
    bad_moves = tmp_path / "moves.csv"
    bad_moves.write_text(f"a_number,action\n{a_number},release\n{format_a_number(a_number)},fly\n",
                         encoding="utf-8")
    bad_custody = tmp_path / "custody.csv"
    bad_custody.write_text(f"a_number,facility_code,facility_name\n{a_number},KROME,{family}\x00\n",
                           encoding="utf-8")
    runs = [
        _failing(env, "release", a_number),
        _failing(env, "show", format_a_number(a_number).replace("A", "A9", 1)),
        _failing(env, "locate", a_number, "--facility", "NOPE"),
        _failing(env, "bond", a_number, "--amount", f"{family} dollars"),
        _failing(env, "import", bad_list),
        _failing(env, "apply", bad_moves),
        _failing(env, "run", "reconcile", bad_custody),
    ]
    for run in runs:
        said = run.stdout + run.stderr
        assert run.returncode in (1, 2), run.args
        assert people.found_in(said) == set(), (run.args[1], said.decode(errors="replace"))
        assert b"Traceback" not in said, (run.args[1], said.decode(errors="replace")[-1500:])


def test_the_browser_story_names_nobody_in_logs_or_urls(demo: Demo, tmp_path: Path) -> None:
    """Sign in, list, search by A-number and name, open people, move one through to release,
    fail a few moves and an upload, with the server at DEBUG: its log, its access log and
    every URL asked for or redirected to hold no A-number, name or date of birth."""
    import httpx

    from tests.fixtures_web import CSRF, VERSION, start_server
    from workflow.demo.accounts import ACCOUNTS as DEMO_ACCOUNTS
    from workflow.demo.accounts import PASSWORD as DEMO_PASSWORD

    home, _, _, env = demo
    people = demo_people(home)
    with connected(env) as database, database.read() as session:
        located = session.execute(select(Detainee.id, Detainee.a_number, Detainee.family_name)
                                  .where(Detainee.stage == "LOCATED").limit(1)).one()
        others = session.scalars(select(Detainee.id).limit(5)).all()
    person, a_number, family = located
    log = tmp_path / "web.log"
    server = start_server({**env, "BONDTRACK_LOG_LEVEL": "DEBUG"}, log)
    urls: list[str] = []

    def seen(response: httpx.Response) -> None:
        urls.append(str(response.request.url))
        urls.append(response.headers.get("location", ""))

    client = httpx.Client(base_url=server.url, timeout=120, event_hooks={"response": [seen]})
    try:
        token = CSRF.search(client.get("/login").text).group(1)  # type: ignore[union-attr]
        client.post("/login", data={"email": DEMO_ACCOUNTS[0][0], "password": DEMO_PASSWORD,
                                    "csrf": token})

        def post(path: str, **data: str) -> httpx.Response:
            return client.post(path, data={**data, "csrf": token})

        page = client.get("/people?stage=LOCATED&page=2")
        token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
        for query in (a_number, format_a_number(a_number), family, "nobody at all"):
            assert post("/people", q=query).status_code == 200
        for other in others:
            assert client.get(f"/people/{other}").status_code == 200
        for move, fields in (("locate", {"facility": "NOPE"}), ("bond", {"amount": family}),
                             ("bond", {"amount": "1500", "obligor": family}),
                             ("post", {"receipt": a_number}), ("release", {})):
            version = VERSION.search(client.get(f"/people/{person}").text).group(1)  # type: ignore[union-attr]
            post(f"/people/{person}/{move}", version=version, **fields)
        assert "RELEASED" in client.get(f"/people/{person}").text
        # The person's casework, with their name typed where it does not belong.
        for path, fields in (("bonds/demand", {"due": family}),
                             ("bonds/designee", {"name": family, "note": family}),
                             ("hearing", {"at": "2031-12-10 09:00", "court": family}),
                             ("hearing", {"at": "2031-12-10 09:00", "court": "chicago",
                                          "note": family}),
                             ("terms", {"bond_amount": family}),
                             ("terms", {"conditions": "atd", "note": family})):
            version = VERSION.search(client.get(f"/people/{person}").text).group(1)  # type: ignore[union-attr]
            post(f"/people/{person}/{path}", version=version, **fields)
        assert "Chicago Immigration Court" in client.get(f"/people/{person}").text
        bad = f"a_number,action,note\n{a_number},fly,{family}\n".encode()
        upload = client.post("/bulk/apply/preview", data={"csrf": token},
                             files={"file": ("moves.csv", bad, "text/csv")})
        assert upload.status_code == 400
        client.get("/orders/1")
        client.post("/downloads/export.csv", data={"csrf": token, "order": "1"})
        # The day: the queue, the desk with the name typed where it does not belong, owners.
        for path in ("/queue", "/queue?owner=all", "/queue?owner=unowned", "/caseloads",
                     "/people?owner=me"):
            assert client.get(path).status_code == 200, path
        desk = client.get("/locator").text
        at_desk = re.search(r'action="/locator/(\d+)"', desk)
        assert at_desk is not None, "somebody is due for a look-up in the demo"
        fields = dict(re.findall(r'name="(version|seen)" value="(\d+)"', desk))
        looked = [post(f"/locator/{at_desk.group(1)}", **fields, **typed).status_code
                  for typed in ({"result": "found", "facility": family},
                                {"result": "not-found", "note": family})]
        assert looked == [400, 303]
        assert post("/caseloads/assign", owners=DEMO_ACCOUNTS[1][0], stage="LOCATED",
                    unowned="yes").status_code == 303
        version = VERSION.search(client.get(f"/people/{others[0]}").text).group(1)  # type: ignore[union-attr]
        assert post(f"/people/{others[0]}/owner", version=version,
                    owner=DEMO_ACCOUNTS[0][0]).status_code == 303
    finally:
        client.close()
        server.stop()
    logged = log.read_bytes()
    assert b" DEBUG " in logged and f"POST /people/{person}/release 303".encode() in logged
    assert people.found_in(logged) == set()
    assert people.found_in("\n".join(urls).encode()) == set()
    uploads = home / "web-uploads"
    assert not uploads.exists() or not any(uploads.iterdir())
