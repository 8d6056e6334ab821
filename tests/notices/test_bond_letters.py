"""The bond's letters, read back from the PDF with pdftotext, in English and in Spanish."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.fixtures_foundation import write_csv
from tests.fixtures_notices import folded, pdf_text
from tests.support import Cli

LIST = ["A#,Last Name,First Name,DOB,Language,Facility,Facility Name",
        "A-012-345-678,Núñez,José,3/4/1990,Spanish,BROADIL,Broadview Processing Center"]


@pytest.fixture
def bonded(cli, court_order, tmp_path, frozen):  # type: ignore[no-untyped-def]
    """José released on a posted bond (obligor Rosa), a hearing at Krome, a demand, then a
    cancellation in another life: each letter's facts are on file."""
    cli("import", write_csv(tmp_path / "list.csv", LIST))
    cli("locate", "012345678", "--facility", "BROADIL")
    cli("bond", "012345678", "--obligor", "Rosa Núñez", "--obligor-phone", "+1 773-555-0101")
    cli("post", "012345678", "--receipt", "I305-0042")
    cli("release", "012345678")
    cli("hearing", "add", "012345678", "--at", "2026-01-14 08:30", "--court", "krome")
    frozen(datetime(2025, 11, 24, 16, 0, tzinfo=UTC))
    return cli


def letter(cli: Cli, tmp_path: Path, kind: str, language: str) -> str:
    out = tmp_path / f"{kind}-{language}"
    made = cli("notices", "render", "--kind", kind, "--language", language, "--out", out).output
    assert f"1 {kind} letter(s)" in made
    return folded(pdf_text(out / f"{kind}-person-1.pdf"))


def test_the_hearing_letter_in_english_and_spanish(bonded: Cli, tmp_path: Path) -> None:
    english = letter(bonded, tmp_path, "hearing", "en")
    assert "Immigration court hearing for José Núñez on January 14, 2026" in english
    assert "Wednesday, January 14, 2026" in english
    assert "8:30 AM (Eastern Standard Time, the court's time)" in english
    assert "Miami Krome Immigration Court, Miami, FL" in english
    assert "18201 SW 12th Street, Miami, FL 33194" in english
    assert "What to bring" in english and "A012-345-678" in english
    spanish = letter(bonded, tmp_path, "hearing", "es")
    assert ("Audiencia en la corte de inmigración de José Núñez el 14 de enero de 2026"
            in spanish)
    assert "miércoles, 14 de enero de 2026" in spanish
    assert "Qué debe llevar" in spanish and "hora de la corte" in spanish
    assert "What to bring" not in spanish


def test_the_demand_notice_tells_the_obligor_the_due_date(bonded: Cli, tmp_path: Path) -> None:
    bonded("bonds", "record", "012345678", "demand", "--date", "2025-11-24 09:00",
           "--due", "2025-12-01 10:00")
    english = letter(bonded, tmp_path, "demand-notice", "en")
    assert "ICE demands that you produce José Núñez by December 1, 2025" in english
    assert "Dear Rosa Núñez" in english and "Form I-340" in english
    assert "Monday, December 1, 2025, 10:00 AM (Central Standard Time)" in english
    assert "breached (Form I-323) and keep the $1,500.00" in english
    assert "I305-0042" in english
    spanish = letter(bonded, tmp_path, "demand-notice", "es")
    assert "ICE exige que usted presente a José Núñez a más tardar el 1 de diciembre de 2025" \
        in spanish
    assert "lunes, 1 de diciembre de 2025" in spanish and "formulario I-340" in spanish
    assert "$1,500.00" in spanish  # US conventions ([notices] region = "US")


def test_the_refund_packet_is_a_cover_letter_to_the_debt_management_center(
        bonded: Cli, tmp_path: Path) -> None:
    bonded("bonds", "record", "012345678", "designee", "--name", "Elena Núñez",
           "--date", "2025-11-24 08:00")
    bonded("bonds", "record", "012345678", "cancelled", "--reason", "status-granted",
           "--date", "2025-11-24 09:00")
    english = letter(bonded, tmp_path, "refund-packet", "en")
    assert ("Debt Management Center Attn: Bond Unit P.O. Box 5000 Williston, VT 05495-5000"
            in english)
    assert "Request for the refund of a cancelled immigration bond, A-number A012-345-678" \
        in english
    assert "Bond amount $1,500.00" in english and "Receipt (Form I-305) I305-0042" in english
    assert "Cancelled (Form I-391) November 24, 2025" in english
    assert "Obligor Rosa Núñez, +1 773-555-0101" in english
    assert "Designee (Form I-312) Elena Núñez" in english and "Signature:" in english
    spanish = letter(bonded, tmp_path, "refund-packet", "es")
    assert "Cómo pedir la devolución de la fianza de José Núñez" in spanish
    assert "Cancelada (formulario I-391) 24 de noviembre de 2025" in spanish
    # The cover letter itself goes to ICE in English, with English dates.
    assert "To the Debt Management Center:" in spanish
    assert "Cancelled (Form I-391) November 24, 2025" in spanish


def test_a_bond_letter_goes_only_to_bonds_in_that_state(bonded: Cli, tmp_path: Path) -> None:
    made = bonded("notices", "render", "--kind", "refund-packet", "--out", tmp_path / "x").output
    assert "0 refund-packet letter(s)" in made
