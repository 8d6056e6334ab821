"""Private, inert files: CSV, XLSX and JSON written beside their destination.

Every text cell that a spreadsheet could run as a formula (it begins with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is written as text
(``inert``, the OWASP CSV-injection guidance), in CSV and XLSX alike:
a class list can carry any name, and someone will open the file in Excel.
A file is written as a private (0600) partial file and moved into place only
when the block that writes it (and records it in the audit log) succeeds.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from workflow.core.errors import BondtrackError
from workflow.core.identity import shown


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) readable by its owner only."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_uid == os.getuid():
        path.chmod(0o700)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 unless it exists, so no one else can ever read it.

    An existing file is never opened: closing any descriptor of a SQLite database drops
    every POSIX lock this process holds on it, and SQLite, not knowing, would let another
    process checkpoint and delete the write-ahead log under our open connections.
    """
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        pass
    else:
        os.close(fd)
    path.chmod(0o600)
    return path


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert(value: object) -> object:
    """A cell a spreadsheet will show as text, never run (OWASP CSV injection guidance)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value

FORMATS = ("csv", "xlsx", "json")


@dataclass(frozen=True)
class Sheet:
    """One table of a workbook: its tab title, column names and rows (dicts by column)."""

    title: str
    columns: Sequence[str]
    rows: Sequence[dict[str, Any]]


@dataclass(frozen=True)
class Written:
    """What an export or report wrote: where, how many rows, and the audit event's id."""

    path: Path
    rows: int
    event_id: int


def write_csv(path: Path, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    """UTF-8 with a BOM (so Excel reads accents right), every text cell inert."""
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for row in rows:
            cells = (shown(row, c) for c in columns)
            writer.writerow(["" if cell is None else inert(cell) for cell in cells])


def write_xlsx(path: Path, sheets: Sequence[Sheet]) -> None:
    """One tab per sheet: bold frozen header, filters, real dates; every text cell inert."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    for sheet in sheets:
        tab = workbook.create_sheet(sheet.title[:31])
        tab.freeze_panes = "A2"
        for index, column in enumerate(sheet.columns, start=1):
            tab.column_dimensions[get_column_letter(index)].width = _width(column)
        header = []
        for column in sheet.columns:
            cell = WriteOnlyCell(tab, value=column)
            cell.font = Font(bold=True)
            header.append(cell)
        tab.append(header)
        for row in sheet.rows:
            tab.append([_xlsx_cell(tab, shown(row, c), WriteOnlyCell) for c in sheet.columns])
        if sheet.columns:
            last = get_column_letter(len(sheet.columns))
            tab.auto_filter.ref = f"A1:{last}{len(sheet.rows) + 1}"
    workbook.save(path)


def _width(column: str) -> float:
    return max(10.0, min(40.0, len(column) * 1.3))


# How our data carries times: ISO 8601 with the court's offset, 2025-11-21T12:00:00-06:00.
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{2}:\d{2}$")


def _xlsx_cell(tab: Any, value: Any, cell_class: Any) -> Any:
    """Times become real Excel times (court wall time); text stays text, never a formula."""
    if isinstance(value, str) and _ISO_TIME.match(value):
        cell = cell_class(tab, value=datetime.fromisoformat(value).replace(tzinfo=None))
        cell.number_format = "yyyy-mm-dd hh:mm"
        return cell
    return inert(value)


def write_json(path: Path, data: Any) -> None:
    with path.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=2, default=str)
        fh.write("\n")


def format_for(path: Path, fmt: str | None, formats: Sequence[str]) -> str:
    """The format asked for, else the one the file name ends in; anything else is refused."""
    chosen = (fmt or path.suffix.lstrip(".")).lower()
    if chosen not in formats:
        raise BondtrackError(
            f"cannot tell the format from '{path.name}': give --format ({'|'.join(formats)})"
        )
    return chosen


@contextmanager
def private_output(path: Path) -> Iterator[Path]:
    """A private partial file beside ``path``, moved into place only if the block succeeds."""
    if path.is_dir():
        raise BondtrackError(f"{path} is a folder: give a file name")
    if not path.parent.exists():
        ensure_private_dir(path.parent)
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        private_file(partial)
    except OSError as exc:
        raise BondtrackError(f"cannot write {path}: {exc.strerror}") from None
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
