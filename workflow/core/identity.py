"""Parsing people's identifiers: A-numbers, names, dates of birth, languages.

Errors say what is wrong with a value, never the value itself.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

# ASCII digits only: \d would let Arabic-Indic or full-width digits through as a different A-number.
_A_NUMBER = re.compile(r"^[Aa]?[\s.-]*((?:[0-9][\s.-]*){8,9})$")
_NOT_DIGIT = re.compile(r"[^0-9]")


def normalize_a_number(text: str) -> str:
    """The 9-digit form of an A-number.

    ``A-012-345-678``, ``a012345678``, ``12345678`` → ``012345678``.
    """
    text = text.strip()
    if len(text) == 9 and text.isascii() and text.isdigit():
        return text  # already the stored form: what most lists hold, read without a regex
    match = _A_NUMBER.match(text)
    if not match:
        raise ValueError("not an A-number (8 or 9 digits, optionally after 'A')")
    digits = _NOT_DIGIT.sub("", match.group(1))
    return digits.zfill(9)


def format_a_number(a_number: str) -> str:
    """How A-numbers are printed on letters and screens: ``A012-345-678``."""
    return f"A{a_number[:3]}-{a_number[3:6]}-{a_number[6:]}"


def a_number_fields(a_number: str) -> dict[str, str]:
    """A row's A-number: canonical (nine digits, what programs join on) and as printed."""
    return {"a_number": a_number, "a_number_display": format_a_number(a_number)}


def shown(row: Mapping[str, Any], column: str) -> Any:
    """A row's cell as people read it in a table or a spreadsheet: the A-number as printed."""
    if column == "a_number" and "a_number_display" in row:
        return row["a_number_display"]
    return row.get(column)


# Line breaks and tabs in a spreadsheet cell are layout, not part of the name.
_FOLDED = frozenset("\t\n\r")


def normalize_name(text: str) -> str:
    """A name as stored: NFC (so 'Núñez' typed two ways is one name), single spaces."""
    text = unicodedata.normalize("NFC", text)
    # Checked before folding: str.split() would quietly turn \x1c-\x1f and \x85 into spaces.
    # A printable name has no Cc/Cf character at all: only the rest is read char by char.
    if not text.isprintable() and any(
            unicodedata.category(ch) in ("Cc", "Cf") and ch not in _FOLDED for ch in text):
        raise ValueError("contains control characters")
    name = " ".join(text.split())
    if not name:
        raise ValueError("is empty")
    return name


def fold(text: str) -> str:
    """Text as search compares it: accents and case ignored (``García`` → ``garcia``), spaces
    collapsed. The same in Python for SQLite and PostgreSQL, so both find the same people."""
    if text.isascii():  # nothing to decompose: most names, read a hundred thousand at a time
        return " ".join(text.casefold().split())
    bare = unicodedata.normalize("NFKD", text).translate(_BARE)
    return " ".join(bare.casefold().split())


class _Marks(dict[int, int | None]):
    """For ``str.translate``: a combining mark maps to None (dropped), any other character
    to itself; each character looked up once, then read from the dict in C."""

    def __missing__(self, code: int) -> int | None:
        self[code] = None if unicodedata.combining(chr(code)) else code
        return self[code]


_BARE = _Marks()


def search_key(family_name: str, given_name: str) -> str:
    """What a person's name is searched by (``detainees.search_key``)."""
    return fold(f"{family_name} {given_name}")


# Codes with their common spellings. The code is what templates are keyed by.
_LANGUAGE_ALIASES = {
    "es": ("spanish", "español", "espanol", "castellano", "spa"),
    "en": ("english", "inglés", "ingles", "eng"),
    "pt": ("portuguese", "português", "portugues", "por"),
    "fr": ("french", "français", "francais", "fra", "fre"),
    "ht": ("haitian creole", "kreyòl", "kreyol", "creole", "hat"),
    "zh": ("chinese", "mandarin", "中文", "zho", "chi", "cmn"),
    "ar": ("arabic", "ara"),
    "ru": ("russian", "русский", "rus"),
    "uk": ("ukrainian", "українська", "ukr"),
    "ro": ("romanian", "română", "ron", "rum"),
    "tr": ("turkish", "türkçe", "tur"),
    "hi": ("hindi", "hin"),
    "pa": ("punjabi", "pan"),
    "vi": ("vietnamese", "tiếng việt", "vie"),
    "mam": ("mam",),
    "quc": ("k'iche'", "kiche", "k'iche", "quiche", "quiché"),
    "kjb": ("q'anjob'al", "qanjobal", "kanjobal"),
    "unknown": ("unknown", "desconocido", "?"),
}
_LANGUAGE_CODES = {
    alias: code for code, aliases in _LANGUAGE_ALIASES.items() for alias in (code, *aliases)
}


def normalize_language(text: str) -> str:
    """A language code for the spellings staff use (Spanish, español, spa, es → ``es``).

    A language we do not know is kept as written (lower case), not refused:
    the person still needs a letter, and the output lists who needs a translation.
    """
    key = " ".join(text.strip().lower().replace("’", "'").split())
    if not key:
        raise ValueError("is empty")
    base = key.split("-")[0].split("_")[0] if len(key) <= 6 else key
    return _LANGUAGE_CODES.get(key) or _LANGUAGE_CODES.get(base) or key
