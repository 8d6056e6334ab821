"""Letters: the right people, in their language, with the facts as written in that language."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2.exceptions import SecurityError
from sqlalchemy import select

from tests.fixtures_notices import (
    ENGLISH_DEADLINE,
    HOSTILE_FAMILY,
    HOSTILE_GIVEN,
    HOSTILE_OBLIGOR,
    NOW,
    SPANISH_DEADLINE,
    STAFF,
    Letters,
    a_numbers_in,
    english_in,
    expected_outstanding_by_office,
    folded,
    order_of,
    pdf_text,
)
from workflow.notices import letters
from workflow.notices.composing import Filters
from workflow.notices.sending import prepare_letters, render_letters
from workflow.record.models import Detainee, Event


def render(case: Letters, tmp_path: Path, kind: str, **options) -> tuple[object, Path]:  # type: ignore[no-untyped-def]
    out = tmp_path / f"out-{kind}"
    batch = render_letters(case.database, case.settings, case=None, kind=kind, out=out, now=NOW,
                           actor=STAFF, **options)
    return batch, out


def test_spanish_client_letter_is_all_spanish_with_deadline_in_court_time(
        letters_order: Letters, tmp_path: Path) -> None:
    render(letters_order, tmp_path, "client", filters=Filters(a_number="A-012-345-678"))
    person = letters_order.person_id("012345678")
    text = folded(pdf_text(tmp_path / "out-client" / f"client-person-{person}.pdf"))
    assert "José Núñez" in text
    assert "A012-345-678" in text
    assert SPANISH_DEADLINE in text
    assert "20 de noviembre de 2025" in text  # the letter's date
    assert ("El 12 de noviembre de 2025, el tribunal federal (N.D. Ill., juez Jeffrey I. Cummings,"
            " caso 1:18-cv-03757) ordenó") in text
    assert "fianza para usted de $1,500.00" in text
    assert english_in(text) is None


def test_english_client_letter_states_the_deadline_in_english(letters_order: Letters,
                                                              tmp_path: Path) -> None:
    render(letters_order, tmp_path, "client", filters=Filters(a_number="045678901"))
    person = letters_order.person_id("045678901")
    text = folded(pdf_text(tmp_path / "out-client" / f"client-person-{person}.pdf"))
    assert "Mary Smith" in text and "A045-678-901" in text
    assert ENGLISH_DEADLINE in text
    assert ("On November 12, 2025, the federal court (N.D. Ill., Judge Jeffrey I. Cummings, case"
            " 1:18-cv-03757) ordered") in text
    assert "Our records show that you have been released." in text


def test_obligor_letter_has_amount_a_number_country_facility_and_posting_hours(
        letters_order: Letters, tmp_path: Path) -> None:
    batch, out = render(letters_order, tmp_path, "obligor")
    # Bond set and not posted: José and the person with the hostile name. Pedro has paid.
    assert sorted(x.people[0] for x in batch.letters) == sorted(
        letters_order.person_id(a) for a in ("012345678", "034567890"))
    text = folded(pdf_text(out / f"obligor-person-{letters_order.person_id('012345678')}.pdf"))
    for fact in ("José Núñez", "A012-345-678", "México", "Broadview Processing Center",
                 "$1,500.00", "Immigration and Customs Enforcement", "CeBONDS", "I-305", "I-333",
                 ("lunes, martes, miércoles, jueves y viernes, de 9:00 a.m. a 3:00 p.m.,"
                  " hora central"),
                 SPANISH_DEADLINE):
        assert fact in text, fact
    assert english_in(text) is None


def test_posting_hours_are_in_the_facility_time_zone(letters_order: Letters,
                                                     tmp_path: Path) -> None:
    _, out = render(letters_order, tmp_path, "obligor", filters=Filters(facility="BOONEKY"))
    text = folded(pdf_text(out / f"obligor-person-{letters_order.person_id('034567890')}.pdf"))
    assert ("Monday, Tuesday, Wednesday, Thursday, and Friday, from 9:00 AM to 3:00 PM,"
            " Eastern Time") in text
    assert "$1,500.00" in text and "Canada" in text


def test_one_demand_letter_per_field_office_lists_exactly_its_outstanding_people(
        letters_order: Letters, tmp_path: Path) -> None:
    batch, out = render(letters_order, tmp_path, "demand")
    expected = expected_outstanding_by_office(letters_order.database)
    assert {x.stem for x in batch.letters} == {f"demand-{o.lower()}" for o in expected}
    assert {x.stem: set(x.people) for x in batch.letters} == {
        f"demand-{o.lower()}": ids for o, ids in expected.items()}
    chicago = folded(pdf_text(out / "demand-chicago.pdf"))
    assert "Chicago Field Office" in chicago
    assert "Núñez, José A012-345-678 Broadview Processing Center Bond set, not yet paid" in chicago
    assert f"{HOSTILE_FAMILY}, {HOSTILE_GIVEN} A034-567-890 Boone County Jail" in chicago
    assert "Smith" not in chicago  # released
    assert "Iñiguez" not in chicago  # excluded
    assert ENGLISH_DEADLINE in chicago
    # Elena is outstanding at a facility with no field office: reported, in no letter.
    assert batch.without_field_office == [letters_order.person_id("090123456")]
    detroit = folded(pdf_text(out / "demand-detroit.pdf"))
    assert "Ramírez, Pedro" in detroit and "Lopes, João" in detroit and "Núñez" not in detroit
    # Each letter, as printed, lists exactly its office's people, each once.
    for office, a_numbers in expected_outstanding_by_office(letters_order.database,
                                                            Detainee.a_number).items():
        listed = a_numbers_in(pdf_text(out / f"demand-{office.lower()}.pdf"))
        assert sorted(listed) == sorted(a_numbers), office


def test_language_without_templates_gets_english_and_is_listed(letters_order: Letters,
                                                                tmp_path: Path) -> None:
    batch, out = render(letters_order, tmp_path, "client")
    assert batch.needs_translation == {"quc": [letters_order.person_id("098765432")],
                                       "pt": [letters_order.person_id("089012345")]}
    text = folded(pdf_text(out / f"client-person-{letters_order.person_id('098765432')}.pdf"))
    assert "Ana María García López" in text and "Dear" in text


def test_hostile_names_print_literally(letters_order: Letters, tmp_path: Path) -> None:
    hostile = letters_order.person_id("034567890")
    _, out = render(letters_order, tmp_path, "obligor", fmt="html",
                    filters=Filters(a_number="034567890"))
    page = (out / f"obligor-person-{hostile}.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page
    assert "{{ 7*7 }}" in page and "49" not in page
    _, out = render(letters_order, tmp_path, "obligor", filters=Filters(a_number="034567890"))
    text = folded(pdf_text(out / f"obligor-person-{hostile}.pdf"))
    assert f"{HOSTILE_GIVEN} {HOSTILE_FAMILY}" in text
    assert HOSTILE_OBLIGOR in text


@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ person.__class__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ person.items.__self__.clear() }}",
    "{{ people.append(1) }}",
])
def test_templates_cannot_reach_python_internals(source: str) -> None:
    template = letters.environment().from_string(source)
    with pytest.raises(SecurityError):
        template.render(person={"name": "x"}, people=[], cycler=object())


def test_one_file_puts_each_letter_on_new_pages(letters_order: Letters, tmp_path: Path) -> None:
    batch, out = render(letters_order, tmp_path, "client", one_file=True)
    assert [p.name for p in batch.files] == ["client-letters.pdf"]
    pages = pdf_text(out / "client-letters.pdf").split("\f")
    organization = letters_order.settings.section("notices")["organization"]
    starts = [page for page in pages if page.lstrip().startswith(organization)]
    assert len(starts) == len(batch.letters) == 10


def test_files_are_private_and_named_by_internal_id(letters_order: Letters, tmp_path: Path) -> None:
    batch, out = render(letters_order, tmp_path, "client")
    assert out.stat().st_mode & 0o777 == 0o700
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"client-person-{pid}.pdf" for pid in letters_order.ids.values())
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in out.iterdir())


def test_each_generation_is_an_audit_event_without_personal_data(letters_order: Letters,
                                                                 tmp_path: Path) -> None:
    render(letters_order, tmp_path, "client", filters=Filters(a_number="012345678"))
    with letters_order.database.read() as session:
        event = session.scalars(select(Event).where(Event.kind == "letters-rendered")).one()
        actor, order_id, payload = event.actor, event.order_id, event.payload
    assert (actor, order_id) == ("tester", letters_order.order_id)
    assert payload["letters"] == "client" and payload["count"] == 1
    assert payload["by_a_number"] is True
    assert "012345678" not in str(payload) and "Núñez" not in str(payload)


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("kind", ["client", "obligor", "demand"])
def test_every_letter_template_renders_in_every_language(
        letters_order: Letters, tmp_path: Path, kind: str, language: str) -> None:
    batch, out = render(letters_order, tmp_path, kind, language=language, one_file=True)
    text = folded(pdf_text(out / f"{kind}-letters.pdf"))
    assert batch.letters and "A012-345-678" in text
    assert (SPANISH_DEADLINE if language == "es" else ENGLISH_DEADLINE) in text


def test_unknown_language_for_all_letters_is_refused(letters_order: Letters) -> None:
    from workflow.core.errors import ValidationError

    with letters_order.database.read() as session, \
            pytest.raises(ValidationError, match="no client letter in 'xx'"):
        prepare_letters(session, order_of(session, letters_order.order_id), letters_order.settings,
                        kind="client", now=NOW, language="xx")


STAFF_CONTEXT = {
    "order": {"case_number": "1:18-cv-03757", "court": "N.D. Ill.",
              "deadline_local": "Fri 21 Nov 2025, 12:00 CST", "time_zone": "America/Chicago"},
    "title": "T-24h: 412 outstanding", "threshold": "T-24h", "time_left": "23 h 59 min",
    "counts": {"LOCATED": 200, "BOND_SET": 212, "RELEASED": 150}, "outstanding": 412,
    "at_risk": [{"id": 12, "stage": "BOND_SET", "facility": "BROADIL", "hours_in_stage": 30.25}],
    "projection": {"projected_resolved": 301, "covered": 562, "resolved": 150,
                   "outstanding": 412, "at_risk": 111,
                   "pace_per_hour": 4.5, "slowest_stage": "BOND_SET", "slowest_median_hours": 9.5},
    "moves_yesterday": {"release": 40, "post": 38}, "command": "bondtrack status --at-risk",
}


@pytest.mark.parametrize("kind", ["alert", "digest"])
def test_staff_emails_render_their_context_by_internal_id(kind: str) -> None:
    from workflow.core import config

    settings = config.load({"BONDTRACK_HOME": "/nonexistent"})
    subject, page, text = letters.render_staff_email(kind, STAFF_CONTEXT, settings)
    assert "1:18-cv-03757" in subject and "23 h 59 min left" in subject
    assert "<table" in page and "<" not in text
    for fact in ("Deadline: Fri 21 Nov 2025, 12:00 CST (America/Chicago)",
                 "#12 BOND_SET BROADIL 1 d 6 h",
                 "At the current pace (4.5 per hour), 301 of 562 people covered will be"
                 " resolved by the deadline (150 already are); 111 of the 412 outstanding are"
                 " at risk",
                 "The slowest stage is BOND_SET (median 9.5 h)", "BOND_SET 212",
                 "bondtrack status --at-risk"):
        assert fact in text, fact
    assert ("release 40" in text) is (kind == "digest")


def test_staff_emails_render_without_the_optional_parts() -> None:
    from workflow.core import config

    settings = config.load({"BONDTRACK_HOME": "/nonexistent"})
    bare = {key: STAFF_CONTEXT[key] for key in ("order", "title", "time_left", "counts",
                                                "outstanding", "command")}
    subject, _, text = letters.render_staff_email("digest", bare, settings, language="es")
    assert subject == "[bondtrack] Resumen diario: 1:18-cv-03757, quedan 23 h 59 min"
    assert "Plazo: Fri 21 Nov 2025, 12:00 CST" in text and "Proyección" not in text
    subject, _, _ = letters.render_staff_email("alert", bare, settings, language="mam")
    assert subject.endswith("23 h 59 min left)")  # no Mam templates: English


def test_rendering_reports_its_progress(letters_order: Letters, tmp_path: Path) -> None:
    seen: list[tuple[str, int, int]] = []
    render(letters_order, tmp_path, "client", progress=lambda *step: seen.append(step))
    assert [s for s in seen if s[0] == "rendering"][-1] == ("rendering", 10, 10)
    assert ("laying out", 1, 1) in seen and seen[-1] == ("writing", 10, 10)
