"""`bondtrack sms`: consent to texts, the texts sent and received, a test text, previews."""

from __future__ import annotations

import os
import socket

import click

from workflow.cli.common import App, human_time, order_option, output_options, pass_app, print_rows
from workflow.core import clock

LIST_COLUMNS = ("id", "person", "kind", "language", "to", "status", "delivery", "error_code",
                "segments", "encoding", "queued_at", "sent_at")
PREVIEW_COLUMNS = ("kind", "language", "segments", "encoding", "units", "body")


@click.group()
def sms() -> None:
    """Text messages: consent, what was texted, a test text, previews (SMS is off until
    [sms] is set up)."""


@sms.command("list")
@click.option("--status", help="Only texts in this outbox status (pending, sent, needs-review...).")
@order_option
@output_options
@pass_app
def list_command(app: App, status: str | None, case: str | None, fmt: str) -> None:
    """Every text queued or sent, with its delivery and segments."""
    from workflow.actions import texts

    with app.order_session(case) as (session, court_order):
        rows = texts.text_rows(session, court_order, status=status)
        tz = court_order.time_zone
    off = texts.off_reason(app.settings)
    if off and fmt not in ("json", "csv"):
        click.echo(off)
    if fmt not in ("json", "csv"):
        rows = [{**row, **{key: human_time(row[key], tz) for key in ("queued_at", "sent_at")}}
                for row in rows]
    print_rows(rows, LIST_COLUMNS, fmt, title=f"{len(rows)} texts")


@sms.command()
@click.argument("a_number")
@click.option("--phone", required=True, help="The mobile number, e.g. +1 312 555 0100.")
@click.option("--by", "recorded_by", help="Who took the consent (default: the operator).")
@click.option("--how", type=click.Choice(("in-person", "phone", "form")), required=True,
              help="How the consent was given.")
@click.option("--role", type=click.Choice(("client", "obligor")), default="client",
              show_default=True, help="Whose number it is.")
@order_option
@pass_app
def consent(app: App, a_number: str, phone: str, recorded_by: str | None, how: str, role: str,
            case: str | None) -> None:
    """Record that a person (or their obligor) agreed to be texted at a number."""
    from workflow.actions import texts
    from workflow.record.audit import Actor

    person, number_id = texts.record_consent(
        app.ready(), app.settings, case, a_number, role=role, phone=phone, how=how,
        actor=Actor(recorded_by or app.settings.operator), now=clock.now())
    click.echo(f"consent to texts recorded for person #{person}'s {role} (number #{number_id})")
    if off := texts.off_reason(app.settings):
        click.echo(off)


@sms.command()
@click.argument("a_number")
@click.option("--role", type=click.Choice(("client", "obligor")), default="client",
              show_default=True, help="Whose consented number to text.")
@order_option
@pass_app
def test(app: App, a_number: str, role: str, case: str | None) -> None:
    """Send a test text at once (quiet hours do not hold it: the person is with you)."""
    from workflow.actions import texts

    sent = texts.send_test_text(app.ready(), app.settings, case=case, a_number=a_number,
                                role=role, actor=app.actor(), now=clock.now())
    click.echo(f"test text #{sent['notice']}: {sent['outcome']}")
    if sent["outcome"] != "sent":
        raise SystemExit(1)


@sms.command()
@pass_app
def send(app: App) -> None:
    """Send the texts that are due now (the alert check queues them), paced and in order."""
    from workflow.actions import texts

    counts = texts.deliver(app.ready(), app.settings, now=clock.now(),
                           worker=f"{socket.gethostname()}:{os.getpid()}")
    click.echo(", ".join(f"{name} {count}" for name, count in counts.items()))


@sms.command()
@click.option("--language", help="Only this language (en, es, ...).")
@output_options
@pass_app
def preview(app: App, language: str | None, fmt: str) -> None:
    """Every text as a sample person would get it, with its segments (GSM-7 or UCS-2)."""
    from workflow.actions import texts

    rows = [{"kind": t.kind, "language": t.language, "segments": t.segments.count,
             "encoding": t.segments.encoding, "units": t.segments.units, "body": t.body}
            for t in texts.previews(app.settings, language)]
    if (off := texts.off_reason(app.settings)) and fmt not in ("json", "csv"):
        click.echo(f"{off}: this is what would be sent")
    print_rows(rows, PREVIEW_COLUMNS, fmt, title=f"{len(rows)} texts")


@sms.command()
def check() -> None:
    """List every text a language folder lacks (templates/sms/<language>/); exit 1 if any."""
    from workflow.actions import texts

    gaps = {language: kinds for language, kinds in texts.missing_texts().items() if kinds}
    for language, kinds in gaps.items():
        click.echo(f"{language}: missing {', '.join(kinds)}")
    if gaps:
        raise SystemExit(1)
    click.echo(f"every language has every text: {', '.join(texts.languages())}")
