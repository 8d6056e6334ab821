"""Client and obligor letters state the terms the court ordered for the person.

In the person's language.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tests.fixtures_notices import NOW, STAFF, Letters, english_in, folded, order_of, pdf_text
from workflow.notices.composing import Filters
from workflow.notices.sending import render_letters
from workflow.orders import amendments, terms
from workflow.record.models import Detainee

JOSE, MARY, HOSTILE = "012345678", "045678901", "034567890"  # Spanish, English, English
SUB = "1:18-cv-03757 (ECF 331)"
WARNING_EN = "ICE set a higher bond than the court ordered."
WARNING_ES = "ICE fijó una fianza más alta que la que ordenó el tribunal."


def letter(case: Letters, tmp_path: Path, kind: str, a_number: str,
           order: str | None = None) -> str:
    out = tmp_path / f"{kind}-{a_number}-{order or 'first'}"
    batch = render_letters(case.database, case.settings, case=order, kind=kind, out=out, now=NOW,
                           actor=STAFF, filters=Filters(a_number=a_number))
    return folded(pdf_text(batch.files[0]))


def set_terms(case: Letters, a_number: str, **values: object) -> None:
    with case.database.write() as session:
        person = session.get(Detainee, case.person_id(a_number))
        terms.set_person_terms(session, person, actor=STAFF, now=NOW, **values)  # type: ignore[arg-type]


def test_a_persons_own_terms_override_the_orders_in_spanish(letters_order: Letters,
                                                            tmp_path: Path) -> None:
    set_terms(letters_order, JOSE, bond_cents=100_000, conditions="ATD, check in")
    client = letter(letters_order, tmp_path, "client", JOSE)
    assert ("Lo que el tribunal ordenó para usted Fianza $1,000.00 Condiciones el programa de"
            " Alternativas a la Detención (ATD) y presentarse periódicamente ante ICE") in client
    assert "El tribunal fijó estos términos para usted en particular." in client
    assert english_in(client) is None
    obligor = letter(letters_order, tmp_path, "obligor", JOSE)
    assert "Fianza fijada por ICE $1,500.00" in obligor
    assert "Fianza ordenada por el tribunal $1,000.00" in obligor
    assert WARNING_ES in obligor  # ICE's $1,500 is more than the $1,000 ordered
    assert english_in(obligor) is None


def test_the_orders_terms_in_english_without_a_warning_when_ice_keeps_to_them(
        letters_order: Letters, tmp_path: Path) -> None:
    client = letter(letters_order, tmp_path, "client", MARY)
    assert "What the court ordered for you Bond $1,500.00 Conditions none" in client
    assert "for you in particular" not in client
    obligor = letter(letters_order, tmp_path, "obligor", HOSTILE)
    assert "Bond set by ICE $1,500.00" in obligor
    assert "Bond ordered by the court $1,500.00 Conditions ordered by the court none" in obligor
    assert WARNING_EN not in obligor


def test_a_sub_order_without_bond_says_release_without_bond(letters_order: Letters,
                                                             tmp_path: Path) -> None:
    with letters_order.database.write() as session:
        first = order_of(session, letters_order.order_id)
        sub = amendments.add_sub_order(
            session, first, case_number=SUB, deadline="2026-03-05 12:00", docket="ECF 331",
            order_date=date(2026, 2, 26), bond_amount_cents=0, conditions="none", actor=STAFF,
            now=NOW)
        amendments.assign(session, sub, [JOSE, HOSTILE, MARY], docket="ECF 331", actor=STAFF,
                          now=NOW)
    spanish = letter(letters_order, tmp_path, "client", JOSE, SUB)
    assert "Fianza ninguna: liberación sin fianza Condiciones ninguna" in spanish
    assert "jueves, 5 de marzo de 2026, a las 12:00 p.m." in spanish  # the sub-order's deadline
    assert english_in(spanish) is None
    english = letter(letters_order, tmp_path, "client", MARY, SUB)
    assert "Bond none: release without bond Conditions none" in english
    # ICE still holds them on the $1,500 bond it set: more than the none ordered.
    assert WARNING_ES in letter(letters_order, tmp_path, "obligor", JOSE, SUB)
    obligor = letter(letters_order, tmp_path, "obligor", HOSTILE, SUB)
    assert "Bond ordered by the court none: release without bond" in obligor
    assert WARNING_EN in obligor
