"""`bondtrack user ...`: accounts for the browser, on SQLite and PostgreSQL, all audited."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import select

from workflow.cli import main
from workflow.core import clock
from workflow.record import users
from workflow.record.models import Event, User

PASSWORD = "a long enough password"


def user(*args: str, input: str | None = None, ok: bool = True):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(main, ["user", *args], input=input, catch_exceptions=False)
    assert (result.exit_code == 0) == ok, result.output
    return result


def test_add_list_set_role_disable_reset_are_audited_without_the_password(cli, database) -> None:  # type: ignore[no-untyped-def]
    assert "added user #1 (staff)" in user("add", "Ana@Example.org", "--role", "staff",
                                           "--password-stdin", input=PASSWORD + "\n").output
    user("add", "ben@example.org", "--role", "viewer", input=f"{PASSWORD}\n{PASSWORD}\n")
    listed = json.loads(user("list", "--json").output)
    assert [(u["email"], u["role"], u["disabled"]) for u in listed] == [
        ("ana@example.org", "staff", False), ("ben@example.org", "viewer", False)]
    assert "is now attorney" in user("set-role", "ana@example.org", "attorney").output
    assert "is disabled" in user("disable", "ben@example.org").output
    user("reset-password", "ana@example.org", "--password-stdin", input="another long one\n")
    with database.read() as session:
        ana = session.scalar(select(User).where(User.email == "ana@example.org"))
        assert ana.role == "attorney" and ana.password_hash.startswith("$argon2id$")
        events = [(e.kind, e.actor, e.source, json.dumps(e.payload))
                  for e in session.scalars(select(Event).order_by(Event.id))]
    assert [kind for kind, *_ in events] == ["user-added", "user-added", "user-role-set",
                                             "user-disabled", "user-password-reset"]
    assert {(actor, source) for _, actor, source, _ in events} == {("tester", "cli")}
    assert not any(PASSWORD in payload or "another long" in payload for *_, payload in events)


def test_bad_accounts_are_one_line_errors(cli, database) -> None:  # type: ignore[no-untyped-def]
    user("add", "ana@example.org", "--role", "staff", "--password-stdin", input=PASSWORD + "\n")
    for args, text, message in (
            (("add", "ana@example.org", "--role", "staff", "--password-stdin"), PASSWORD,
             "already exists"),
            (("add", "not-an-address", "--role", "staff", "--password-stdin"), PASSWORD,
             "not an e-mail address"),
            (("add", "c@example.org", "--role", "staff", "--password-stdin"), "short",
             "shorter than 12"),
            (("set-role", "nobody@example.org", "admin"), "", "no user with that e-mail")):
        result = user(*args, input=text + "\n", ok=False)
        assert result.exit_code == 1 and message in result.output
        assert result.output.count("\n") == 1 and "Traceback" not in result.output
    assert user("add", "d@example.org", "--role", "boss", ok=False).exit_code == 2


def test_second_factor_and_role_policy(cli, database) -> None:  # type: ignore[no-untyped-def]
    user("add", "ana@example.org", "--role", "staff", "--password-stdin", input=PASSWORD + "\n")
    uri = user("totp", "ana@example.org").output.strip()
    assert uri.startswith("otpauth://totp/bondtrack:ana%40example.org?secret=")
    assert "required" in user("require-totp", "staff").output
    assert "removed" in user("totp", "ana@example.org", "--off").output
    with database.read() as session:
        kinds = [e.kind for e in session.scalars(select(Event).order_by(Event.id))]
    assert kinds[-3:] == ["user-totp-set", "role-totp-policy", "user-totp-removed"]


def test_the_demo_step_prints_how_to_open_the_browser_with_an_account_that_works(
        cli, database, settings) -> None:  # type: ignore[no-untyped-def]
    from workflow.demo import accounts

    said: list[str] = []
    accounts.step(database, settings, 1, clock.now(), said.append)
    address, _ = accounts.ACCOUNTS[0]
    assert said == [f"browser: BONDTRACK_HOME={settings.home} bondtrack web, then open"
                    f" http://127.0.0.1:8000/ and sign in as {address} with the password"
                    f" {accounts.PASSWORD}",
                    "demo accounts, each with that password: attorney@demo.bondtrack.invalid"
                    " (attorney), staff@demo.bondtrack.invalid (staff),"
                    " viewer@demo.bondtrack.invalid (viewer), admin@demo.bondtrack.invalid"
                    " (admin)"]
    with database.write() as session:
        for address, role in accounts.ACCOUNTS:
            signed = users.sign_in(session, address, accounts.PASSWORD, None, now=clock.now())
            assert signed.user is not None and signed.user.role == role


def test_passwords_are_hashed_and_checked_at_rfc_9106_cost(cli, database) -> None:  # type: ignore[no-untyped-def]
    """The real cost, which the web tests lower (tests/support.cheap_hashes): argon2id at RFC
    9106's second recommendation (three passes over 64 MiB, four lanes), for an account and
    for the hash an unknown e-mail is checked against, so both take as long."""
    real = "$argon2id$v=19$m=65536,t=3,p=4$"
    user("add", "ana@example.org", "--role", "staff", "--password-stdin", input=PASSWORD + "\n")
    with database.write() as session:
        stored = session.scalar(select(User.password_hash).where(User.email == "ana@example.org"))
        assert stored is not None and stored.startswith(real)
        now = clock.now()
        assert users.sign_in(session, "ana@example.org", PASSWORD, None, now=now).user
        assert users.sign_in(session, "ana@example.org", PASSWORD + "!", None, now=now).user is None
    assert users._dummy_hash().startswith(real)
