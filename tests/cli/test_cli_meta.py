"""The CLI as a whole: documented, fast to start, and usable as installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from tests.support import ROOT
from workflow.cli import COMMANDS, main

BONDTRACK = Path(sys.executable).parent / "bondtrack"
HEAVY = ("prefect", "alembic", "apscheduler", "weasyprint", "flask", "waitress", "argon2")


def walk(group: click.Group, ctx: click.Context, prefix: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from walk(command, ctx, (*prefix, name))


def all_commands() -> list[tuple[tuple[str, ...], click.Command]]:
    with click.Context(main) as ctx:
        return list(walk(main, ctx))


def test_every_command_and_option_has_help() -> None:
    for path, command in all_commands():
        assert (command.help or command.short_help), f"{' '.join(path)} has no help"
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert param.help, f"{' '.join(path)} {param.opts[0]} has no help"


# Every command that prints data (a listing, a record, a run's report) rather than one line
# of confirmation.
DATA_COMMANDS = {
    "status", "list", "show", "terms", "import", "order show", "order list", "order history",
    "order obligation list", "alerts check", "alerts digest", "alerts list", "bonds list",
    "hearing list", "facility list", "facility show", "facility search", "facility import",
    "field-office list", "field-office show", "notices list", "notices render", "notices send",
    "prefect status", "purge", "run sweep", "run reconcile", "user list",
}


def test_every_data_command_prints_a_table_json_or_csv() -> None:
    options = {" ".join(path): {opt for p in command.params for opt in getattr(p, "opts", [])}
               for path, command in all_commands()}
    assert DATA_COMMANDS <= set(options)
    for name, opts in options.items():
        if name in DATA_COMMANDS or "--json" in opts:
            assert {"--json", "--csv", "--table"} <= opts, name


def test_every_command_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [" ".join(path) for path, _ in all_commands()
               if f"bondtrack {' '.join(path)}" not in readme]
    assert not missing, f"not in README.md: {missing}"


def test_lazy_registry_matches_modules() -> None:
    assert set(COMMANDS) == {path[0] for path, _ in all_commands() if len(path) == 1}


def _modules_after(args: list[str], env: dict[str, str],
                   watched: tuple[str, ...] = HEAVY) -> tuple[int, list[str]]:
    code = (
        "import sys\n"
        "from workflow.cli import main\n"
        "try:\n"
        f"    main({args!r}, prog_name='bondtrack')\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        f"print('LOADED=' + ','.join(m for m in {watched!r} if m in sys.modules),"
        " file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60)
    loaded = proc.stderr.rsplit("LOADED=", 1)[1].strip()
    return proc.returncode, [m for m in loaded.split(",") if m]


def test_help_and_status_import_nothing_heavy(cli, court_order) -> None:  # type: ignore[no-untyped-def]
    env = dict(os.environ)
    for args in (["--help"], ["status"], ["status", "--json"], ["list", "--csv"]):
        code, loaded = _modules_after(args, env)
        assert code == 0, args
        assert loaded == [], f"bondtrack {' '.join(args)} imported {loaded}"


# Readers and verbs status never calls: a spreadsheet reader (zip, XML), the stage verbs, the
# order commands.
NOT_FOR_STATUS = ("workflow.intake.tables", "workflow.people.tracking",
                  "workflow.places.facilities", "openpyxl",
                  "xml.etree.ElementTree", "workflow.cli.order")


def test_status_loads_only_what_it_shows(cli, court_order) -> None:  # type: ignore[no-untyped-def]
    for args in (["status"], ["status", "--json"]):
        code, loaded = _modules_after(args, dict(os.environ), NOT_FOR_STATUS)
        assert code == 0, args
        assert loaded == [], f"bondtrack {' '.join(args)} imported {loaded}"


# The ORM: mapping the classes costs a cold `status` more than all its queries.
ORM = ("sqlalchemy.orm", "workflow.record.models")


def test_status_reads_through_core_without_the_orm(cli, court_order) -> None:  # type: ignore[no-untyped-def]
    for args in (["status"], ["status", "--json"], ["status", "--csv"]):
        code, loaded = _modules_after(args, dict(os.environ), ORM)
        assert code == 0, args
        assert loaded == [], f"bondtrack {' '.join(args)} imported {loaded}"


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(BONDTRACK), *args], env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.slow
def test_installed_command_end_to_end(home: Path, tmp_path: Path) -> None:
    """The README's first steps, exactly as a user types them, on a fresh home."""
    env = dict(os.environ)
    class_list = tmp_path / "class-list.csv"
    class_list.write_text("A#,Last Name,First Name,DOB,Language\n"
                          "A-012-345-678,Núñez,José,3/4/1990,Spanish\n", encoding="utf-8")
    assert run("init", env=env).returncode == 0
    assert run("init", env=env).returncode == 0  # idempotent
    added = run("order", "add", "--case", "1:18-cv-03757", "--court", "N.D. Ill.", "--judge",
                "Jeffrey I. Cummings", "--deadline", "2025-11-21 12:00", "--tz",
                "America/Chicago", env=env)
    assert added.returncode == 0, added.stderr
    assert run("import", str(class_list), "--dry-run", env=env).returncode == 0
    assert run("import", str(class_list), env=env).returncode == 0
    status = json.loads(run("status", "--json", env=env).stdout)
    assert status["by_stage"]["INTAKE"] == 1
    assert status["order"]["deadline"] == "2025-11-21T12:00:00-06:00"
    refused = run("release", "012345678", env=env)
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert "012345678" not in refused.stderr and "Núñez" not in refused.stderr
    assert (home.stat().st_mode & 0o777) == 0o700
    assert ((home / "bondtrack.db").stat().st_mode & 0o777) == 0o600


@pytest.mark.slow
def test_python_dash_m_workflow_is_bondtrack(home: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "workflow", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and "Usage: bondtrack" in proc.stdout


def test_usage_errors_exit_2_and_user_errors_exit_1(home: Path) -> None:
    from click.testing import CliRunner

    runner = CliRunner()
    assert runner.invoke(main, ["status", "--no-such-option"]).exit_code == 2
    result = runner.invoke(main, ["status"])
    assert result.exit_code == 1
    assert result.output.strip() == "Error: the database is not set up yet: run `bondtrack init`"


def test_the_quick_exit_after_a_flow_runs_every_exit_hook_and_keeps_the_code() -> None:
    """``exit_now`` skips only the interpreter's teardown: threading's exit hooks (where
    Prefect's log and event workers drain), then atexit's, then the exit code as given."""
    script = (
        "import atexit, sys, threading\n"
        "from workflow.core.processes import exit_now\n"
        "threading._register_atexit(lambda: print('workers drained', flush=True))\n"
        "atexit.register(lambda: print('atexit ran', flush=True))\n"
        "print('said', end='')\n"
        "exit_now(3)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (
        3, "saidworkers drained\natexit ran\n", "")
