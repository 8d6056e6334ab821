"""How people's identifiers are read: A-numbers, names, dates of birth, languages."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflow.core.identity import (
    fold,
    format_a_number,
    normalize_a_number,
    normalize_language,
    normalize_name,
)

TODAY = date(2025, 11, 20)


@pytest.mark.parametrize(
    "spelling",
    ["A-012-345-678", "a012345678", "12345678", "A 012 345 678", "012345678", "A012.345.678",
     "A\u00a0012\u00a0345\u00a0678",
     "  A-012-345-678  ", "A012-345-678"],
)
def test_every_accepted_a_number_spelling_means_the_same_person(spelling: str) -> None:
    assert normalize_a_number(spelling) == "012345678"


@pytest.mark.parametrize(
    "text",
    ["1234567", "0123456789", "A-0123-456-789", "A01234567X", "", "   ", "B012345678",
     "AA012345678", "012345678A", "0x12345678",
     "٠١٢٣٤٥٦٧٨",  # Arabic-Indic digits: not an A-number a letter can carry
     "０１２３４５６７８"],  # full-width digits
)
def test_anything_else_is_not_an_a_number(text: str) -> None:
    with pytest.raises(ValueError, match="not an A-number"):
        normalize_a_number(text)


def test_an_a_number_error_does_not_quote_the_value() -> None:
    with pytest.raises(ValueError) as caught:
        normalize_a_number("A-98765-43210")
    assert "98765" not in str(caught.value)


@given(st.integers(min_value=0, max_value=999_999_999))
def test_a_formatted_a_number_reads_back_as_itself(n: int) -> None:
    a_number = f"{n:09d}"
    assert normalize_a_number(format_a_number(a_number)) == a_number


@given(st.text(max_size=20))
def test_normalizing_any_text_gives_nine_ascii_digits_or_a_value_error(text: str) -> None:
    try:
        result = normalize_a_number(text)
    except ValueError:
        return
    assert len(result) == 9 and result.isascii() and result.isdigit()


def test_a_numbers_print_as_on_letters() -> None:
    assert format_a_number("012345678") == "A012-345-678"


def test_a_name_typed_two_ways_is_one_name() -> None:
    decomposed = "Nu\u0301n\u0303ez"
    assert decomposed != "Núñez"
    assert normalize_name(decomposed) == "Núñez"
    assert unicodedata.is_normalized("NFC", normalize_name(decomposed))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("  Ana   María ", "Ana María"), ("de la\tCruz", "de la Cruz"), ("José\nLuis", "José Luis"),
     ("Ana\u00a0María", "Ana María")],
)
def test_whitespace_in_names_folds_to_single_spaces(text: str, expected: str) -> None:
    assert normalize_name(text) == expected


@pytest.mark.parametrize("text", ["Ana\x00", "Jo\x07sé", "\x1b[31mRed", "Ana\x1fMaría",
                                  "Ana\u200bMaría", "Ana\x85María"])
def test_control_characters_in_names_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="control characters"):
        normalize_name(text)


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_an_empty_name_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        normalize_name(text)


@pytest.mark.parametrize(
    ("text", "code"),
    [("Spanish", "es"), ("español", "es"), ("ESPAÑOL", "es"), ("spa", "es"), ("es", "es"),
     ("es-MX", "es"), (" Spanish ", "es"), ("K'iche'", "quc"), ("K’iche’", "quc"),
     ("Quiché", "quc"), ("Mam", "mam"), ("Haitian Creole", "ht"), ("English", "en"),
     ("Q'anjob'al", "kjb")],
)
def test_languages_are_read_as_codes(text: str, code: str) -> None:
    assert normalize_language(text) == code


def test_an_unknown_language_is_kept_as_written_in_lower_case() -> None:
    assert normalize_language("Wolof") == "wolof"
    assert normalize_language("  Garifuna  ") == "garifuna"


def test_an_empty_language_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        normalize_language("  ")


@pytest.mark.parametrize(("text", "expected"), [
    ("García López", "garcia lopez"), ("NÚÑEZ  José", "nunez jose"), ("Straße", "strasse"),
    ("Nguyễn Thị", "nguyen thi"), ("ﬁlomena", "filomena"), ("Zoë\tO'Brien", "zoe o'brien"),
    ("Δήμητρα", "δημητρα"), ("", "")])
def test_search_folds_accents_case_and_spaces(text: str, expected: str) -> None:
    assert fold(text) == expected


@given(st.text())
def test_folding_drops_exactly_the_combining_marks_of_the_decomposed_text(text: str) -> None:
    """The fast paths (plain ASCII; a cached table of marks) agree with the definition."""
    bare = "".join(ch for ch in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(ch))
    assert fold(text) == " ".join(bare.casefold().split())
