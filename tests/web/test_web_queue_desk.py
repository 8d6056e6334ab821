"""Running the day in the browser, on SQLite and PostgreSQL: the queue as the landing page,
caseloads and assigning, "My people", a person's owner, and the locator desk (one person at a
time, a stale form refused, two look-ups at once both kept, bad input a message with nothing
written)."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from tests.fixtures_web import Browser, Web, email
from workflow.core import clock
from workflow.record import users
from workflow.record.audit import Actor
from workflow.record.models import Detainee, Event, FieldOffice, User

DESK = re.compile(r'action="/locator/(\d+)"')
HIDDEN = re.compile(r'name="(version|seen)" value="(\d+)"')


def _events(web: Web, kind: str) -> list[dict[str, Any]]:
    with web.database.read() as session:
        return [{"id": e.id, "detainee_id": e.detainee_id, "actor": e.actor,
                 "source": e.source, "payload": e.payload}
                for e in session.scalars(select(Event).where(Event.kind == kind)
                                         .order_by(Event.id))]


def _said(page: str) -> str:
    """The page's one-line refusal (or its notice), for an assertion's message."""
    found = re.search(r'<p class="(?:error|notice)"[^>]*>(.*?)</p>', page, re.S)
    return found.group(1) if found else page[-400:]


def _desk(browser: Browser) -> tuple[int, dict[str, str], str]:
    """The person the desk hands this volunteer, the form's hidden fields, and the page."""
    page = browser.get("/locator")
    assert page.status_code == 200, page.text[:300]
    found = DESK.search(page.text)
    assert found, page.text
    return int(found.group(1)), dict(HIDDEN.findall(page.text)), page.text


def _person_links(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'href="/people/(\d+)"', page)]


def test_staff_and_attorneys_start_the_day_at_the_queue(web: Web) -> None:
    for role, landing in (("staff", "/queue"), ("attorney", "/queue"), ("admin", "/orders"),
                          ("viewer", "/orders")):
        browser = web.browser()
        browser.get("/login")
        answer = browser.sign_in(email(role))
        assert answer.headers["Location"] == landing, role
        assert browser.get("/").headers["Location"] == landing, role
    staff = web.browser("staff")
    nav = staff.get("/queue").text
    for link in ('href="/queue"', 'href="/locator"', 'href="/people?owner=me"'):
        assert link in nav
    assert 'href="/caseloads"' not in nav
    assert 'href="/caseloads"' in web.browser("admin").get("/orders").text


def test_the_queue_is_mine_by_default_with_everyone_and_nobody_s_a_choice(web: Web) -> None:
    attorney, staff = web.browser("attorney"), web.browser("staff")
    mine = web.ids[1]
    assert attorney.post(f"/people/{mine}/owner", {"owner": email("staff"),
                                                   "version": attorney.version(mine)}
                         ).status_code == 303
    page = staff.get("/queue").text
    assert "My queue" in page and _person_links(page) == [mine]
    assert "Look them up in the locator" in page and email("staff") in page
    assert "overdue" in page
    assert sorted(_person_links(staff.get("/queue?owner=all").text)) == sorted(web.ids)
    assert sorted(_person_links(staff.get("/queue?owner=unowned").text)) == sorted(
        set(web.ids) - {mine})
    assert _person_links(staff.get(f"/queue?owner={email('staff')}").text) == [mine]
    wrong = staff.get("/queue?owner=nobody@bondtrack.test")
    assert wrong.status_code == 400 and "no account" in wrong.text
    # The "more" link appears only when there are more than the page shows.
    assert 'id="more"' not in staff.get("/queue?owner=all&limit=x").text


def test_the_queue_shows_a_page_at_a_time_with_a_more_link(web: Web, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from workflow.web import day

    monkeypatch.setattr(day, "PAGE", 2)
    staff = web.browser("staff")
    first = staff.get("/queue?owner=all").text
    assert len(_person_links(first)) == 2
    more = re.search(r'<a href="([^"]+)" id="more">Show 2 more</a>', first)
    assert more is not None
    assert more.group(1).replace("&amp;", "&").endswith("limit=4")
    everyone = staff.get(more.group(1).replace("&amp;", "&")).text
    assert sorted(_person_links(everyone)) == sorted(web.ids) and 'id="more"' not in everyone


def test_assign_and_take_are_audited_and_a_stale_form_is_refused(web: Web) -> None:
    attorney, staff, person = web.browser("attorney"), web.browser("staff"), web.ids[0]
    seen = attorney.version(person)
    page = staff.get(f"/people/{person}").text
    assert "Take this person" in page and 'name="owner"' not in page
    assert staff.post(f"/people/{person}/take", {"version": staff.version(person)}
                      ).status_code == 303
    assert f"<dd id=\"owner\">{email('staff')}</dd>" in staff.get(f"/people/{person}").text
    stale = attorney.post(f"/people/{person}/owner", {"owner": email("attorney"),
                                                      "version": seen})
    assert stale.status_code == 409 and "changed by someone else" in stale.text
    taken = attorney.post(f"/people/{person}/take", {"version": attorney.version(person)})
    assert taken.status_code == 409 and "already has an owner" in taken.text
    for owner, why in ((email("viewer"), "is a viewer"), ("nobody@bondtrack.test", "no account"),
                       ("not an address", "not an e-mail address")):
        refused = attorney.post(f"/people/{person}/owner", {"owner": owner,
                                                            "version": attorney.version(person)})
        assert refused.status_code in (400, 404) and why in refused.text, owner
    assert attorney.post(f"/people/{person}/owner", {"owner": email("attorney"),
                                                     "version": attorney.version(person)}
                         ).status_code == 303
    assigned = [(e["actor"], e["source"], e["payload"]["owner"], e["payload"]["from"])
                for e in _events(web, "assign")]
    assert assigned == [(email("staff"), "web", email("staff"), None),
                        (email("attorney"), "web", email("attorney"), email("staff"))]


def test_my_people_and_nobody_s_on_the_people_page(web: Web) -> None:
    staff = web.browser("staff")
    person = web.ids[2]
    staff.post(f"/people/{person}/take", {"version": staff.version(person)})
    assert _person_links(staff.get("/people?owner=me").text) == [person]
    assert sorted(_person_links(staff.get("/people?owner=unowned").text)) == sorted(
        set(web.ids) - {person})
    assert staff.get("/people?owner=someone").status_code == 400
    # A disabled account's people are nobody's.
    with web.database.write() as session:
        users.disable_user(session, email("staff"), actor=Actor("tester"), now=clock.now())
    attorney = web.browser("attorney")
    assert sorted(_person_links(attorney.get("/people?owner=unowned").text)) == sorted(web.ids)


def test_caseloads_show_counts_and_assign_by_filter_in_turn(web: Web) -> None:
    admin = web.browser("admin")
    page = admin.get("/caseloads").text
    assert "Quispe" not in page and "A-200" not in page  # admins see counts, not people
    assert re.search(r"<td>nobody</td><td></td><td>3</td>", page)
    refused = admin.post("/caseloads/assign?order=1", {"facility": "KRO"})
    assert refused.status_code == 400 and "choose who gets them" in refused.text
    refused = admin.post("/caseloads/assign?order=1", {"owners": email("staff")})
    assert refused.status_code == 400 and "choose the people" in refused.text
    refused = admin.post("/caseloads/assign?order=1", {"owners": email("viewer"),
                                                       "facility": "KRO"})
    assert refused.status_code == 400 and "is a viewer" in refused.text
    refused = admin.post("/caseloads/assign?order=1", {"owners": email("staff"),
                                                       "stage": "RELEASED"})
    assert refused.status_code == 400 and "not a stage of outstanding people" in refused.text
    assert _events(web, "assign") == []
    done = admin.post("/caseloads/assign?order=1", {"owners": [email("staff"),
                                                               email("attorney")],
                                                    "facility": "KRO", "unowned": "yes"})
    assert done.status_code == 303
    assert "2 of 2 people given to" in admin.get("/caseloads").text
    owners = sorted(e["payload"]["owner"] for e in _events(web, "assign"))
    assert owners == [email("attorney"), email("staff")]
    assert {e["actor"] for e in _events(web, "assign")} == {email("admin")}
    page = admin.get("/caseloads").text
    assert re.search(rf"<td>{re.escape(email('staff'))}</td><td>staff</td><td>1</td>", page)


def test_the_overview_counts_overdue_actions_and_people_with_no_owner(web: Web) -> None:
    page = web.browser("viewer").get("/orders/1").text
    assert "3 actions overdue" in page and "3 outstanding people with no owner" in page


def test_the_desk_hands_out_one_person_at_a_time_and_then_the_next(web: Web) -> None:
    staff, attorney = web.browser("staff"), web.browser("attorney")
    first, form, page = _desk(staff)
    assert first == web.ids[0]
    assert "200000001" in page and "Quispe&lt;script&gt;" in page and "1990-01-15" in page
    assert 'href="https://locator.ice.gov/odls/#/search" target="_blank"' in page
    assert _desk(staff)[0] == first  # still held for them
    assert _desk(attorney)[0] == web.ids[1]  # never the same person as another volunteer
    answer = staff.post(f"/locator/{first}", {**form, "result": "not-found", "source": "phone",
                                              "note": "0 results"})
    assert answer.status_code == 303 and answer.headers["Location"] == "/locator"
    assert "look-up recorded (not-found)" in staff.get("/queue").text
    assert _desk(staff)[0] == web.ids[2]  # the next one: the attorney holds ids[1]
    (lookup,) = _events(web, "lookup")
    assert (lookup["detainee_id"], lookup["actor"], lookup["source"]) == (
        first, email("staff"), "web")
    assert lookup["payload"] == {"result": "not-found", "how": "phone", "note": "0 results"}


def test_found_at_a_facility_locates_and_bad_input_writes_nothing(web: Web) -> None:
    staff = web.browser("staff")
    person, form, _ = _desk(staff)
    for fields, why in (({"result": "found", "facility": "NOPE"}, "no facility"),
                        ({"result": "found"}, "needs the facility"),
                        ({"result": "not-found", "facility": "KRO"}, "goes with the result"),
                        ({"result": "lost"}, "result must be one of"),
                        ({"result": "found", "facility": "KRO", "source": "locator-auto"},
                         "source must be one of")):
        answer = staff.post(f"/locator/{person}", {**form, **fields})
        assert answer.status_code == 400 and why in answer.text, (fields, _said(answer.text))
        assert f'action="/locator/{person}"' in answer.text  # the same person, on the page
    assert _events(web, "lookup") == []
    answer = staff.post(f"/locator/{person}", {**form, "result": "found", "facility": "EAZ"})
    assert answer.status_code == 303
    with web.database.read() as session:
        detainee = session.get(Detainee, person)
        assert (detainee.stage, detainee.facility.code) == ("LOCATED", "EAZ")


def test_a_desk_form_shown_before_a_move_is_refused(web: Web) -> None:
    staff, attorney = web.browser("staff"), web.browser("attorney")
    person, form, _ = _desk(staff)
    assert attorney.post(f"/people/{person}/locate", {"facility": "KRO",
                                                      "version": attorney.version(person)}
                         ).status_code == 303
    answer = staff.post(f"/locator/{person}", {**form, "result": "not-found"})
    assert answer.status_code == 409 and "changed by someone else" in answer.text
    assert _events(web, "lookup") == []


def test_two_look_ups_of_one_person_at_once_are_both_kept_in_order(web: Web) -> None:
    staff, attorney = web.browser("staff"), web.browser("attorney")
    person, form, _ = _desk(staff)  # the attorney sent the same form from the same facts
    start = threading.Barrier(2)
    answers: dict[str, Any] = {}

    def look(name: str, browser: Browser, how: str) -> None:
        start.wait()
        answers[name] = browser.post(f"/locator/{person}", {**form, "result": "not-found",
                                                            "source": how})

    threads = [threading.Thread(target=look, args=("staff", staff, "phone")),
               threading.Thread(target=look, args=("attorney", attorney, "email"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert {name: a.status_code for name, a in answers.items()} == {"staff": 303,
                                                                    "attorney": 303}
    kept = _events(web, "lookup")
    assert sorted(e["payload"]["how"] for e in kept) == ["email", "phone"]
    with web.database.read() as session:
        assert session.get(Detainee, person).empty_lookups == 2


def test_empty_look_ups_pile_up_to_a_call_and_nobody_due_says_when_next(web: Web) -> None:
    staff = web.browser("staff")
    with web.database.write() as session:  # one person left to look for
        session.execute(update(Detainee).where(Detainee.id != web.ids[0])
                        .values(stage="EXCLUDED"))
    person, form, _ = _desk(staff)
    assert person == web.ids[0]
    with web.database.write() as session:  # two empty answers already; the office's phone
        session.execute(update(Detainee).where(Detainee.id == person).values(empty_lookups=2))
        if not session.scalar(select(FieldOffice.id).where(FieldOffice.name == "Miami")):
            session.add(FieldOffice(name="Miami", office="Miami Field Office",
                                    phone="(954) 843-5800"))
    person, form, _ = _desk(staff)
    staff.post(f"/locator/{person}", {**form, "result": "not-found"})
    _, _, page = _desk(staff)  # a call is due at once
    assert 'id="call-office"' in page and "3 empty look-ups" in page
    assert "call Miami ERO, (954) 843-5800" in page
    person, form, _ = _desk(staff)
    staff.post(f"/locator/{person}", {**form, "result": "in-custody-no-facility"})
    with web.database.write() as session:  # the call made: look again in 12 hours
        session.execute(update(Detainee).where(Detainee.id == person).values(
            empty_lookups=0, next_lookup_at=clock.now() + timedelta(hours=12)))
    page = staff.get("/locator").text
    assert "Nobody is due for a look-up now" in page and "The next look-up falls due" in page
    assert DESK.search(page) is None


def test_a_disabled_account_s_people_come_to_the_desk_as_nobody_s(web: Web) -> None:
    staff = web.browser("staff")
    with web.database.write() as session:  # one person left, the attorney's
        attorney_id = session.scalar(select(User.id).where(User.email == email("attorney")))
        session.execute(update(Detainee).where(Detainee.id != web.ids[1])
                        .values(stage="EXCLUDED"))
        session.execute(update(Detainee).where(Detainee.id == web.ids[1])
                        .values(owner_id=attorney_id))
    assert "Nobody is due" in staff.get("/locator").text  # the attorney's person
    with web.database.write() as session:
        users.disable_user(session, email("attorney"), actor=Actor("tester"), now=clock.now())
    assert _desk(staff)[0] == web.ids[1]


def test_the_desk_spells_the_country_as_the_locator_does_and_says_what_it_saw(
        web: Web) -> None:
    staff = web.browser("staff")
    with web.database.write() as session:
        session.execute(update(Detainee).where(Detainee.id == web.ids[0]).values(
            country_of_birth="México", locator_saw="Otero County Processing Center, NM"))
        session.execute(update(Detainee).where(Detainee.id == web.ids[1]).values(
            country_of_birth="Narnia"))
    staff_first, _, page = _desk(staff)
    assert staff_first == web.ids[0]
    assert '<dd id="desk-country">MEXICO</dd>' in page
    assert "Otero County Processing Center, NM" in page and 'id="locator-saw"' in page
    _, _, page = _desk(web.browser("attorney"))  # the next person, Narnia-born
    assert "Narnia (not in the locator's list: search by name)" in page
