"""Reading the spreadsheets staff are sent: CSV (UTF-8, BOM or not, CRLF or LF) or XLSX.

A reader maps headers to canonical column names through aliases and hands
back raw text cells with their line numbers; callers validate the values.
Problems read as ``FILE:LINE: column: message`` and never quote a cell.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

from workflow.errors import ValidationError

MAX_CELL = 2000
MAX_FILE_BYTES = 200 * 1024 * 1024
# Class lists and custody lists are thousands of lines; a million is a hostile file.
MAX_ROWS = 1_000_000


@dataclass(frozen=True)
class Row:
    line: int
    cells: Mapping[str, str]  # canonical column → stripped text ("" when empty)

    def get(self, column: str) -> str:
        return self.cells.get(column, "")


@dataclass
class Table:
    path: Path
    rows: list[Row]
    problems: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    # line → its problems, so a caller can skip or reject whole rows
    bad_lines: dict[int, list[str]] = field(default_factory=dict)

    def problem(self, line: int | None, column: str, message: str) -> None:
        where = f"{self.path.name}:{line}" if line else self.path.name
        self.problems.append(f"{where}: {column}: {message}")
        if line:
            self.bad_lines.setdefault(line, []).append(f"{column}: {message}")

    def good_rows(self) -> list[Row]:
        return [row for row in self.rows if row.line not in self.bad_lines]

    def sort_problems(self) -> None:
        """Problems in line order, as a person reads the file."""
        self.problems.sort(key=_problem_line)


def _problem_line(problem: str) -> int:
    parts = problem.split(":", 2)
    return int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else 0


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9#]+", "_", header.strip().lower()).strip("_")


def read(path: Path, columns: Mapping[str, tuple[str, ...]], required: tuple[str, ...]) -> Table:
    """Read ``path``; a file that cannot be read at all raises, cell problems are collected."""
    aliases = {_key(alias): name for name, names in columns.items() for alias in (name, *names)}
    raw_rows = _raw_rows(path)
    table = Table(path=path, rows=[])
    try:
        header_line, header = next(raw_rows)
    except StopIteration:
        raise ValidationError(f"{path.name}: the file is empty") from None
    positions: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = aliases.get(_key(cell))
        if name is None:
            if cell.strip():
                table.ignored_columns.append(cell.strip()[:60])
        elif name in positions:
            table.problem(header_line, name, "this column appears twice")
        else:
            positions[name] = index
    for name in required:
        if name not in positions:
            table.problem(header_line, name, "required column is missing")
    if table.problems:
        return table
    for line, cells in raw_rows:
        if not any(cell.strip() for cell in cells):
            continue
        if len(table.rows) == MAX_ROWS:
            raise ValidationError(f"{path.name}: more than {MAX_ROWS:,} rows")
        values = {name: _cell(cells, index) for name, index in positions.items()}
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
            table.problem(line, "(row)", "more cells than there are columns")
        for name, value in values.items():
            if len(value) > MAX_CELL:
                table.problem(line, name, f"longer than {MAX_CELL} characters")
            elif "\x00" in value:
                table.problem(line, name, "contains a NUL character")
        table.rows.append(Row(line=line, cells=values))
    return table


def _cell(cells: list[str], index: int) -> str:
    return cells[index].strip() if index < len(cells) else ""


def _raw_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    suffix = path.suffix.lower()
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ValidationError(f"{path.name}: no such file") from None
    if size > MAX_FILE_BYTES:
        raise ValidationError(f"{path.name}: larger than {MAX_FILE_BYTES // 2**20} MB")
    if suffix in (".csv", ".txt"):
        return _csv_rows(path)
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_rows(path)
    raise ValidationError(f"{path.name}: not a .csv or .xlsx file")


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    data = path.read_bytes()
    if b"\x00" in data:
        raise ValidationError(f"{path.name}: binary data, not a CSV text file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValidationError(
            f"{path.name}:{line}: not UTF-8 text (in Excel, save as 'CSV UTF-8')"
        ) from None
    return _csv_records(path, text)


def _csv_records(path: Path, text: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error:
            raise ValidationError(
                f"{path.name}:{reader.line_num}: the CSV is malformed (check quotes)"
            ) from None
        yield line, cells
        line = reader.line_num + 1


# What a damaged or hostile workbook raises while it is read (expat refuses entity bombs).
_UNREADABLE = (zipfile.BadZipFile, KeyError, OSError, ValueError, ParseError)


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
        # A few kilobytes can unpack to gigabytes of rows.
        if unpacked > MAX_FILE_BYTES:
            raise ValidationError(f"{path.name}: larger than {MAX_FILE_BYTES // 2**20} MB unpacked")
        workbook = load_workbook(path, read_only=True, data_only=True)
    except _UNREADABLE:
        raise ValidationError(f"{path.name}: not a readable XLSX workbook") from None
    return _xlsx_records(path, workbook)


def _xlsx_records(path: Path, workbook: Any) -> Iterator[tuple[int, list[str]]]:
    try:
        sheet = workbook.worksheets[0]
        # The size a workbook declares can be wrong (some exporters write A1:A1); read-only
        # openpyxl would then stop there and drop the rest without a word.
        sheet.reset_dimensions()
        for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield line, [_xlsx_text(v) for v in values]
    except _UNREADABLE:
        raise ValidationError(f"{path.name}: not a readable XLSX workbook") from None
    finally:
        workbook.close()


def _xlsx_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert(value: object) -> object:
    """A cell a spreadsheet will show as text, never run (OWASP CSV injection guidance)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_rejects(path: Path, header: list[str], rows: list[tuple[Mapping[str, str], str]]) -> None:
    """Write rejected rows with their reasons to a private CSV."""
    from workflow.db import private_file

    private_file(path)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([*header, "reason"])
        for cells, reason in rows:
            writer.writerow([inert(cells.get(name, "")) for name in header] + [reason])
