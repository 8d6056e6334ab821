"""Parsing people's identifiers: A-numbers, names, dates of birth, languages.

Errors say what is wrong with a value, never the value itself.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

# ASCII digits only: \d would let Arabic-Indic or full-width digits through as a different A-number.
_A_NUMBER = re.compile(r"^[Aa]?[\s.-]*((?:[0-9][\s.-]*){8,9})$")


def normalize_a_number(text: str) -> str:
    """The 9-digit form of an A-number: ``A-012-345-678``, ``a012345678``, ``12345678`` → ``012345678``."""
    match = _A_NUMBER.match(text.strip())
    if not match:
        raise ValueError("not an A-number (8 or 9 digits, optionally after 'A')")
    digits = re.sub(r"[^0-9]", "", match.group(1))
    return digits.zfill(9)


def format_a_number(a_number: str) -> str:
    """How A-numbers are printed on letters and screens: ``A012-345-678``."""
    return f"A{a_number[:3]}-{a_number[3:6]}-{a_number[6:]}"


# Line breaks and tabs in a spreadsheet cell are layout, not part of the name.
_FOLDED = frozenset("\t\n\r")


def normalize_name(text: str) -> str:
    """A name as stored: NFC (so 'Núñez' typed two ways is one name), single spaces."""
    text = unicodedata.normalize("NFC", text)
    # Checked before folding: str.split() would quietly turn \x1c-\x1f and \x85 into spaces.
    if any(unicodedata.category(ch) in ("Cc", "Cf") and ch not in _FOLDED for ch in text):
        raise ValueError("contains control characters")
    name = " ".join(text.split())
    if not name:
        raise ValueError("is empty")
    return name


def parse_date(text: str, *, today: date) -> date:
    """An ISO (2025-11-21) or US (11/21/2025) date, not in the future."""
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            value = datetime.strptime(text, fmt).date()
            break
        except ValueError:
            continue
    else:
        raise ValueError("not a date (use YYYY-MM-DD or M/D/YYYY)") from None
    if value > today:
        raise ValueError("is in the future")
    if value.year < 1900:
        raise ValueError("is before 1900")
    return value


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
