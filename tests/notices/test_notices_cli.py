"""`bondtrack notices` as staff type it: render, send, list, resolve."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.fixtures_notices import HOSTILE_FAMILY, Letters, Mailbox, SmtpServer, folded, pdf_text
from tests.support import README
from workflow.cli import notices as notices_cli
from workflow.notices import letters
from workflow.record import outbox


def test_render_prints_counts_and_who_needs_a_translation_by_id_only(
        letters_order: Letters, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "letters"
    output = cli("notices", "render", "--kind", "client", "--out", out).output
    pt, quc = letters_order.person_id("089012345"), letters_order.person_id("098765432")
    assert f"10 client letter(s) in {out}" in output
    assert "languages: en 4, es 6" in output
    assert f"needs a translation into 'pt' (sent in English): person #{pt}" in output
    assert f"needs a translation into 'quc' (sent in English): person #{quc}" in output
    assert f"interpreter needed ('quc', usually served orally): person #{quc}" in output
    assert f"interpreter needed ('pt', no written templates): person #{pt}" in output
    assert output.count("interpreter needed") == 2  # Spanish and English are written-served
    for private in ("Núñez", "012345678", "A012-345-678", HOSTILE_FAMILY):
        assert private not in output
    assert len(list(out.glob("client-person-*.pdf"))) == 10


def test_render_demand_one_file_as_json(letters_order: Letters, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "demand"
    summary = json.loads(cli("notices", "render", "--kind", "demand", "--one-file", "--out", out,
                             "--json").output)
    assert summary["letters"] == 3  # Chicago, Detroit, Miami
    assert summary["files"] == [str(out / "demand-letters.pdf")]
    assert summary["without_field_office"] == [letters_order.person_id("090123456")]
    pages = pdf_text(out / "demand-letters.pdf")
    assert [office for office in ("Chicago", "Detroit", "Miami")
            if f"{office} Field Office" in pages] == ["Chicago", "Detroit", "Miami"]


def test_render_one_person_as_html(letters_order: Letters, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "one"
    cli("notices", "render", "--kind", "obligor", "--a-number", "A-012-345-678", "--format",
        "html", "--out", out)
    page = (out / f"obligor-person-{letters_order.person_id('012345678')}.html").read_text()
    assert "José Núñez" in page and "Fianza de José Núñez: cómo pagarla" in page
    assert "<style>" in page and "http" not in page.split("<body>")[0]


def test_render_by_stage_and_facility(letters_order: Letters, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "staged"
    cli("notices", "render", "--kind", "client", "--stage", "located", "--facility", "nlakemi",
        "--out", out)
    assert [p.name for p in out.iterdir()] == [
        f"client-person-{letters_order.person_id('089012345')}.pdf"]


@pytest.mark.parametrize("args, message", [
    (("--kind", "client", "--facility", "NOPE"), "no facility NOPE"),
    (("--kind", "demand", "--stage", "RELEASED"), "demand letters list outstanding people only"),
    (("--kind", "client", "--a-number", "999999999"), "no person with that A-number"),
    (("--kind", "client", "--language", "xx"), "there is no client letter in 'xx'"),
])
def test_render_refusals_are_one_line(letters_order: Letters, cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                      args: tuple[str, ...], message: str) -> None:
    result = cli("notices", "render", *args, "--out", tmp_path / "x", ok=False)
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and message in result.output
    assert result.output.count("\n") == 1


def test_list_shows_the_outbox(letters_order: Letters, smtp_server: SmtpServer, mailbox: Mailbox,
                               cli) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    assert cli("notices", "send").output.strip() == (
        "queued 2, sent 2, retrying 0, failed 0, needs-review 0")
    # A run's clock moves on by the real seconds it takes (its leases must hold), so on a
    # loaded machine a message may be sent a second or more after the frozen instant.
    took = timedelta(seconds=int(time.monotonic() - started))
    assert "Outbox, order 1:18-cv-03757" in cli("notices", "list").output
    lines = cli("notices", "list", "--csv").output.splitlines()
    assert lines[0] == "id,kind,channel,person,recipient,status,attempts,sent_at,error"
    *fields, sent_at, error = lines[1].split(",")
    assert fields == ["2", "obligor", "email", str(letters_order.person_id("034567890")),
                      "evil@example.org", "sent", "0"] and error == ""
    rows = json.loads(cli("notices", "list", "--status", "sent", "--json").output)
    assert {row["recipient"] for row in rows} == {"ana.nunez@example.org", "evil@example.org"}
    frozen = datetime.fromisoformat("2025-11-20T12:00:00-06:00")
    for when in (sent_at, rows[0]["sent_at"]):
        assert when.endswith("-06:00")  # court time, CST
        assert frozen <= datetime.fromisoformat(when) <= frozen + took
    assert json.loads(cli("notices", "list", "--status", "failed", "--json").output) == []


def test_send_refuses_a_kind_nobody_queues(letters_order: Letters, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("notices", "send", "--kind", "alrt", ok=False)
    assert result.exit_code == 1
    assert result.output == "Error: no e-mails of kind alrt; kinds: alert, digest, obligor\n"


def test_the_cli_offers_exactly_what_the_core_knows() -> None:
    assert notices_cli.LETTER_KINDS == letters.LETTER_KINDS
    assert notices_cli.STATUSES == outbox.STATUSES


def test_the_obligor_email_text_matches_its_letter(letters_order: Letters, smtp_server: SmtpServer,
                                                   mailbox: Mailbox, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from email import message_from_bytes, policy

    cli("notices", "send", "--kind", "obligor")
    cli("notices", "render", "--kind", "obligor", "--a-number", "012345678", "--out", tmp_path)
    email = message_from_bytes(mailbox.to("ana.nunez@example.org")[0].content,
                               policy=policy.default)
    person = letters_order.person_id("012345678")
    letter = folded(pdf_text(tmp_path / f"obligor-person-{person}.pdf"))
    said = folded(email.get_body(("plain",)).get_content())
    for sentence in ("Guárdelo: lo necesita para recuperar el dinero cuando termine el caso.",
                     "ICE recibe fianzas los lunes, martes, miércoles, jueves y viernes"):
        assert sentence in said and sentence in letter


def readme_commands() -> list[list[str]]:
    import re
    import shlex

    text = README.read_text()
    section = text.split("## Letters and e-mails", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    return [shlex.split(line) for line in block.splitlines() if line.strip()]


def test_the_readme_commands_run_as_written(letters_order: Letters, smtp_server: SmtpServer,
                                            mailbox: Mailbox, cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    commands = readme_commands()
    assert len(commands) == 8 and all(argv[0] == "bondtrack" for argv in commands)
    for argv in commands:
        cli(*argv[1:])
    made = {p.name for p in (tmp_path / "letters").iterdir()}
    assert {"client-letters.pdf", "demand-chicago.pdf",
            f"obligor-person-{letters_order.person_id('012345678')}.html"} <= made
    assert len(mailbox.messages) == 2


def test_send_delivers_every_kind_in_the_outbox_unless_told_otherwise(
        letters_order: Letters, smtp_server: SmtpServer, mailbox: Mailbox, cli) -> None:  # type: ignore[no-untyped-def]
    from tests.fixtures_notices import NOW, order_of
    from workflow.record.outbox import enqueue_email

    with letters_order.database.write() as session:
        enqueue_email(session, order=order_of(session, letters_order.order_id),
                      kind="client-update", recipient="jose@example.org", subject="s",
                      html="<p>h</p>", text="h", key="client-update:1", now=NOW,
                      settings=letters_order.settings)
    assert json.loads(cli("notices", "send", "--kind", "alert", "--json").output)["sent"] == 0
    assert json.loads(cli("notices", "send", "--json").output)["sent"] == 3
    assert [len(mailbox.to(a)) for a in ("jose@example.org", "ana.nunez@example.org")] == [1, 1]


def test_render_shows_a_progress_bar_on_a_terminal(letters_order: Letters, cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich then treats stderr as a terminal
    output = cli("notices", "render", "--kind", "client", "--out", tmp_path / "bar").output
    for phase in ("rendering", "laying out", "writing"):
        assert phase in output
    assert "10 client letter(s)" in output
