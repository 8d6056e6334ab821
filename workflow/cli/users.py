"""`bondtrack user ...`: accounts for the browser workspace (see workflow/record/users.py)."""

from __future__ import annotations

import sys

import click

from workflow.cli.common import App, human_time, output_options, pass_app, print_rows
from workflow.core import clock
from workflow.record import users

_role = click.Choice(users.ROLES, case_sensitive=False)


def _password(from_stdin: bool) -> str:
    """The new password: the first line of stdin, or typed twice without echo."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@click.group()
def user() -> None:
    """Accounts for `bondtrack web`: add, list, set-role, disable, enable, reset-password,
    change-password, totp."""


@user.command("add")
@click.argument("email")
@click.option("--role", required=True, type=_role, help="admin, attorney, staff or viewer.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_app
def add(app: App, email: str, role: str, password_stdin: bool) -> None:
    """Add an account."""
    password = _password(password_stdin)
    with app.write() as session:
        account = users.add_user(session, email, role, password, actor=app.actor(),
                                 now=clock.now())
        line = f"added user #{account.id} ({account.role})"
    click.echo(line)


@user.command("list")
@output_options
@pass_app
def list_users(app: App, fmt: str) -> None:
    """Every account with its role and state."""
    with app.read() as session:
        rows = users.list_users(session)
    if fmt == "table":
        tz = app.court_zone()
        rows = [{**row, "locked_until": human_time(row["locked_until"], tz)} for row in rows]
    print_rows(rows, ["id", "email", "role", "disabled", "totp", "locked_until"], fmt)


@user.command("set-role")
@click.argument("email")
@click.argument("role", type=_role)
@pass_app
def set_role(app: App, email: str, role: str) -> None:
    """Give an account another role."""
    with app.write() as session:
        account = users.set_role(session, email, role, actor=app.actor(), now=clock.now())
        line = f"user #{account.id} is now {account.role}"
    click.echo(line)


@user.command("disable")
@click.argument("email")
@pass_app
def disable(app: App, email: str) -> None:
    """Stop an account from signing in (its sessions end at their next request)."""
    with app.write() as session:
        account = users.disable_user(session, email, actor=app.actor(), now=clock.now())
        line = f"user #{account.id} is disabled"
    click.echo(line)


@user.command("enable")
@click.argument("email")
@pass_app
def enable(app: App, email: str) -> None:
    """Let a disabled account sign in again."""
    with app.write() as session:
        account = users.enable_user(session, email, actor=app.actor(), now=clock.now())
        line = f"user #{account.id} is enabled"
    click.echo(line)


@user.command("change-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True,
              help="Read the current password, then the new one, from standard input.")
@pass_app
def change_password(app: App, email: str, password_stdin: bool) -> None:
    """Change your own password, giving the current one (ends your browser sessions)."""
    if password_stdin:
        current, password = (sys.stdin.readline().rstrip("\r\n") for _ in range(2))
    else:
        current = click.prompt("Current password", hide_input=True)
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    with app.write() as session:
        account = users.change_password(session, email, current, password, actor=app.actor(),
                                        now=clock.now())
        line = f"user #{account.id} has a new password"
    click.echo(line)


@user.command("reset-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_app
def reset_password(app: App, email: str, password_stdin: bool) -> None:
    """Set a new password (also lifts a lockout)."""
    password = _password(password_stdin)
    with app.write() as session:
        account = users.reset_password(session, email, password, actor=app.actor(),
                                       now=clock.now())
        line = f"user #{account.id} has a new password"
    click.echo(line)


@user.command("totp")
@click.argument("email")
@click.option("--off", is_flag=True, help="Remove the second factor instead.")
@pass_app
def totp(app: App, email: str, off: bool) -> None:
    """Give an account a TOTP second factor; prints the otpauth:// link to enrol an app."""
    with app.write() as session:
        secret = users.set_totp(session, email, enabled=not off, actor=app.actor(),
                                now=clock.now())
        address = users.normalize_email(email)
    click.echo(users.totp_uri(address, secret) if secret else "second factor removed")


@user.command("require-totp")
@click.argument("role", type=_role)
@click.option("--off", is_flag=True, help="No longer require it.")
@pass_app
def require_totp(app: App, role: str, off: bool) -> None:
    """Require a TOTP code at sign-in from everyone in ROLE."""
    with app.write() as session:
        users.require_totp(session, role, required=not off, actor=app.actor(), now=clock.now())
    click.echo(f"{role}: second factor {'not ' if off else ''}required")
