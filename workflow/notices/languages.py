"""Language access: who needs an interpreter rather than a letter they can read.

Every person's primary language is required at import (an explicit ``unknown``
is allowed, and listed so someone finds out). A language is written-served
when ``templates/notices/<code>/`` exists; any other language needs an
interpreter, and so do the languages usually served orally (Mam, K'iche',
Q'anjob'al and other Mayan and Mesoamerican languages) even if a written
template is added for them one day.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from workflow import resource
from workflow.core.stages import OUTSTANDING
from workflow.record.db import flushed
from workflow.record.schema import OrderRow, detainees

if TYPE_CHECKING:
    from workflow.record.db import Reader

UNKNOWN = "unknown"
# ISO 639-3 codes of languages usually served orally in immigration detention.
ORAL = frozenset({
    "mam", "quc", "kjb", "cak", "kek", "acr", "ixl", "jac", "poh", "tzh", "tzo", "ctu", "chj",
    "mix", "zap", "nah", "ttc", "usp",
})
NO_TEMPLATE, ORAL_LANGUAGE = "no written templates", "usually served orally"
_OUTSTANDING = sorted(s.value for s in OUTSTANDING)


def written_languages() -> set[str]:
    """Languages with a letter template folder (``templates/notices/<code>/``)."""
    folder = resource("templates", "notices")
    return {path.name for path in folder.iterdir() if path.is_dir()} if folder.is_dir() else set()


def interpreter_reason(language: str | None, written: set[str] | None = None) -> str | None:
    """Why a person with ``language`` needs an interpreter, or None (unknown is not a reason:
    it is listed on its own)."""
    if not language or language == UNKNOWN:
        return None
    if language in ORAL:
        return ORAL_LANGUAGE
    if language not in (written_languages() if written is None else written):
        return NO_TEMPLATE
    return None


def interpreter_needed(reader: Reader, order: OrderRow,
                       outstanding_only: bool = False) -> dict[str, list[int]]:
    """Language code → ids of the people who need an interpreter (letters code calls this)."""
    written = written_languages()
    found: dict[str, list[int]] = defaultdict(list)
    for person_id, language in _languages(reader, order, outstanding_only):
        if language and interpreter_reason(language, written):
            found[language].append(person_id)
    return dict(sorted(found.items()))


def language_unknown(reader: Reader, order: OrderRow,
                     outstanding_only: bool = False) -> list[int]:
    """Ids of the people whose language is ``unknown`` (or was never recorded)."""
    return [person_id for person_id, language in _languages(reader, order, outstanding_only)
            if not language or language == UNKNOWN]


def _languages(reader: Reader, order: OrderRow,
               outstanding_only: bool) -> list[tuple[int, str | None]]:
    query = select(detainees.c.id, detainees.c.language).where(detainees.c.order_id == order.id)
    if outstanding_only:
        query = query.where(detainees.c.stage.in_(_OUTSTANDING))
    return [(row[0], row[1]) for row in flushed(reader).execute(query.order_by(detainees.c.id))]


def status_block(reader: Reader, order: OrderRow) -> dict[str, object]:
    """For status: outstanding people who need an interpreter (per language) or whose language
    is unknown, counted in the database (status reads no rows per person)."""
    counts = flushed(reader).execute(
        select(detainees.c.language, func.count())
        .where(detainees.c.order_id == order.id, detainees.c.stage.in_(_OUTSTANDING))
        .group_by(detainees.c.language)).all()
    written = written_languages()
    needed = {code: n for code, n in sorted(counts, key=lambda row: row[0] or "")
              if interpreter_reason(code, written)}
    return {
        "interpreter_needed": sum(needed.values()),
        "interpreter_needed_by_language": needed,
        "language_unknown": sum(n for code, n in counts if not code or code == UNKNOWN),
    }
