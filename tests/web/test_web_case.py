"""A person's casework in the browser, on SQLite and PostgreSQL: release with what ICE imposed,
terms and sub-orders, the bond's events after posting, and hearings. Each form makes the
same library call as the CLI's command with the same options, and is refused the same way."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from tests.fixtures_web import PEOPLE, Browser, Web, email
from workflow.record.models import BondEvent, Detainee, Event, Hearing, Notice

_ERROR = re.compile(r'<p class="error" role="alert">([^<]*)</p>')


def errors(page: str) -> list[str]:
    """The refusals a page shows, as the person reads them."""
    return [html.unescape(line) for line in _ERROR.findall(page)]


def _post(browser: Browser, person: int, path: str, form: dict[str, str]):  # type: ignore[no-untyped-def]
    return browser.post(f"/people/{person}/{path}", {**form, "version": browser.version(person)})


def _posted(browser: Browser, person: int) -> None:
    for move, form in (("locate", {"facility": "EAZ"}), ("bond", {"amount": "1500"}),
                       ("post", {"receipt": "I305-1", "method": "cebonds"})):
        assert _post(browser, person, move, form).status_code == 303, move


def _a_number(index: int) -> str:
    return PEOPLE[index][0]


def _events(web: Web, person: int, source: str | None = None) -> list[Event]:
    with web.database.read() as session:
        query = select(Event).where(Event.detainee_id == person).order_by(Event.id)
        if source:
            query = query.where(Event.source == source)
        rows = list(session.scalars(query))
        session.expunge_all()
    return rows


def test_release_records_what_ice_imposed_like_the_cli(web: Web, cli) -> None:  # type: ignore[no-untyped-def]
    browser = web.browser("staff")
    by_web, by_cli = web.ids[1], web.ids[2]
    for person in (by_web, by_cli):
        _posted(browser, person)
    answer = _post(browser, by_web, "release", {"imposed_bond": "$2,000",
                                                "imposed_conditions": "ATD, Ankle Monitor"})
    assert answer.status_code == 303, answer.text[:500]
    cli("release", _a_number(2), "--imposed-bond", "$2,000", "--imposed-conditions",
        "ATD, Ankle Monitor")
    with web.database.read() as session:
        shown = [(d.stage, d.imposed_bond_cents, d.imposed_conditions)
                 for d in (session.get(Detainee, by_web), session.get(Detainee, by_cli))]
    assert shown[0] == shown[1] == ("RELEASED", 200000, "ankle-monitor,atd")
    released = [e for e in _events(web, by_web) if e.kind == "release"]
    by_terminal = [e for e in _events(web, by_cli) if e.kind == "release"]
    assert released[0].payload == by_terminal[0].payload
    assert (released[0].actor, released[0].source) == (email("staff"), "web")
    page = browser.get(f"/people/{by_web}").text
    assert "bond-higher-than-ordered" in page and "conditions-not-ordered" in page
    assert "$2,000.00" in page and "ankle-monitor" in page


def test_a_bad_imposed_bond_is_one_clear_line_and_writes_nothing(web: Web) -> None:
    browser, person = web.browser("staff"), web.ids[2]
    _posted(browser, person)
    before = len(_events(web, person))
    answer = _post(browser, person, "release", {"imposed_bond": "lots",
                                                "imposed_conditions": "atd"})
    assert answer.status_code == 400
    assert errors(answer.text) == ["imposed bond: not an amount of dollars"]
    assert 'value="lots"' in answer.text  # the form comes back as it was sent
    with web.database.read() as session:
        person_now = session.get(Detainee, person)
        assert (person_now.stage, person_now.imposed_conditions) == ("BOND_POSTED", None)
    assert len(_events(web, person)) == before
    for bad, why in (("-5", "not an amount of dollars"), ("1e9", "implausibly large")):
        refused = _post(browser, person, "release", {"imposed_bond": bad})
        assert refused.status_code == 400 and why in errors(refused.text)[0]


def test_an_attorney_sets_a_persons_terms_and_their_letters_are_queued(web: Web, cli) -> None:  # type: ignore[no-untyped-def]
    attorney, person = web.browser("attorney"), web.ids[2]
    answer = _post(attorney, person, "terms", {"bond_amount": "none", "conditions": "ATD",
                                               "note": "ECF 240"})
    assert answer.status_code == 303, answer.text[:500]
    page = attorney.get(f"/people/{person}").text
    assert re.search(r"person #\d+: terms set; updated letters: \d+ e-mails queued", page)
    assert "no bond, atd (person)" in page
    cli("terms", _a_number(1), "--bond-amount", "none", "--conditions", "ATD", "--note", "ECF 240")
    with web.database.read() as session:
        terms = [(d.ordered_bond_cents, d.ordered_conditions)
                 for d in (session.get(Detainee, person), session.get(Detainee, web.ids[1]))]
        letters = [session.scalar(select(Notice.kind).where(Notice.detainee_id == d))
                   for d in (person, web.ids[1])]
    assert terms == [(0, "atd"), (0, "atd")]
    assert letters[0] is not None and letters[0] == letters[1]  # the same updated letter
    [event] = [e for e in _events(web, person) if e.kind == "terms-set"]
    assert (event.actor, event.source, event.payload["note"]) == (email("attorney"), "web",
                                                                  "ECF 240")
    again = _post(attorney, person, "terms", {"bond_amount": "0"})
    assert "terms unchanged" in attorney.get(again.headers["Location"]).text
    reset = _post(attorney, person, "terms", {"reset": "yes"})
    assert reset.status_code == 303
    with web.database.read() as session:
        assert session.get(Detainee, person).ordered_conditions is None


def test_bad_terms_are_refused_in_one_line_and_staff_may_not_set_them(web: Web) -> None:
    attorney, person = web.browser("attorney"), web.ids[0]
    for form, why in (({"bond_amount": "a lot"}, "bond amount: not an amount of dollars"),
                      ({"conditions": "none, atd"}, "conditions: 'none' cannot be combined"),
                      ({"reset": "yes", "bond_amount": "100"}, "not both")):
        answer = _post(attorney, person, "terms", form)
        assert answer.status_code == 400 and why in errors(answer.text)[0], form
    assert not [e for e in _events(web, person) if e.kind == "terms-set"]
    staff = web.browser("staff")
    assert _post(staff, person, "terms", {"bond_amount": "100"}).status_code == 403
    assert 'id="terms-set"' not in staff.get(f"/people/{person}").text


def test_an_attorney_assigns_a_person_to_a_sub_order(web: Web, cli) -> None:  # type: ignore[no-untyped-def]
    cli("order", "add", "--parent", web.case, "--case", "2:26-sub", "--deadline",
        "2026-03-05 12:00", "--bond-amount", "none")
    attorney, person = web.browser("attorney"), web.ids[1]
    page = attorney.get(f"/people/{person}").text
    assert '<option value="2:26-sub">' in page
    answer = _post(attorney, person, "assign", {"order": "2:26-sub", "docket": "ECF 240"})
    assert answer.status_code == 303, answer.text[:500]
    assert "assigned to order 2:26-sub; updated letters" in attorney.get(
        answer.headers["Location"]).text
    with web.database.read() as session:
        assert session.get(Detainee, person).court_order.case_number == "2:26-sub"
    [event] = [e for e in _events(web, person) if e.kind == "assigned"]
    assert (event.actor, event.source) == (email("attorney"), "web")
    refused = _post(attorney, person, "assign", {"order": "2:26-sub"})
    assert refused.status_code == 400 and "already in order 2:26-sub" in refused.text


def test_the_bond_after_posting_moves_by_its_table_and_shows_its_history(web: Web) -> None:
    browser, person = web.browser("staff"), web.ids[2]
    assert 'id="bond-state"' not in browser.get(f"/people/{person}").text  # not posted yet
    _posted(browser, person)
    page = browser.get(f"/people/{person}").text
    assert "is <strong>active</strong>" in page
    for event in ("demand", "breached", "cancelled", "address-change", "designee"):
        assert f'action="/people/{person}/bonds/{event}"' in page, event
    assert "/bonds/refunded" not in page and "/bonds/produced" not in page
    demand = _post(browser, person, "bonds/demand", {"due": "2025-11-27 09:00",
                                                     "note": "I-340 by mail"})
    assert demand.status_code == 303, demand.text[:500]
    shown = browser.get(f"/people/{person}").text
    assert re.search(r"bond #\d+: demand recorded, now demanded; surrender due Thu 27 Nov 2025,"
                     r" 09:00 CST", shown)
    assert "is <strong>demanded</strong>" in shown and "/bonds/produced" in shown
    assert _post(browser, person, "bonds/produced", {}).status_code == 303
    breach = _post(browser, person, "bonds/breached", {"in_person": "yes"})
    assert breach.status_code == 303
    shown = browser.get(f"/people/{person}").text
    assert "appeal (I-290B) due by Sat 20 Dec 2025, 23:59 CST" in shown  # 30 days: in person
    with web.database.read() as session:
        rows = [(e.kind, e.state, e.actor) for e in session.scalars(
            select(BondEvent).order_by(BondEvent.id))]
    assert rows == [("demand", "demanded", email("staff")), ("produced", "active", email("staff")),
                    ("breached", "breached", email("staff"))]
    history = shown[shown.index("The bond's history"):]
    assert history.index("demand") < history.index("produced") < history.index("breached")
    assert "I-340 by mail" in history and "in person" in history


def test_a_bond_event_the_table_forbids_is_refused_and_writes_nothing(web: Web) -> None:
    browser, person = web.browser("staff"), web.ids[2]
    _posted(browser, person)
    refused = _post(browser, person, "bonds/refunded", {"amount": "1500"})
    assert refused.status_code == 400
    [line] = errors(refused.text)
    assert line.startswith("bond #") and "'refunded' is not allowed; allowed: " in line
    for form, why in (({"due": ""}, "'demand' needs --due"),
                      ({"due": "soon"}, "not a date"),
                      ({"due": "2025-11-19 09:00"}, "must be after the demand's date")):
        answer = _post(browser, person, "bonds/demand", form)
        assert answer.status_code == 400 and why in errors(answer.text)[0], form
    cancel = _post(browser, person, "bonds/cancelled", {"reason": "because"})
    assert cancel.status_code == 400 and "the reason must be one of" in cancel.text
    assert _post(browser, person, "bonds/fly", {}).status_code == 400
    with web.database.read() as session:
        assert not session.scalars(select(BondEvent)).all()
    stale = browser.post(f"/people/{person}/bonds/demand", {"due": "2025-11-27 09:00",
                                                            "version": "1"})
    assert stale.status_code == 409 and "changed by someone else" in stale.text


def test_hearings_are_added_moved_and_done_on_the_persons_page(web: Web) -> None:
    browser, person = web.browser("staff"), web.ids[0]
    seen = browser.version(person)
    added = _post(browser, person, "hearing", {"at": "2025-12-10 09:00", "court": "miami-krome",
                                                "kind": "individual", "note": "courtroom 3"})
    assert added.status_code == 303, added.text[:500]
    with web.database.read() as session:
        hearing = session.scalar(select(Hearing).where(Hearing.detainee_id == person))
        hearing_id = hearing.id
    page = browser.get(f"/people/{person}").text
    assert "Miami Krome Immigration Court" in page and "Wed 10 Dec 2025, 09:00 EST" in page
    assert "courtroom 3" in page and "individual" in page
    # The add made a new version: a form from before it is stale.
    stale = browser.post(f"/people/{person}/hearing", {"at": "2025-12-12 09:00",
                                                       "court": "chicago", "version": seen})
    assert stale.status_code == 409 and "changed by someone else" in stale.text
    moved = _post(browser, person, f"hearings/{hearing_id}/move", {"at": "2025-12-17 10:30"})
    assert moved.status_code == 303
    assert "Wed 17 Dec 2025, 10:30 EST" in browser.get(f"/people/{person}").text
    done = _post(browser, person, f"hearings/{hearing_id}/done", {})
    assert done.status_code == 303
    again = _post(browser, person, f"hearings/{hearing_id}/done", {})
    assert again.status_code == 400 and f"hearing #{hearing_id} is already done" in again.text
    kinds = [(e.kind, e.actor, e.source) for e in _events(web, person, "web")]
    assert kinds == [(k, email("staff"), "web") for k in ("hearing-added", "hearing-moved",
                                                          "hearing-done")]


def test_a_hearing_is_refused_in_one_line_and_another_persons_is_not_found(web: Web) -> None:
    browser, person, other = web.browser("attorney"), web.ids[0], web.ids[1]
    for form, why in (({"at": "2025-12-10 09:00", "court": "atlantis"},
                       "no immigration court 'atlantis'"),
                      ({"at": "", "court": "chicago"}, "give the hearing's date and time"),
                      ({"at": "2025-11-01 09:00", "court": "chicago"}, "is in the past"),
                      ({"at": "2025-12-10 09:00", "court": "chicago", "kind": "party"},
                       "kind must be one of")):
        answer = _post(browser, person, "hearing", form)
        assert answer.status_code == 400 and why in errors(answer.text)[0], form
    assert _post(browser, person, "hearing", {"at": "2025-12-10 09:00",
                                              "court": "chicago"}).status_code == 303
    with web.database.read() as session:
        hearing_id = session.scalar(select(Hearing.id))
    refused = _post(browser, other, f"hearings/{hearing_id}/done", {})
    assert refused.status_code == 400
    assert f"no hearing #{hearing_id} for person #{other}" in refused.text
    with web.database.read() as session:
        assert session.get(Hearing, hearing_id).done_at is None


HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


def test_hostile_text_in_the_casework_fields_is_shown_inert(web: Web) -> None:
    attorney, person = web.browser("attorney"), web.ids[2]
    _posted(attorney, person)
    for path, form in (("bonds/designee", {"name": HOSTILE[:60], "note": HOSTILE}),
                       ("bonds/address-change", {"note": HOSTILE}),
                       ("hearing", {"at": "2025-12-10 09:00", "court": "eloy", "note": HOSTILE}),
                       ("terms", {"conditions": "atd", "note": HOSTILE}),
                       ("release", {"imposed_bond": "1", "imposed_conditions": HOSTILE})):
        assert _post(attorney, person, path, form).status_code == 303, path
    for path, form in (("hearing", {"at": HOSTILE, "court": HOSTILE}),
                       ("terms", {"bond_amount": HOSTILE}),
                       ("bonds/demand", {"due": HOSTILE, "note": HOSTILE})):
        refused = _post(attorney, person, path, form)
        assert refused.status_code == 400, path
        assert "<script>alert(1)" not in refused.text and "<img src=x" not in refused.text
    page = attorney.get(f"/people/{person}").text
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4
