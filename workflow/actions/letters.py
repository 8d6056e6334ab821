"""Letters and e-mails: render letters to print, send the e-mails owed (each once), the outbox
and a human's verdict on a notice that needs review. Rendering loads Jinja2, Babel and
WeasyPrint, so those load here only when a letter is made.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workflow.core.config import Settings
from workflow.record.audit import Actor
from workflow.record.db import Database

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from workflow.core.pdf import Progress
    from workflow.notices.composing import LetterBatch
    from workflow.record.models import CourtOrder


def letter_kinds() -> tuple[str, ...]:
    """The kinds of letter the tool writes."""
    from workflow.notices.letters import LETTER_KINDS

    return LETTER_KINDS


def render(database: Database, settings: Settings, *, case: str | None, kind: str | None,
           out: Path, now: datetime, actor: Actor, fmt: str = "pdf", one_file: bool = False,
           stage: str | None = None, facility: str | None = None, a_number: str | None = None,
           language: str | None = None, limit: int | None = None,
           progress: Progress | None = None) -> LetterBatch:
    """Render the letters of ``kind`` chosen by the filters into ``out`` (audited); with no
    kind, every letter queued to print (marked printed once written)."""
    from workflow.notices.composing import Filters
    from workflow.notices.renotice import render_queued
    from workflow.notices.sending import render_letters

    common: dict[str, Any] = {"case": case, "out": out, "now": now, "actor": actor,
                              "fmt": fmt, "one_file": one_file, "progress": progress}
    if kind is None:
        return render_queued(database, settings, **common)
    return render_letters(database, settings, kind=kind, language=language, limit=limit,
                          filters=Filters(stage=stage, facility=facility, a_number=a_number),
                          **common)


def send(database: Database, settings: Settings, *, case: str | None, kinds: tuple[str, ...],
         now: datetime, worker: str, dry_run: bool = False) -> dict[str, int]:
    """Queue what is owed, then send the pending e-mails over SMTP, each exactly once."""
    from workflow.notices.sending import send_notices

    return send_notices(database, settings, case=case, kinds=kinds, now=now, worker=worker,
                        dry_run=dry_run)


def outbox_rows(session: Session, order: CourtOrder, *,
                status: str | None = None) -> list[dict[str, Any]]:
    """The order's outbox, newest first (``status``: only notices in that status)."""
    from workflow.notices.sending import list_notices

    return list_notices(session, order, status=status)


def resolve_notice(session: Session, order: CourtOrder, notice_id: int, *, delivered: bool,
                   actor: Actor, now: datetime) -> str:
    """A human's verdict on a notice that needs review; its status now."""
    from workflow.notices.sending import resolve_notice

    return str(resolve_notice(session, order, notice_id, delivered=delivered, actor=actor,
                              now=now).status)


def interpreter_reason(language: str) -> str | None:
    """Why a reader of ``language`` needs an interpreter rather than a letter (None: no
    reason)."""
    from workflow.notices.languages import interpreter_reason

    return interpreter_reason(language)
