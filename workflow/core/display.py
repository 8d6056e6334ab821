"""Times, durations and stages as people read them: one formatting module for the browser,
CLI tables and e-mails. JSON and CSV keep ISO 8601, numbers and stage codes; this is for eyes.

- An instant is shown in a named zone: ``Fri 21 Nov 2025, 12:00 CST`` (the zone's own
  abbreviation, so it follows its DST rules), never an ISO timestamp with microseconds.
- A duration is its two largest units: ``2 d 4 h``, ``3 h 5 min``, ``45 min``; ``3 h ago``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from workflow.core import clock, stages

# English names, whatever the process's locale: a CLI table and an e-mail read the same.
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def moment(value: datetime | str | None, tz: str) -> str:
    """``Fri 21 Nov 2025, 12:00 CST``: an aware instant (or its ISO 8601 text) in zone ``tz``."""
    if value is None or value == "":
        return ""
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    if instant.tzinfo is None:  # stored times are UTC
        instant = instant.replace(tzinfo=UTC)
    local = clock.local(instant, tz)
    return (f"{_DAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]} {local.year},"
            f" {local:%H:%M} {zone_name(local)}")


def zone_name(local: datetime) -> str:
    """The zone's abbreviation at that wall time (``CST``, ``CDT``); ``UTC-03`` where the
    zone has no letters for it."""
    name = local.tzname() or ""
    return f"UTC{name}" if name[:1] in "+-" else name


def day(value: datetime | str | None, tz: str) -> str:
    """``Wednesday 14 January 2026``: the day an instant falls on in zone ``tz``."""
    from babel.dates import format_datetime

    if value is None or value == "":
        return ""
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    return format_datetime(instant, "EEEE d MMMM y", tzinfo=clock.zone(tz), locale="en_US")


def span(seconds: float) -> str:
    """``2 d 4 h``, ``3 h 5 min``, ``45 min``, ``0 min``: the two largest units of a duration."""
    days, hours, minutes = clock.duration_parts(seconds)
    parts = [f"{n} {unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "min")) if n]
    return " ".join(parts[:2]) or "0 min"


def ago(seconds: float) -> str:
    """``3 h ago``, ``2 d 4 h ago``; ``just now`` under a minute."""
    return "just now" if abs(seconds) < 60 else f"{span(seconds)} ago"


def time_left(seconds: float) -> str:
    """``time left 1 d 3 h`` before a deadline, ``past the deadline by 2 h`` after it: nobody
    reads "-375d 02h 43m" as a deadline missed a year ago."""
    return " ".join(time_left_parts(seconds))


def time_left_parts(seconds: float) -> tuple[str, str]:
    """(``time left``, ``1 d 3 h``) or (``past the deadline by``, ``2 h``), for a label and
    its value."""
    return "past the deadline by" if seconds < 0 else "time left", span(seconds)


def stage(code: str | None) -> str:
    """``BOND_SET`` → ``Bond set``, from the stage table."""
    return stages.word(code) if code else ""


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 move``, ``2 moves``, ``0 people`` (``many`` for an irregular plural)."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


def dollars(cents: int | None) -> str:
    """``$1,500`` (``$1,500.50`` with cents)."""
    if cents is None:
        return ""
    whole, part = divmod(cents, 100)
    return f"${whole:,}" + (f".{part:02d}" if part else "")


# The names of a person's and a bond's fields in a sentence.
_FIELD_WORDS = {
    "amount_cents": "bond amount", "conditions": "conditions", "obligor_name": "obligor",
    "obligor_relationship": "obligor's relationship", "obligor_phone": "obligor's phone",
    "obligor_email": "obligor's e-mail", "receipt": "I-305 receipt", "method": "payment method",
    "facility": "facility", "reason": "reason", "note": "note", "text": "note",
    "imposed": "imposed by ICE", "bond": "bond", "bond_event": "bond event",
}


def history(events: list[dict], tz: str = "UTC") -> list[str]:
    """One sentence per event of a person's history, oldest first ("bond amount changed from
    $1,500 to $3,000"), from the events as ``reports.person_record`` gives them; a time in
    an event reads in zone ``tz``."""
    amount: int | None = None
    said = []
    for event in events:
        payload = event.get("payload") or {}
        sentence, amount = _sentence(event["kind"], payload, amount, tz)
        said.append(sentence)
    return said


def _sentence(kind: str, payload: dict, amount: int | None,
              tz: str) -> tuple[str, int | None]:
    if kind == "bond":
        new = payload.get("amount_cents")
        others = [_FIELD_WORDS.get(f, f.replace("_", " ")) for f in payload.get("changed", [])
                  if f != "amount_cents"]
        if amount is None:
            said = f"bond set at {dollars(new)}"
        elif new != amount:
            said = f"bond amount changed from {dollars(amount)} to {dollars(new)}"
        else:
            said = "bond amended"
        if others:
            said += f"; {', '.join(others)} {'recorded' if amount is None else 'changed'}"
        return said, new
    if kind == "post":
        method = payload.get("method")
        receipt = "with" if payload.get("receipt") else "without"
        return (f"bond posted{' by ' + method if method else ''}, {receipt} an I-305 receipt",
                amount)
    if kind in ("locate", "transfer") and payload.get("facility"):
        where = "located at" if kind == "locate" else "transferred to"
        return f"{where} {payload['facility']}", amount
    words = kind.replace("-", " ").replace("_", " ")
    details = [_detail(name, value, tz) for name, value in sorted(payload.items())
               if value not in (None, "", [], {})]
    return (f"{words}: {'; '.join(details)}" if details else words), amount


# An instant as the record stores it in a payload: ISO 8601 with a time.
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _detail(name: str, value: object, tz: str) -> str:
    label = _FIELD_WORDS.get(name, name.replace("_", " "))
    if value is True:
        return f"{label} given"
    if value is False:
        return f"no {label}"
    if isinstance(value, list):
        items = (_FIELD_WORDS.get(str(v), str(v).replace("_", " ")) for v in value)
        return f"{label}: {', '.join(items)}"
    if isinstance(value, dict):
        return f"{label}: " + ", ".join(_detail(k, v, tz) for k, v in sorted(value.items()))
    if isinstance(value, str) and _INSTANT.match(value):
        try:
            return f"{label}: {moment(value, tz)}"
        except ValueError:  # not an instant after all: as it was written
            return f"{label}: {value}"
    if name.endswith("_cents") and isinstance(value, int):
        return f"{label.removesuffix(' cents')}: {dollars(value)}"
    return f"{label}: {value}"
