"""Reading the spreadsheets staff are sent: CSV (UTF-8, BOM or not, CRLF or LF; Windows-1252
when asked or detected) or XLSX (the sheet named, else the one whose header fits best).

A reader maps headers to canonical column names through aliases (workflow/intake/headers.py)
and hands back raw text cells with their line numbers; callers validate the values.
The header may sit below a preamble (a title, a data source, a group-header row), as in
the government's own workbooks: the row among the first few that names the most known
columns is the header. A redaction marker ("b(6), b(7)c") reads as a withheld, empty
cell, not as bad data. Problems read as ``FILE:LINE: column: message`` and never quote
a cell.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

from workflow.core.errors import ValidationError
from workflow.core.files import inert, private_file

MAX_CELL = 2000
MAX_FILE_BYTES = 200 * 1024 * 1024
# Class lists and custody lists are thousands of lines; a million is a hostile file.
MAX_ROWS = 1_000_000
# How far below the top a header may sit (ICE's statistics workbook: row 10).
HEADER_SEARCH_ROWS = 30
# FOIA exemption markers: "b(6)", "(b)(6), (b)(7)(C)", "b6; b7c".
_EXEMPTION = r"\(?b\)?\s*\(?\s*[1-9]\s*\)?\s*(?:\(?\s*[a-f]\s*\)?)?"
_WITHHELD = re.compile(rf"\s*{_EXEMPTION}(?:\s*[,;/&]?\s*{_EXEMPTION})*\s*", re.IGNORECASE)
# What every marker contains (a "b", then a digit): a row without it has no marker.
_MAYBE_WITHHELD = re.compile(r"b\)?\s*\(?\s*[1-9]", re.IGNORECASE)
_NONE_WITHHELD: frozenset[str] = frozenset()
ENCODINGS = ("utf-8", "cp1252", "auto")


@dataclass(frozen=True)
class Row:
    line: int
    cells: Mapping[str, str]  # canonical column → stripped text ("" when empty or withheld)
    withheld: frozenset[str] = _NONE_WITHHELD  # columns whose cell is a redaction marker

    def get(self, column: str) -> str:
        return self.cells.get(column, "")

    def parsed(self, column: str, parse: Any, errors: list[tuple[str, str]]) -> Any:
        """``parse`` of the cell, or None if it is empty; a ValueError is added to ``errors`` as
        (column, message), so every reader reports a bad cell the same way."""
        text = self.get(column)
        if not text:
            return None
        try:
            return parse(text)
        except ValueError as exc:
            errors.append((column, str(exc)))
            return None


@dataclass
class Table:
    path: Path
    problems: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    # line → its problems, so a caller can skip or reject whole rows
    bad_lines: dict[int, list[str]] = field(default_factory=dict)
    present: set[str] = field(default_factory=set)  # canonical columns the header has
    notes: list[str] = field(default_factory=list)  # worth saying, not wrong (encoding, sheet)
    header_line: int = 1
    # The rows as read: (line, cells in ``columns`` order), so a caller that reads every row
    # of a long list can take its columns by index; ``rows`` gives them as Row objects.
    columns: tuple[str, ...] = ()
    records: list[tuple[int, list[str]]] = field(default_factory=list)
    withheld: dict[int, frozenset[str]] = field(default_factory=dict)  # only lines with any

    def row(self, line: int, cells: list[str]) -> Row:
        return Row(line, dict(zip(self.columns, cells, strict=True)),
                   self.withheld.get(line, _NONE_WITHHELD))

    @cached_property
    def rows(self) -> list[Row]:
        return [self.row(line, cells) for line, cells in self.records]

    def problem(self, line: int | None, column: str, message: str) -> None:
        where = f"{self.path.name}:{line}" if line else self.path.name
        self.problems.append(f"{where}: {column}: {message}")
        if line:
            self.bad_lines.setdefault(line, []).append(f"{column}: {message}")

    def good_rows(self) -> list[Row]:
        return [row for row in self.rows if row.line not in self.bad_lines]

    def good_records(self) -> list[tuple[int, list[str]]]:
        return [record for record in self.records if record[0] not in self.bad_lines]

    def sort_problems(self) -> None:
        """Problems in line order, as a person reads the file."""
        self.problems.sort(key=_problem_line)


def _problem_line(problem: str) -> int:
    parts = problem.split(":", 2)
    return int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else 0


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9#]+", "_", header.strip().lower()).strip("_")


def read(path: Path, columns: Mapping[str, tuple[str, ...]], required: tuple[str, ...], *,
         encoding: str = "auto", sheet: str | None = None) -> Table:
    """Read ``path``; a file that cannot be read at all raises, cell problems are collected.

    ``encoding`` is for CSV: "auto" (UTF-8, else Windows-1252 with a note: what Excel writes
    as plain "CSV" on Windows), "utf-8" or "cp1252". ``sheet`` names the XLSX sheet; without it
    the sheet whose header fits best."""
    aliases = {_key(alias): name for name, names in columns.items() for alias in (name, *names)}
    table = Table(path=path)
    header_line, header, raw_rows = _header(path, aliases, encoding, sheet, table.notes)
    table.header_line = header_line
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
    table.present = set(positions)
    for name in required:
        if name not in positions:
            table.problem(header_line, name, "required column is missing")
    if table.problems:
        return table
    table.columns = names = tuple(positions)
    indexes = tuple(positions.values())
    width = len(header)
    for line, cells in raw_rows:
        if not "".join(cells).strip():
            continue
        if len(table.records) == MAX_ROWS:
            raise ValidationError(f"{path.name}: more than {MAX_ROWS:,} rows")
        if len(cells) >= width:
            values = [cells[index].strip() for index in indexes]
        else:
            values = [_cell(cells, index) for index in indexes]
        if len(cells) > width and "".join(cells[width:]).strip():
            table.problem(line, "(row)", "more cells than there are columns")
        # One look at the whole row: a cell can only be a marker, too long or hold a NUL if
        # the joined row is, so most rows skip the checks cell by cell.
        joined = "\n".join(values)
        if _MAYBE_WITHHELD.search(joined) or "\x00" in joined or len(joined) > MAX_CELL:
            withheld = frozenset(name for name, value in zip(names, values, strict=True)
                                 if is_withheld(value))
            if withheld:
                table.withheld[line] = withheld
            for at, name in enumerate(names):
                if name in withheld:
                    values[at] = ""
                elif len(values[at]) > MAX_CELL:
                    table.problem(line, name, f"longer than {MAX_CELL} characters")
                elif "\x00" in values[at]:
                    table.problem(line, name, "contains a NUL character")
        table.records.append((line, values))
    if not table.records:
        # A header alone is a list cut short, never "nobody": a custody list read as empty
        # would flag everyone missing.
        raise ValidationError(f"{path.name}: no rows under the header: nothing was read")
    return table


def is_withheld(text: str) -> bool:
    """Whether a cell is a FOIA redaction marker such as ``b(6), b(7)c``."""
    return _WITHHELD.fullmatch(text) is not None


def _header(path: Path, aliases: Mapping[str, str], encoding: str, sheet: str | None,
            notes: list[str]) -> tuple[int, list[str], Iterator[tuple[int, list[str]]]]:
    """The header row (line, cells) and the rows after it: in a workbook, from the sheet
    whose header names the most known columns (the first sheet when none does)."""
    _check_size(path)
    suffix = _suffix(path)
    if suffix in (".csv", ".txt"):
        rows = _csv_rows(path, encoding, notes)
        top = list(itertools.islice(rows, HEADER_SEARCH_ROWS))
        if not top:
            raise ValidationError(f"{path.name}: the file is empty")
        at = _best_row(top, aliases)[1]
        return top[at][0], top[at][1], itertools.chain(top[at + 1:], rows)
    if suffix not in (".xlsx", ".xlsm"):
        raise ValidationError(f"{path.name}: not a .csv or .xlsx file")
    workbook = _open_workbook(path)
    try:
        names = _sheet_names(path, workbook, sheet)
        best: tuple[int, str, int] | None = None
        for name in names:
            top = list(itertools.islice(_xlsx_records(path, workbook[name]), HEADER_SEARCH_ROWS))
            score, at = _best_row(top, aliases) if top else (-1, 0)
            if top and (best is None or score > best[0]):
                best = (score, name, at)
        if best is None:
            raise ValidationError(f"{path.name}: the file is empty")
    except BaseException:
        workbook.close()
        raise
    score, name, at = best
    if len(names) > 1 and score:
        notes.append(f"{path.name}: read sheet {name!r} (its header is on row {at + 1})")
    rows = _closing(workbook, _xlsx_records(path, workbook[name]))
    line, header = next(itertools.islice(rows, at, None))
    return line, header, rows


def _suffix(path: Path) -> str:
    """``.csv`` for list.csv and list.csv.gz (DETLOC lists come gzipped)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes[-1:] == [".gz"] and suffixes[-2:-1] in ([".csv"], [".txt"]):
        return suffixes[-2]
    return path.suffix.lower()


def _best_row(top: list[tuple[int, list[str]]], aliases: Mapping[str, str]) -> tuple[int, int]:
    """(how many known columns, index) of the first row that names the most of them."""
    scores = [len({aliases[_key(c)] for c in cells if _key(c) in aliases}) for _, cells in top]
    best = max(scores)
    return best, scores.index(best)


def _sheet_names(path: Path, workbook: Any, sheet: str | None) -> list[str]:
    if sheet is None:
        return list(workbook.sheetnames)
    if sheet not in workbook.sheetnames:
        raise ValidationError(f"{path.name}: no sheet {sheet!r} (it has "
                              f"{', '.join(repr(n) for n in workbook.sheetnames)})")
    return [sheet]


def _closing(workbook: Any, rows: Iterator[tuple[int, list[str]]]
             ) -> Iterator[tuple[int, list[str]]]:
    try:
        yield from rows
    finally:
        workbook.close()


def _cell(cells: list[str], index: int) -> str:
    return cells[index].strip() if index < len(cells) else ""


def _check_size(path: Path) -> None:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ValidationError(f"{path.name}: no such file") from None
    if size > MAX_FILE_BYTES:
        raise ValidationError(f"{path.name}: larger than {MAX_FILE_BYTES // 2**20} MB")


def _csv_rows(path: Path, encoding: str = "auto",
              notes: list[str] | None = None) -> Iterator[tuple[int, list[str]]]:
    data = _gunzipped(path) if path.suffix.lower() == ".gz" else path.read_bytes()
    if b"\x00" in data:
        raise ValidationError(f"{path.name}: binary data, not a CSV text file")
    if encoding == "cp1252":
        return _csv_records(path, _cp1252(path, data))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if encoding == "auto":
            text = _cp1252(path, data)
            if notes is not None:
                notes.append(f"{path.name}: not UTF-8; read as Windows-1252")
            return _csv_records(path, text)
        line = data[: exc.start].count(b"\n") + 1
        raise ValidationError(
            f"{path.name}:{line}: not UTF-8 text (in Excel, save as 'CSV UTF-8')"
        ) from None
    return _csv_records(path, text)


def _gunzipped(path: Path) -> bytes:
    try:
        with gzip.open(path) as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except (OSError, EOFError):
        raise ValidationError(f"{path.name}: not a readable gzip file") from None
    if len(data) > MAX_FILE_BYTES:
        raise ValidationError(f"{path.name}: larger than {MAX_FILE_BYTES // 2**20} MB unpacked")
    return data


def _cp1252(path: Path, data: bytes) -> str:
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValidationError(f"{path.name}:{line}: neither UTF-8 nor Windows-1252 text") from None


def _csv_records(path: Path, text: str) -> Iterator[tuple[int, list[str]]]:
    # DETLOC lists are pipe-delimited: a first line with pipes and no comma says so.
    first = text.split("\n", 1)[0]
    delimiter = next((d for d in "|\t" if d in first and "," not in first), ",")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, delimiter=delimiter)
    line = 1
    try:
        for cells in reader:
            yield line, cells
            line = reader.line_num + 1
    except csv.Error:
        raise ValidationError(
            f"{path.name}:{reader.line_num}: the CSV is malformed (check quotes)"
        ) from None


# What a damaged or hostile workbook raises while it is read (expat refuses entity bombs).
_UNREADABLE = (zipfile.BadZipFile, KeyError, OSError, ValueError, ParseError)


def _open_workbook(path: Path) -> Any:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
        # A few kilobytes can unpack to gigabytes of rows.
        if unpacked > MAX_FILE_BYTES:
            raise ValidationError(f"{path.name}: larger than {MAX_FILE_BYTES // 2**20} MB unpacked")
        return load_workbook(path, read_only=True, data_only=True)
    except _UNREADABLE:
        raise ValidationError(f"{path.name}: not a readable XLSX workbook") from None


def _xlsx_records(path: Path, sheet: Any) -> Iterator[tuple[int, list[str]]]:
    try:
        # The size a workbook declares can be wrong (some exporters write A1:A1); read-only
        # openpyxl would then stop there and drop the rest without a word.
        sheet.reset_dimensions()
        for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield line, [_xlsx_text(v) for v in values]
    except _UNREADABLE:
        raise ValidationError(f"{path.name}: not a readable XLSX workbook") from None


def _xlsx_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == datetime.min.time():
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def write_rejects(path: Path, header: list[str], rows: list[tuple[Mapping[str, str], str]]) -> None:
    """Write rejected rows with their reasons to a private CSV."""
    private_file(path)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([*header, "reason"])
        for cells, reason in rows:
            writer.writerow([inert(cells.get(name, "")) for name in header] + [reason])
