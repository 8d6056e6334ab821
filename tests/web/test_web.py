"""The browser workspace through Flask's test client, on SQLite and PostgreSQL: every route
for every role, sign-in and its lockout, sessions, CSRF, headers, moves, uploads."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from sqlalchemy import select

from tests.fixtures_web import PASSWORD, PEOPLE, ROLES, Web, email
from workflow.core import clock
from workflow.record.models import Detainee, Event, User

ALL = frozenset(ROLES)
PEOPLE_ROLES = frozenset({"attorney", "staff"})
ASSIGNERS = frozenset({"attorney", "admin"})  # caseloads: counts and assigning, no names
# (method, path, form, roles allowed). {order} and {person} are internal ids.
ROUTES = [
    ("GET", "/", None, ALL),
    ("GET", "/orders", None, ALL),
    ("GET", "/orders/{order}", None, ALL),
    ("POST", "/orders", {"case_number": "2:25-cv-{role}", "court": "N.D. Ill.", "judge": "J",
                         "deadline": "2026-12-24 12:00"}, frozenset({"admin"})),
    ("GET", "/people?order={order}&stage=INTAKE", None, PEOPLE_ROLES),
    ("POST", "/people?order={order}", {"q": "Okafor"}, PEOPLE_ROLES),
    ("GET", "/people/{person}", None, PEOPLE_ROLES),
    ("POST", "/people/{person}/note", {"note": "called the family"}, PEOPLE_ROLES),
    ("POST", "/people/{person}/search", {}, PEOPLE_ROLES),
    ("POST", "/people/{person}/terms", {"bond_amount": "none", "note": "ECF 240"},
     frozenset({"attorney"})),
    ("POST", "/people/{person}/assign", {"order": "no-such-sub-order"}, frozenset({"attorney"})),
    ("POST", "/people/{person}/bonds/demand", {"due": "2025-12-01 09:00"}, PEOPLE_ROLES),
    ("POST", "/people/{person}/hearing", {"at": "2025-12-10 09:00", "court": "chicago"},
     PEOPLE_ROLES),
    ("POST", "/people/{person}/hearings/999/move", {"at": "2025-12-11 09:00"}, PEOPLE_ROLES),
    ("POST", "/people/{person}/hearings/999/done", {}, PEOPLE_ROLES),
    ("POST", "/people/{person}/sms/consent", {"role": "client", "phone": "312-555-0100",
                                              "how": "form"}, PEOPLE_ROLES),
    ("POST", "/people/{person}/sms/test", {"role": "client"}, PEOPLE_ROLES),
    ("POST", "/people/{person}/sms/read", {"version": "1"}, PEOPLE_ROLES),
    ("POST", "/people/{person}/take", {}, PEOPLE_ROLES),
    ("POST", "/people/{person}/owner", {"owner": email("staff")}, ASSIGNERS),
    ("GET", "/queue?owner=unowned", None, PEOPLE_ROLES),
    ("GET", "/locator", None, PEOPLE_ROLES),
    ("POST", "/locator/{person}", {"result": "not-found", "source": "phone"}, PEOPLE_ROLES),
    ("GET", "/caseloads", None, ASSIGNERS),
    ("POST", "/caseloads/assign", {"owners": email("attorney"), "stage": "BOND_POSTED"},
     ASSIGNERS),
    ("GET", "/bulk/apply", None, PEOPLE_ROLES),
    ("GET", "/bulk/reconcile", None, PEOPLE_ROLES),
    ("GET", "/bulk/apply/template.csv", None, PEOPLE_ROLES),
    ("POST", "/bulk/apply/preview", "upload", PEOPLE_ROLES),
    ("POST", "/bulk/reconcile/preview", "upload", PEOPLE_ROLES),
    ("POST", "/bulk/apply/confirm", {"token": "0" * 32}, PEOPLE_ROLES),
    ("POST", "/bulk/reconcile/confirm", {"token": "0" * 32}, PEOPLE_ROLES),
    ("GET", "/intake/import", None, PEOPLE_ROLES),
    ("POST", "/intake/import/preview", "upload", PEOPLE_ROLES),
    ("POST", "/intake/import/confirm", {"token": "0" * 32}, PEOPLE_ROLES),
    ("GET", "/intake/person", None, PEOPLE_ROLES),
    ("POST", "/intake/person", {"a_number": "A-300-000-00{n}", "family_name": "Mamani",
                                "given_name": "Lucía", "language": "Quechua"}, PEOPLE_ROLES),
    ("GET", "/bonds", None, frozenset({"attorney", "admin"})),
    ("GET", "/hearings", None, frozenset({"attorney", "admin"})),
    ("POST", "/downloads/export.csv", {}, frozenset({"attorney"})),
    ("POST", "/downloads/report.html", {}, frozenset({"attorney"})),
    ("GET", "/downloads/report", None, frozenset({"attorney"})),
    ("POST", "/downloads/report", {"format": "csv", "as_of": "2025-11-19 09:00"},
     frozenset({"attorney"})),
    ("GET", "/downloads/letters", None, frozenset({"attorney"})),
    ("POST", "/downloads/letters", {"kind": "client", "format": "html"}, frozenset({"attorney"})),
    ("GET", "/alerts", None, frozenset({"attorney"})),
    ("GET", "/outbox?status=needs-review", None, frozenset({"attorney"})),
    ("POST", "/outbox/999/resolve", {"verdict": "delivered"}, frozenset({"attorney"})),
    ("GET", "/users", None, frozenset({"admin"})),
    ("POST", "/users", {"email": "new-{role}@bondtrack.test", "role": "viewer",
                        "password": PASSWORD}, frozenset({"admin"})),
    ("POST", "/users/role", {"email": email("viewer"), "role": "viewer"}, frozenset({"admin"})),
    ("POST", "/users/password", {"email": email("viewer"), "password": PASSWORD},
     frozenset({"admin"})),
    ("POST", "/users/totp-policy", {"role": "viewer", "required": "no"}, frozenset({"admin"})),
    ("POST", "/users/totp", {"email": email("viewer"), "action": "remove"},
     frozenset({"admin"})),
    ("POST", "/users/disable", {"email": "new-admin@bondtrack.test"}, frozenset({"admin"})),
    ("POST", "/users/enable", {"email": "new-admin@bondtrack.test"}, frozenset({"admin"})),
    ("GET", "/account", None, ALL),
    ("POST", "/account/password", {"current": "not it", "password": "x", "again": "x"}, ALL),
    ("GET", "/enrol", None, ALL),
    ("POST", "/logout", {}, ALL),
    ("POST", "/logout/everywhere", {}, ALL),
]
# What an allowed request answers: a page, a redirect after a change, or (the bulk
# confirmations of an upload this session never made, a notice that is not there) a refusal.
# A person with no posted bond, a sub-order or hearing that is not there: refused the same way.
# No notice 999: its resolve is refused after the role check.
ALLOWED = {"/": 302, "/people": 200, "/bulk/apply/preview": 200, "/bulk/reconcile/preview": 200,
           "/people/{person}/assign": 400, "/people/{person}/bonds/demand": 400,
           "/people/{person}/hearings/999/move": 400, "/people/{person}/hearings/999/done": 400,
           "/bulk/apply/confirm": 404, "/bulk/reconcile/confirm": 404,
           "/outbox/999/resolve": 400, "/downloads/letters": 200, "/users/totp": 200,
           "/downloads/export.csv": 200, "/downloads/report.html": 200,
           "/intake/import/preview": 200, "/intake/import/confirm": 404,
           "/downloads/report": 200,
           "/account/password": 400, "/enrol": 302,
           # After /logout the session has ended: the sign-in page (tested on its own in
           # tests/test_web_security.py).
           "/logout/everywhere": 302}


def _request(web: Web, browser, method: str, path: str, form, role: str):  # type: ignore[no-untyped-def]
    person = web.ids[ROLES.index(role) % len(web.ids)] if role in ROLES else web.ids[0]
    url = path.format(order=1, person=person)
    # Always the first order: the admin adds a second one on the way.
    url += "" if "order=" in url else ("&" if "?" in url else "?") + "order=1"
    if method == "GET":
        return browser.get(url)
    if form == "upload":
        content = (b"a_number,action,note\nA200000003,note,hello\n" if "apply" in url
                   else b"a_number,family_name,given_name,language\nA200000003,Lindqvist,Maja,"
                        b"Spanish\n" if "intake" in url
                   else b"A-Number,Facility Code,Facility Name,Status\nA200000003,EAZ,Eloy,held\n")
        data = {"file": (io.BytesIO(content), "a.csv"), "order": "1"}
        return browser.post(url, data, content_type="multipart/form-data")
    n = ROLES.index(role) if role in ROLES else 9  # a digit of the role's own
    data = {"order": "1"} | {key: value.format(role=role, n=n) for key, value in form.items()}
    if "/people/" in url or "/locator/" in url:
        with web.database.read() as session:
            data["version"] = str(session.get(Detainee, person).version)
    return browser.post(url, data)


def test_every_route_answers_each_role_as_the_table_says(web: Web) -> None:
    answers: dict[tuple[str, str], int] = {}
    for role in ROLES:
        browser = web.browser(role)  # signs out last
        for method, path, form, allowed in ROUTES:
            answer = _request(web, browser, method, path, form, role)
            answers[(role, f"{method} {path}")] = answer.status_code
            if role in allowed:
                expected = ALLOWED.get(path.split("?")[0], 303 if method == "POST" else 200)
                assert answer.status_code == expected, (role, method, path, answer.text[:500])
            else:
                assert answer.status_code == 403, (role, method, path)
    assert len(answers) == len(ROLES) * len(ROUTES)


def test_the_table_covers_every_route(web: Web) -> None:
    urls = web.app.url_map.bind("localhost")
    covered = {urls.match(path.split("?")[0].format(order=1, person=1), method)[0]
               for method, path, _, _ in ROUTES}
    endpoints = {rule.endpoint for rule in web.app.url_map.iter_rules()}
    # Open to all: sign-in (tested below), the stylesheet and an empty favicon; the SMS
    # provider's webhooks, signed instead (tests/test_sms_web.py).
    assert endpoints - covered == {"auth.login", "auth.favicon", "static", "sms.inbound",
                                   "sms.status"}


def test_signed_out_requests_go_to_the_sign_in_page(web: Web) -> None:
    browser = web.browser()
    login = browser.get("/login")
    assert login.status_code == 200
    for field in ('name="email"', 'name="password"', 'type="hidden" name="csrf"'):
        assert field in login.text
    browser.csrf = re.search(r'name="csrf" value="([^"]+)"', login.text).group(1)  # type: ignore[union-attr]
    for method, path, form, _ in ROUTES:
        answer = _request(web, browser, method, path.replace("{role}", "x"), form, "nobody")
        assert answer.status_code == 302, (method, path)
        assert answer.headers["Location"] == "/login"


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(web: Web) -> None:
    browser = web.browser("staff")
    version = browser.version(web.ids[0])
    for token in (None, "forged"):
        data = {"version": version, "facility": "KRO"} | ({"csrf": token} if token else {})
        answer = browser.post(f"/people/{web.ids[0]}/locate", data, csrf=False)
        assert answer.status_code == 400
    with web.database.read() as session:
        assert session.get(Detainee, web.ids[0]).stage == "INTAKE"
        assert not session.scalars(select(Event).where(Event.source == "web",
                                                       Event.detainee_id.is_not(None))).all()


def test_five_failures_lock_the_account_for_fifteen_minutes_even_with_the_password(
        web: Web, frozen) -> None:  # type: ignore[no-untyped-def]
    start = clock.now()
    browser = web.browser()
    for attempt in range(5):
        frozen(start + timedelta(minutes=attempt))
        answer = browser.sign_in(email("staff"), "wrong password " + "x" * attempt)
        assert answer.status_code == 401
    assert "locked for 15 minutes" in answer.text
    frozen(start + timedelta(minutes=6))
    refused = browser.sign_in(email("staff"))
    assert refused.status_code == 401 and "locked" in refused.text
    with web.database.read() as session:
        kinds = [e.kind for e in session.scalars(select(Event).order_by(Event.id))
                 if e.kind.startswith(("sign-in", "user-locked"))]
        payloads = [str(e.payload) for e in session.scalars(select(Event))]
    assert kinds == ["sign-in-failed"] * 5 + ["user-locked", "sign-in-refused-locked"]
    assert not any("wrong password" in p or PASSWORD in p for p in payloads)
    frozen(start + timedelta(minutes=4 + 15, seconds=1))
    assert browser.sign_in(email("staff")).status_code == 303


def test_failures_spread_over_more_than_fifteen_minutes_do_not_lock(web: Web, frozen) -> None:  # type: ignore[no-untyped-def]
    start = clock.now()
    browser = web.browser()
    for attempt in range(6):
        frozen(start + timedelta(minutes=4 * attempt))
        assert browser.sign_in(email("staff"), "not the password").status_code == 401
    assert browser.sign_in(email("staff")).status_code == 303


def test_an_idle_session_is_signed_out(web: Web, frozen) -> None:  # type: ignore[no-untyped-def]
    start = clock.now()
    browser = web.browser("staff")
    frozen(start + timedelta(minutes=29))
    assert browser.get("/people").status_code == 200
    frozen(start + timedelta(minutes=29 + 30, seconds=1))
    answer = browser.get("/people")
    assert answer.status_code == 302 and answer.headers["Location"] == "/login"
    assert "signed out after a while" in browser.get("/login").text


def test_sign_in_starts_a_new_session_and_sign_out_ends_it(web: Web) -> None:
    browser = web.browser()
    browser.get("/login")
    with browser.client.session_transaction() as session:
        session["planted"] = "by someone else"
        before = dict(session)
    assert browser.sign_in(email("staff")).status_code == 303
    with browser.client.session_transaction() as session:
        assert "planted" not in session and session["csrf"] != before.get("csrf")
        assert session["sid"]
    assert browser.post("/logout").status_code == 303
    assert browser.get("/people").status_code == 302


def test_a_disabled_account_is_signed_out_at_its_next_request(web: Web) -> None:
    staff, admin = web.browser("staff"), web.browser("admin")
    assert admin.post("/users/disable", {"email": email("staff")}).status_code == 303
    assert staff.get("/people").status_code == 302
    assert web.browser().sign_in(email("staff")).status_code == 401


def test_a_role_can_be_made_to_need_a_second_factor(web: Web, frozen) -> None:  # type: ignore[no-untyped-def]
    import pyotp

    from workflow.record import users
    from workflow.record.audit import Actor

    admin = web.browser("admin")
    assert admin.post("/users/totp-policy", {"role": "staff", "required": "yes"}).status_code == 303
    led = web.browser().sign_in(email("staff"))  # to set one up (tests/test_web_security.py)
    assert led.status_code == 303 and led.headers["Location"] == "/enrol"
    with web.database.write() as session:
        secret = users.set_totp(session, email("staff"), enabled=True, actor=Actor("t"),
                                now=clock.now())
    assert web.browser().sign_in(email("staff"), code="000000").status_code == 401
    code = pyotp.TOTP(secret).at(clock.now())
    assert web.browser().sign_in(email("staff"), code=code).status_code == 303
    enrolled = admin.post("/users/totp", {"email": email("attorney"), "action": "new"})
    link = re.search(r'<code id="enrol">([^<]+)</code>', enrolled.text).group(1)  # type: ignore[union-attr]
    assert link.startswith("otpauth://totp/bondtrack:attorney%40bondtrack.test?secret=")
    secret = link.split("secret=")[1].split("&")[0]
    with admin.client.session_transaction() as session:
        assert secret not in str(dict(session)) + str(enrolled.headers)  # no cookie, no URL
    assert web.browser().sign_in(email("attorney"), code=pyotp.TOTP(secret).at(
        clock.now())).status_code == 303


def test_cookies_and_headers(web: Web) -> None:
    browser = web.browser()
    signed_out = browser.get("/login")
    page = browser.sign_in(email("staff"))
    cookie = page.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    for answer in [signed_out] + [browser.get(url) for url in (
            "/people", f"/people/{web.ids[0]}", "/orders/1", "/orders")]:
        assert answer.status_code == 200, answer.request.path
        csp = answer.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "script-src 'self'" in csp
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert answer.headers["Cache-Control"] == "no-store"
    assert "'sha256-" in browser.get("/orders/1").headers["Content-Security-Policy"]


def test_cookies_are_secure_behind_tls(web: Web, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from workflow.core import config
    from workflow.web import create_app

    monkeypatch.setenv("BONDTRACK_WEB_BEHIND_TLS", "true")
    app = create_app(config.load(), web.database)
    client = app.test_client()
    page = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in page.headers["Set-Cookie"]
    assert page.headers["Strict-Transport-Security"]


def test_locate_bond_post_release_from_the_browser(web: Web) -> None:
    browser, person = web.browser("staff"), web.ids[2]
    steps = [("locate", {"facility": "EAZ"}),
             ("bond", {"amount": "$2,500", "obligor": "Erik Lindqvist", "relationship": "brother"}),
             ("post", {"receipt": "I305-77", "method": "cebonds"}),
             ("release", {"reason": ""})]
    for move, form in steps:
        answer = browser.post(f"/people/{person}/{move}", {**form,
                                                           "version": browser.version(person)})
        assert answer.status_code == 303, (move, answer.text[:400])
        assert answer.headers["Location"] == f"/people/{person}"
    page = browser.get(f"/people/{person}").text
    assert "Released" in page and "$2,500.00" in page and "I305-77" in page
    with web.database.read() as session:
        events = [(e.kind, e.actor) for e in session.scalars(select(Event).where(
            Event.detainee_id == person, Event.source == "web"))]
    assert events == [(kind, email("staff")) for kind in ("locate", "bond", "post", "release")]


def test_a_stale_form_is_refused_as_changed_by_someone_else(web: Web) -> None:
    first, second, person = web.browser("staff"), web.browser("attorney"), web.ids[0]
    seen = first.version(person)
    assert second.post(f"/people/{person}/locate", {"facility": "KRO",
                                                    "version": seen}).status_code == 303
    answer = first.post(f"/people/{person}/note", {"note": "stale", "version": seen})
    assert answer.status_code == 409 and "changed by someone else" in answer.text
    with web.database.read() as session:
        assert not session.scalars(select(Event).where(Event.kind == "note")).all()


def test_a_refused_move_says_why_and_changes_nothing(web: Web) -> None:
    browser, person = web.browser("staff"), web.ids[0]
    answer = browser.post(f"/people/{person}/release", {"version": browser.version(person)})
    assert answer.status_code == 400 and "not allowed" in answer.text
    answer = browser.post(f"/people/{person}/locate", {"facility": "NOPE",
                                                       "version": browser.version(person)})
    assert answer.status_code == 400 and "unknown facility" in answer.text
    assert browser.post(f"/people/{person}/fly", {"version": "1"}).status_code == 404


def test_people_filter_by_stage_facility_and_field_office_and_page(web: Web) -> None:
    browser = web.browser("attorney")
    assert browser.get("/people?facility=KRO").text.count("/people/") == 2 + 0
    phoenix = browser.get("/people?field_office=Phoenix").text
    assert "Lindqvist" in phoenix and "Okafor" not in phoenix
    assert "Nobody." in browser.get("/people?stage=RELEASED").text
    assert browser.get("/people?stage=HAPPY").status_code == 400


def test_search_by_any_spelling_or_name_is_a_post(web: Web) -> None:
    browser = web.browser("staff")
    for query in ("A200-000-003", "200000003", "a 200 000 003", "lindqvist", "Maja Lind"):
        answer = browser.post("/people", {"q": query})
        assert answer.status_code == 200
        assert f'href="/people/{web.ids[2]}"' in answer.text, query
        assert "1 found" in answer.text, query
    assert "0 found" in browser.post("/people", {"q": "nobody-like-this"}).text
    assert browser.get("/people?q=Lindqvist").text.count("Lindqvist") == 1  # the list, not search


def test_hostile_names_are_shown_as_text(web: Web) -> None:
    browser = web.browser("attorney")
    for url in ("/people", f"/people/{web.ids[0]}", f"/people/{web.ids[1]}"):
        page = browser.get(url).text
        assert "<script>alert" not in page and "<img src=x" not in page
    assert "Quispe&lt;script&gt;" in browser.get(f"/people/{web.ids[0]}").text
    note = "<b onmouseover=alert(3)>hi</b>"
    browser.post(f"/people/{web.ids[1]}/note", {"note": note,
                                                "version": browser.version(web.ids[1])})
    page = browser.get(f"/people/{web.ids[1]}").text
    assert note not in page and "&lt;b onmouseover" in page


def test_a_viewer_sees_counts_and_the_dashboard_but_no_names(web: Web) -> None:
    browser = web.browser("viewer")
    pages = browser.get("/orders").text + browser.get("/orders/1").text
    for a_number, family, given, _, _ in PEOPLE:
        assert family[:5] not in pages and given[:4] not in pages
        assert a_number.replace("-", "")[1:] not in pages and a_number[2:] not in pages
    assert "People</a>" not in pages


def test_apply_file_upload_preview_then_confirm(web: Web) -> None:
    browser = web.browser("staff")
    good = (b"a_number,action,facility,amount\nA200000001,locate,KRO,\n"
            b"A200000001,bond,,1500\nA200000002,search,,\n")
    preview = browser.post("/bulk/apply/preview", {"file": (io.BytesIO(good), "moves.csv"),
                                                   "order": "1"},
                           content_type="multipart/form-data")
    assert preview.status_code == 200 and "Located → Bond set" in preview.text
    with web.database.read() as session:
        assert session.get(Detainee, web.ids[0]).stage == "INTAKE"  # nothing yet
    token = re.search(r'name="token" value="(\w+)"', preview.text).group(1)  # type: ignore[union-attr]
    kept = next((web.settings.home / "web-uploads" / token).iterdir())
    assert kept.stat().st_mode & 0o777 == 0o600
    assert (kept.parent.stat().st_mode & 0o777) == 0o700
    other = web.browser("attorney")
    assert other.post("/bulk/apply/confirm", {"token": token, "order": "1"}).status_code == 404
    done = browser.post("/bulk/apply/confirm", {"token": token, "order": "1"})
    assert done.status_code == 303
    assert "applied 3 moves" in browser.get(done.headers["Location"]).text
    with web.database.read() as session:
        assert session.get(Detainee, web.ids[0]).stage == "BOND_SET"
        sources = {e.source for e in session.scalars(select(Event).where(
            Event.kind.in_(("locate", "bond", "search"))))}
    assert sources == {"web"}
    assert not kept.exists()


def test_a_bad_apply_file_lists_every_problem_by_line_and_keeps_nothing(web: Web) -> None:
    browser = web.browser("staff")
    bad = b"a_number,action,facility\nA200000001,fly,\nnot-a-number,search,\nA200000002,post,\n"
    answer = browser.post("/bulk/apply/preview", {"file": (io.BytesIO(bad), "moves.csv"),
                                                  "order": "1"},
                          content_type="multipart/form-data")
    assert answer.status_code == 400
    for line in ("moves.csv:2", "moves.csv:3", "moves.csv:4"):
        assert line in answer.text
    assert 'name="token"' not in answer.text
    assert not list((web.settings.home / "web-uploads").iterdir())


def test_uploads_are_size_limited(web: Web) -> None:
    browser = web.browser("staff")
    web.app.config["MAX_CONTENT_LENGTH"] = 1000
    big = b"a_number,action,note\n" + b"A200000001,note,hello\n" * 100
    answer = browser.post("/bulk/apply/preview", {"file": (io.BytesIO(big), "big.csv"),
                                                  "order": "1"},
                          content_type="multipart/form-data")
    assert answer.status_code == 413
    assert not (web.settings.home / "web-uploads").exists()
    wrong = browser.post("/bulk/apply/preview", {"file": (io.BytesIO(b"x"), "moves.exe"),
                                                 "order": "1"},
                         content_type="multipart/form-data")
    assert wrong.status_code == 400 and ".csv or .xlsx" in wrong.text


def test_custody_list_preview_then_confirm(web: Web) -> None:
    browser = web.browser("attorney")
    listed = (b"A-Number,Facility Code,Facility Name,Status\nA200000003,EAZ,Eloy,held\n"
              b"A200000001,KRO,Krome,held\nA200000002,KRO,Krome,held\n")
    preview = browser.post("/bulk/reconcile/preview",
                           {"file": (io.BytesIO(listed), "custody.csv"), "order": "1"},
                           content_type="multipart/form-data")
    assert preview.status_code == 200, preview.text[:1000]
    with web.database.read() as session:
        assert session.get(Detainee, web.ids[2]).stage == "INTAKE"
    token = re.search(r'name="token" value="(\w+)"', preview.text).group(1)  # type: ignore[union-attr]
    assert browser.post("/bulk/reconcile/confirm", {"token": token,
                                                    "order": "1"}).status_code == 303
    with web.database.read() as session:
        assert session.get(Detainee, web.ids[2]).stage == "LOCATED"


def test_downloads_are_audited_with_the_user(web: Web) -> None:
    browser = web.browser("attorney")
    export = browser.post("/downloads/export.csv")
    assert export.status_code == 200 and "attachment" in export.headers["Content-Disposition"]
    assert b"Lindqvist" in export.data
    report = browser.post("/downloads/report.html")
    assert report.status_code == 200
    with web.database.read() as session:
        kinds = {e.kind: e.actor for e in session.scalars(select(Event).where(
            Event.source == "web"))}
    assert kinds["exported"] == email("attorney")
    assert any(k.startswith("report") for k in kinds)
    assert not list((web.settings.home / "web-downloads").iterdir())


def test_admin_manages_users_in_the_browser(web: Web) -> None:
    admin = web.browser("admin")
    assert admin.post("/users", {"email": "Volunteer@Example.org", "role": "staff",
                                 "password": PASSWORD}).status_code == 303
    assert "volunteer@example.org" in admin.get("/users").text
    short = admin.post("/users", {"email": "v2@example.org", "role": "staff", "password": "x"})
    assert short.status_code == 400 and "shorter than 12" in short.text
    assert admin.post("/users/role", {"email": "volunteer@example.org",
                                      "role": "attorney"}).status_code == 303
    with web.database.read() as session:
        user = session.scalar(select(User).where(User.email == "volunteer@example.org"))
        assert user.role == "attorney" and PASSWORD not in user.password_hash
        assert user.password_hash.startswith("$argon2id$")
        actors = {e.actor for e in session.scalars(select(Event).where(
            Event.kind.like("user-%"), Event.source == "web"))}
    assert actors == {email("admin")}


def test_a_needs_review_notice_is_settled_in_the_browser(web: Web) -> None:
    from workflow.record.models import Notice

    with web.database.write() as session:
        notice = Notice(order_id=1, detainee_id=web.ids[0], kind="client-letter", language="es",
                        channel="email", recipient="family@example.org", idempotency_key="k-1",
                        status="needs-review", attempts=1, created_at=clock.now())
        session.add(notice)
        session.flush()
        notice_id = notice.id
    browser = web.browser("attorney")
    listed = browser.get("/outbox?status=needs-review").text
    assert f"/outbox/{notice_id}/resolve" in listed and "family@example.org" in listed
    answer = browser.post(f"/outbox/{notice_id}/resolve", {"verdict": "delivered", "order": "1"})
    assert answer.status_code == 303
    with web.database.read() as session:
        assert session.get(Notice, notice_id).status == "sent"
        resolved = session.scalar(select(Event).where(Event.kind == "notice-resolved"))
        assert (resolved.actor, resolved.source) == (email("attorney"), "web")
    assert "T-" in browser.get("/alerts").text


def test_letters_are_made_and_downloaded_as_one_file_and_audited(web: Web) -> None:
    browser = web.browser("attorney")
    answer = browser.post("/downloads/letters", {"kind": "client", "format": "html",
                                                 "a_number": "A200-000-003"})
    assert answer.status_code == 200 and "attachment" in answer.headers["Content-Disposition"]
    assert "letters-client.html" in answer.headers["Content-Disposition"]
    assert "Lindqvist" in answer.text and "Okafor" not in answer.text
    with web.database.read() as session:
        made = [(e.kind, e.actor) for e in session.scalars(select(Event).where(
            Event.source == "web"))]
    assert any(kind.startswith("letters") and who == email("attorney") for kind, who in made)
    assert not list((web.settings.home / "web-downloads").iterdir())
    refused = browser.post("/downloads/letters", {"kind": "ransom", "format": "html"})
    assert refused.status_code == 400


HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


def test_hostile_text_in_every_move_field_is_shown_inert(web: Web) -> None:
    browser, person = web.browser("staff"), web.ids[2]
    refused = browser.post(f"/people/{person}/locate", {"facility": HOSTILE, "at": HOSTILE,
                                                       "version": browser.version(person)})
    assert refused.status_code == 400
    assert "<script>alert(1)" not in refused.text and "&lt;script&gt;" in refused.text
    browser.post(f"/people/{person}/locate", {"facility": "EAZ",
                                              "version": browser.version(person)})
    fields = {name: HOSTILE for name in ("obligor", "relationship", "conditions")}
    fields["obligor_phone"] = "<script>alert(1)</script>"  # 40 characters at most
    answer = browser.post(f"/people/{person}/bond", {**fields, "obligor_email": "a@b.org",
                                                     "version": browser.version(person)})
    assert answer.status_code == 303, answer.text[:500]
    browser.post(f"/people/{person}/post", {"receipt": HOSTILE[:60], "method": "other",
                                            "version": browser.version(person)})
    for query in (HOSTILE, "%", "_"):
        found = browser.post("/people", {"q": query})
        assert found.status_code == 200 and "<script>alert(1)" not in found.text
    page = browser.get(f"/people/{person}").text
    assert "Bond posted" in page
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4
