"""Trust on first contact, the security half: sessions kept on the server, a TOTP code that
works once, a second factor set up at sign-in, passwords that are hard to guess, a lockout
that names nobody, the last admin kept, and downloads only by a POST with the CSRF token."""

from __future__ import annotations

import re
import statistics
import time
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tests.fixtures_web import PASSWORD, Browser, Web, email
from workflow.core import clock
from workflow.core.errors import BondtrackError, ValidationError
from workflow.record import users
from workflow.record.audit import Actor
from workflow.record.models import Event, User, WebSession

COOKIE = "bondtrack_session"
NEW_PASSWORD = "violet kettle upstairs morning"


def copy_of(web: Web, browser: Browser) -> Browser:
    """Another browser holding a copy of ``browser``'s cookie (and its CSRF token)."""
    other = Browser(web.app.test_client())
    other.client.set_cookie(COOKIE, browser.client.get_cookie(COOKIE).value)  # type: ignore[union-attr]
    other.csrf = browser.csrf
    return other


def notes(web: Web) -> int:
    with web.database.read() as session:
        return len(session.scalars(select(Event).where(Event.kind == "note")).all())


def reads_a_person(web: Web, browser: Browser) -> bool:
    return browser.get(f"/people/{web.ids[0]}").status_code == 200


def test_a_copy_of_the_cookie_taken_before_sign_out_reads_and_records_nothing(web: Web) -> None:
    staff = web.browser("staff")
    stolen = copy_of(web, staff)
    assert reads_a_person(web, stolen)
    version = stolen.version(web.ids[0])
    assert staff.post("/logout").status_code == 303
    page = stolen.get(f"/people/{web.ids[0]}")
    assert page.status_code == 302 and page.headers["Location"] == "/login"
    before = notes(web)
    answer = stolen.post(f"/people/{web.ids[0]}/note", {"note": "after sign-out",
                                                        "version": version})
    assert answer.status_code == 302 and answer.headers["Location"] == "/login"
    assert notes(web) == before
    with web.database.read() as session:
        assert session.scalars(select(WebSession)).all() == []


@pytest.mark.parametrize("change", ["reset", "role", "disable", "own password"])
def test_a_password_or_role_change_or_disabling_ends_every_session_of_that_user(
        web: Web, change: str) -> None:
    first, second, other = web.browser("staff"), web.browser("staff"), web.browser("attorney")
    admin = web.browser("admin")
    if change == "reset":
        admin.post("/users/password", {"email": email("staff"), "password": NEW_PASSWORD})
    elif change == "role":
        admin.post("/users/role", {"email": email("staff"), "role": "viewer"})
    elif change == "disable":
        admin.post("/users/disable", {"email": email("staff")})
    else:
        changed = first.post("/account/password", {"current": PASSWORD,
                                                   "password": NEW_PASSWORD,
                                                   "again": NEW_PASSWORD})
        assert changed.status_code == 303, changed.text[:2000]
        first.refresh_csrf()
        assert first.get("/account").status_code == 200  # the browser that asked goes on
    assert not reads_a_person(web, second)
    assert reads_a_person(web, other)
    if change != "own password":
        assert not reads_a_person(web, first)


def test_sign_out_everywhere_is_one_click(web: Web) -> None:
    here, there, colleague = web.browser("staff"), web.browser("staff"), web.browser("attorney")
    assert 'action="/logout/everywhere"' in here.get("/account").text
    answer = here.post("/logout/everywhere")
    assert answer.status_code == 303 and answer.headers["Location"] == "/login"
    assert not reads_a_person(web, here) and not reads_a_person(web, there)
    assert reads_a_person(web, colleague)
    with web.database.read() as session:
        ended = session.scalar(select(Event).where(Event.kind == "signed-out-everywhere"))
        assert ended.actor == email("staff") and ended.payload["sessions"] == 2


def test_an_idle_session_is_ended_on_the_server_too(web: Web, frozen) -> None:  # type: ignore[no-untyped-def]
    start = clock.now()
    staff = web.browser("staff")
    frozen(start + timedelta(minutes=31))
    assert staff.get("/people").status_code == 302
    with web.database.read() as session:
        assert session.scalars(select(WebSession)).all() == []


def _give_totp(web: Web, role: str) -> str:
    with web.database.write() as session:
        secret = users.set_totp(session, email(role), enabled=True, actor=Actor("t"),
                                now=clock.now())
    assert secret
    return secret


def test_a_totp_code_is_accepted_once_per_user_and_time_step(web: Web, frozen) -> None:  # type: ignore[no-untyped-def]
    import pyotp

    secret = _give_totp(web, "staff")
    code = pyotp.TOTP(secret).at(clock.now())
    assert web.browser().sign_in(email("staff"), code=code).status_code == 303
    replayed = web.browser().sign_in(email("staff"), code=code)
    assert replayed.status_code == 401
    frozen(clock.now() + timedelta(seconds=30))  # the next step: the same code is still refused
    assert web.browser().sign_in(email("staff"), code=code).status_code == 401
    fresh = pyotp.TOTP(secret).at(clock.now())
    assert web.browser().sign_in(email("staff"), code=fresh).status_code == 303


def test_a_member_without_a_second_factor_is_led_through_enrolment(web: Web) -> None:
    import pyotp

    admin = web.browser("admin")
    assert admin.post("/users/totp-policy", {"role": "staff", "required": "yes"}).status_code == 303
    wrong = web.browser().sign_in(email("staff"), "not the password at all")
    assert wrong.status_code == 401 and "second factor" not in wrong.text
    staff = web.browser()
    led = staff.sign_in(email("staff"))
    assert led.status_code == 303 and led.headers["Location"] == "/enrol"
    assert staff.get("/people").headers["Location"] == "/enrol"  # nothing else until done
    page = staff.get("/enrol")
    assert page.status_code == 200 and "Your role needs a code" in page.text
    assert re.search(r'<img id="enrol-qr" src="data:image/svg\+xml', page.text)
    assert "<script" not in page.text and 'src="http' not in page.text  # drawn here
    secret = re.search(r'<code id="enrol-secret">([A-Z2-7]+)</code>', page.text).group(1)  # type: ignore[union-attr]
    with staff.client.session_transaction() as session:
        assert secret not in str(dict(session))
    refused = staff.post("/enrol", {"code": "000000"})
    assert refused.status_code == 400 and "not right" in refused.text
    shown = re.search(r'<code id="enrol-secret">([A-Z2-7]+)</code>', refused.text).group(1)  # type: ignore[union-attr]
    assert shown != secret  # each secret is shown once
    done = staff.post("/enrol", {"code": pyotp.TOTP(shown).at(clock.now())})
    assert done.status_code == 303 and done.headers["Location"] == "/queue"  # where staff start
    assert reads_a_person(web, staff)
    with web.database.read() as session:
        user = session.scalar(select(User).where(User.email == email("staff")))
        assert user.totp_secret == shown
    assert web.browser().sign_in(email("staff")).status_code == 401  # now a code is needed


@pytest.mark.parametrize("password", ["short pass", "aaaaaaaaaaaa", "123456789012",
                                      "password1234", "qwertyuiopasdf", "iloveyou2025",
                                      "ana.lopez1990", "Ana.Lopez!!2025"])
def test_weak_passwords_are_refused(password: str) -> None:
    with pytest.raises(ValidationError) as refused:
        users.hash_password(password, "ana.lopez@legal-aid.example")
    assert password not in str(refused.value)


@pytest.mark.parametrize("password", [PASSWORD, NEW_PASSWORD, "kettle-violet-upstairs",
                                      "Mi perro se llama Tomás"])
def test_long_unrelated_words_are_good_passwords_without_composition_rules(
        password: str) -> None:
    assert users.hash_password(password, "ana.lopez@legal-aid.example").startswith("$argon2id$")


def test_users_change_their_own_password_in_the_browser_and_the_cli(web: Web) -> None:
    from workflow.cli import main

    staff = web.browser("staff")
    assert 'href="/account"' in staff.get("/orders").text
    for fields, message in (({"current": "wrong one", "password": NEW_PASSWORD,
                              "again": NEW_PASSWORD}, "current password is not right"),
                            ({"current": PASSWORD, "password": "aaaaaaaaaaaa",
                              "again": "aaaaaaaaaaaa"}, "too easy to guess"),
                            ({"current": PASSWORD, "password": NEW_PASSWORD,
                              "again": NEW_PASSWORD + "x"}, "differ")):
        answer = staff.post("/account/password", fields)
        assert answer.status_code == 400 and message in answer.text
    assert web.browser().sign_in(email("staff")).status_code == 303
    result = CliRunner().invoke(main, ["user", "change-password", email("attorney"),
                                       "--password-stdin"], input=f"{PASSWORD}\n{NEW_PASSWORD}\n")
    assert result.exit_code == 0 and "has a new password" in result.output
    assert web.browser().sign_in(email("attorney")).status_code == 401
    assert web.browser().sign_in(email("attorney"), NEW_PASSWORD).status_code == 303
    wrong = CliRunner().invoke(main, ["user", "change-password", email("attorney"),
                                      "--password-stdin"], input=f"{PASSWORD}\n{NEW_PASSWORD}\n")
    assert wrong.exit_code == 1 and wrong.output.count("\n") == 1
    with web.database.read() as session:
        changed = session.scalars(select(Event).where(Event.kind == "user-password-changed"))
        assert sorted(e.actor for e in changed) == ["tester"]


def _lock(web: Web, address: str) -> None:
    for attempt in range(5):
        web.browser().sign_in(address, f"wrong password {attempt}")


def test_an_unknown_e_mail_and_a_locked_account_read_and_take_alike(web: Web) -> None:
    _lock(web, email("staff"))
    with web.database.read() as session:
        assert session.scalar(select(User).where(User.email == email("staff"))).locked_until
    timings: dict[str, list[float]] = {"locked": [], "unknown": []}
    texts: dict[str, set[str]] = {"locked": set(), "unknown": set()}
    for _ in range(5):
        for kind, address in (("locked", email("staff")), ("unknown", "nobody@bondtrack.test")):
            browser = web.browser()
            started = time.perf_counter()
            answer = browser.sign_in(address, PASSWORD)
            timings[kind].append(time.perf_counter() - started)
            assert answer.status_code == 401
            texts[kind].add(re.search(r'role="alert">([^<]+)<', answer.text).group(1))  # type: ignore[union-attr]
    assert texts["locked"] == texts["unknown"] and len(texts["locked"]) == 1
    locked, unknown = (statistics.median(timings[k]) for k in ("locked", "unknown"))
    assert 0.5 < locked / unknown < 2, (locked, unknown)


def test_the_last_active_admin_cannot_demote_or_disable_themselves(web: Web) -> None:
    admin = web.browser("admin")
    for path, fields in (("/users/role", {"email": email("admin"), "role": "staff"}),
                         ("/users/disable", {"email": email("admin")})):
        refused = admin.post(path, fields)
        assert refused.status_code == 400 and "last active admin" in refused.text
    with web.database.read() as session:
        user = session.scalar(select(User).where(User.email == email("admin")))
        assert user.role == "admin" and user.disabled_at is None
    promoted = admin.post("/users/role", {"email": email("attorney"), "role": "admin"})
    assert promoted.status_code == 303
    assert admin.post("/users/role", {"email": email("admin"), "role": "staff"}).status_code == 303
    with web.database.write() as session, pytest.raises(BondtrackError, match="last active"):
        users.disable_user(session, email("attorney"), actor=Actor("t"), now=clock.now())


def test_a_disabled_account_can_be_enabled_again_in_the_browser_and_the_cli(web: Web) -> None:
    from workflow.cli import main

    admin = web.browser("admin")
    for how in ("web", "cli"):
        assert admin.post("/users/disable", {"email": email("staff")}).status_code == 303
        assert web.browser().sign_in(email("staff")).status_code == 401
        if how == "web":
            assert admin.post("/users/enable", {"email": email("staff")}).status_code == 303
        else:
            result = CliRunner().invoke(main, ["user", "enable", email("staff")])
            assert result.exit_code == 0 and "is enabled" in result.output
        assert web.browser().sign_in(email("staff")).status_code == 303
    with web.database.read() as session:
        enabled = [e.actor for e in session.scalars(select(Event).where(
            Event.kind == "user-enabled").order_by(Event.id))]
    assert enabled == [email("admin"), "tester"]


def test_personal_data_downloads_are_posts_with_the_csrf_token(web: Web) -> None:
    attorney = web.browser("attorney")
    page = attorney.get("/orders").text
    for path in ("/downloads/export.csv", "/downloads/report.html"):
        assert f'href="{path}' not in page
        assert re.search(rf'<form method="post" action="{re.escape(path)}"', page)
        assert attorney.get(path + "?order=1").status_code == 405
        assert attorney.post(path, {"order": "1"}, csrf=False).status_code == 400
        answer = attorney.post(path, {"order": "1"})
        assert answer.status_code == 200 and "attachment" in answer.headers["Content-Disposition"]
    assert attorney.get("/downloads/letters").status_code == 200  # the form, no data
    assert attorney.post("/downloads/letters", {"kind": "client", "format": "html"},
                         csrf=False).status_code == 400
    with web.database.read() as session:
        kinds = [e.kind for e in session.scalars(select(Event).where(
            Event.source == "web", Event.actor == email("attorney")))]
    assert kinds.count("exported") == 1 and sum(k.startswith("report") for k in kinds) == 1
