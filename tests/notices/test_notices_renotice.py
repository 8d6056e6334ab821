"""Updated letters for people with no e-mail address: queued to print, printed exactly once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.fixtures_notices import (
    NOW,
    STAFF,
    Letters,
    Mailbox,
    SmtpServer,
    english_in,
    folded,
    pdf_text,
)
from workflow.notices import renotice
from workflow.orders import terms
from workflow.record.models import Detainee, Event, Notice

JOSE, MARY, QUICHE = "012345678", "045678901", "098765432"
# Outstanding: José, Ana María, Luis, the hostile name, Pedro, João, Elena (no one has an
# e-mail address); with an obligor: José and the hostile name (e-mail), Pedro (none).
OUTSTANDING = ("012345678", "098765432", "023456789", "034567890", "056789012", "089012345",
               "090123456")
PEDRO = "056789012"


def notices(case: Letters, **where: str) -> list[Notice]:
    with case.database.read() as session:
        query = select(Notice).order_by(Notice.id)
        for column, value in where.items():
            query = query.where(getattr(Notice, column) == value)
        found = list(session.scalars(query))
        session.expunge_all()
    return found


def amend_deadline(cli) -> str:  # type: ignore[no-untyped-def]
    return cli("order", "amend", "--docket", "ECF 200", "--date", "2025-11-19", "--deadline",
               "2025-11-24 12:00").output


def expected_letters(case: Letters, event_id: int) -> list[str]:
    """The file names of the printed letters: kind, person and notice, internal ids only."""
    return sorted(f"{n.kind}-person-{n.detainee_id}-notice-{n.id}.pdf"
                  for n in notices(case, channel="letter") if n.idempotency_key.endswith(
                      f"event-{event_id}"))


def last_change(case: Letters) -> int:
    with case.database.read() as session:
        return session.scalars(select(Event.id).where(Event.kind.in_(renotice.CHANGE_KINDS))
                               .order_by(Event.id.desc())).first()  # type: ignore[return-value]


def test_a_change_queues_letters_to_print_for_those_without_e_mail(letters_order: Letters,
                                                                   cli) -> None:  # type: ignore[no-untyped-def]
    assert ("updated letters: 2 e-mails queued, 8 to print (no e-mail on file)"
            in amend_deadline(cli))
    event = last_change(letters_order)
    printed = notices(letters_order, channel="letter")
    assert sorted((n.kind, n.detainee_id) for n in printed) == sorted(
        [(renotice.CLIENT_UPDATE, letters_order.person_id(a)) for a in OUTSTANDING]
        + [(renotice.OBLIGOR_UPDATE, letters_order.person_id(PEDRO))])
    assert {n.status for n in printed} == {"to-print"}
    assert {n.idempotency_key for n in printed} == {
        renotice.key(n.kind, n.detainee_id, event) for n in printed}  # type: ignore[arg-type]
    assert all(n.recipient is None for n in printed)
    for notice in printed:  # the body waits in the outbox, private
        assert Path(notice.file_path).stat().st_mode & 0o777 == 0o600  # type: ignore[arg-type]
    with letters_order.database.write() as session:  # queueing the change again adds nothing
        order = session.get(Detainee, letters_order.person_id(JOSE)).court_order  # type: ignore[union-attr]
        again = renotice.queue_owed(session, order, letters_order.settings, NOW)
    assert (again.queued, again.to_print) == (0, 0)
    assert len(notices(letters_order)) == 10


def test_render_queued_prints_each_letter_once_and_marks_it_printed(letters_order: Letters,
                                                                    cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    amend_deadline(cli)
    event = last_change(letters_order)
    out = tmp_path / "print"
    output = cli("notices", "render", "--queued", "--out", out).output
    assert f"8 updated letter(s) in {out}" in output
    assert sorted(p.name for p in out.iterdir()) == expected_letters(letters_order, event)
    assert out.stat().st_mode & 0o777 == 0o700
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in out.iterdir())
    jose = next(out.glob(f"client-update-person-{letters_order.person_id(JOSE)}-notice-*.pdf"))
    text = folded(pdf_text(jose))
    assert "lunes, 24 de noviembre de 2025, a las 12:00 p.m." in text and "José Núñez" in text
    assert english_in(text) is None
    printed = notices(letters_order, channel="letter")
    assert {(n.status, n.sent_at is not None) for n in printed} == {("printed", True)}
    with letters_order.database.read() as session:
        audit = session.scalars(select(Event).where(Event.kind == "letters-rendered")).one()
        payload = audit.payload
    assert payload["letters"] == "queued" and payload["count"] == 8
    assert sorted(payload["notices"]) == sorted(n.id for n in printed)
    assert "Núñez" not in json.dumps(payload) and "012345678" not in json.dumps(payload)
    # A second run prints nothing new and leaves the first run's letters alone.
    again = tmp_path / "again"
    assert f"0 updated letter(s) in {again}" in cli("notices", "render", "--queued", "--out",
                                                    again).output
    assert list(again.iterdir()) == []
    listed = json.loads(cli("notices", "list", "--status", "printed", "--json").output)
    assert {(row["channel"], row["recipient"]) for row in listed} == {("letter", None)}
    assert len(listed) == 8


def test_render_queued_flags_interpreters_and_translations_by_id(letters_order: Letters, cli,
                                                                 tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    amend_deadline(cli)
    out = tmp_path / "print"
    output = cli("notices", "render", "--queued", "--one-file", "--out", out).output
    quc, pt = letters_order.person_id(QUICHE), letters_order.person_id("089012345")
    assert f"interpreter needed ('quc', usually served orally): person #{quc}" in output
    assert f"interpreter needed ('pt', no written templates): person #{pt}" in output
    assert f"needs a translation into 'pt' (sent in English): person #{pt}" in output
    for private in ("Núñez", "012345678", "García"):
        assert private not in output
    [one] = list(out.iterdir())
    assert one.name.startswith("updated-letters-") and one.suffix == ".pdf"
    organization = letters_order.settings.section("notices")["organization"]
    pages = pdf_text(one).split("\f")
    assert sum(page.lstrip().startswith(organization) for page in pages) == 8


def test_send_and_render_first_queue_what_a_bulk_change_owes(
        letters_order: Letters, smtp_server: SmtpServer, mailbox: Mailbox, cli,  # type: ignore[no-untyped-def]
        tmp_path: Path) -> None:
    # Terms set the way an `apply` file sets them: no letters queued at the time.
    with letters_order.database.write() as session:
        for a_number in (JOSE, MARY):
            person = session.get(Detainee, letters_order.person_id(a_number))
            terms.set_person_terms(session, person, actor=STAFF, now=NOW, bond_cents=0)  # type: ignore[arg-type]
    assert notices(letters_order) == []
    sent = json.loads(cli("notices", "send", "--json").output)
    # José's obligor (with an address) gets the update by e-mail, with the obligor letters;
    # José and Mary have none: their updates wait to be printed.
    assert sent == {"queued": 3, "sent": 3, "retrying": 0, "failed": 0, "needs-review": 0,
                    "to-print": 2}
    assert len(mailbox.to("ana.nunez@example.org")) == 2  # the obligor letter and its update
    text = cli("notices", "send").output
    assert text == ("queued 0, sent 0, retrying 0, failed 0, needs-review 0\n"
                    "2 letter(s) to print (no e-mail on file):"
                    " `bondtrack notices render --queued --out DIR`\n")
    # Another bulk change; render --queued queues it before printing.
    with letters_order.database.write() as session:
        person = session.get(Detainee, letters_order.person_id(MARY))
        terms.set_person_terms(session, person, actor=STAFF, now=NOW, conditions="atd")  # type: ignore[arg-type]
    out = tmp_path / "print"
    output = cli("notices", "render", "--queued", "--format", "html", "--out", out).output
    assert f"3 updated letter(s) in {out}" in output
    mary = sorted(out.glob(f"client-update-person-{letters_order.person_id(MARY)}-*.html"),
                  key=lambda path: int(path.stem.rsplit("-", 1)[1]))  # by notice: oldest first
    assert len(mary) == 2
    assert "the Alternatives to Detention (ATD) program" in mary[-1].read_text()
    assert "none: release without bond" in mary[-1].read_text()
    assert json.loads(cli("notices", "send", "--json").output)["to-print"] == 0
    assert len(mailbox.messages) == 3  # nothing sent twice


def test_send_dry_run_counts_owed_letters_without_queueing(letters_order: Letters, cli) -> None:  # type: ignore[no-untyped-def]
    with letters_order.database.write() as session:
        person = session.get(Detainee, letters_order.person_id(JOSE))
        terms.set_person_terms(session, person, actor=STAFF, now=NOW, bond_cents=0)  # type: ignore[arg-type]
    counts = json.loads(cli("notices", "send", "--dry-run", "--json").output)
    assert counts == {"would_queue": 3, "would_send": 3, "to-print": 1}
    assert notices(letters_order) == []


def test_a_failed_write_marks_nothing_printed(letters_order: Letters, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    amend_deadline(cli)
    out = tmp_path / "print"
    last = notices(letters_order, channel="letter")[-1]  # letters are written in queue order
    (out / f"{last.kind}-person-{last.detainee_id}-notice-{last.id}.pdf").mkdir(parents=True)
    result = cli("notices", "render", "--queued", "--out", out, ok=False)
    assert result.exit_code == 1
    assert result.output == f"Error: cannot write letters into {out}: Is a directory\n"
    assert len(list(out.iterdir())) == 8
    assert {n.status for n in notices(letters_order, channel="letter")} == {"to-print"}
    assert "8 updated letter(s)" in cli("notices", "render", "--queued", "--out",
                                        tmp_path / "ok").output


def test_a_letter_whose_file_is_gone_fails_with_the_reason(letters_order: Letters, cli,
                                                           tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    amend_deadline(cli)
    lost = notices(letters_order, channel="letter")[0]
    Path(lost.file_path).unlink()  # type: ignore[arg-type]
    output = cli("notices", "render", "--queued", "--out", tmp_path / "print").output
    assert "7 updated letter(s)" in output and "1 queued letter(s) could not be printed" in output
    [failed] = notices(letters_order, status="failed")
    assert failed.id == lost.id and "file is missing" in failed.error  # type: ignore[operator]
    assert cli("notices", "resolve", lost.id, "--delivered").output.strip() == (
        f"notice #{lost.id}: printed")


@pytest.mark.parametrize("args, message", [
    (("--queued", "--kind", "client"), "--queued prints what is queued; it takes no --kind"),
    (("--queued", "--a-number", "012345678"), "it takes no --a-number"),
    ((), "say which letters: --kind client|obligor|demand, or --queued"),
])
def test_render_queued_refuses_a_selection(letters_order: Letters, cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                           args: tuple[str, ...], message: str) -> None:
    result = cli("notices", "render", *args, "--out", tmp_path / "x", ok=False)
    assert result.exit_code == 2 and message in result.output
