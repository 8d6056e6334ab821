"""The demo's synthetic facilities and people: valid, varied, and repeatable."""

from __future__ import annotations

import random
import re
from datetime import date
from zoneinfo import ZoneInfo

from workflow.demo.data import (
    FACILITIES,
    FAMILY_NAMES,
    GIVEN_NAMES,
    pick_facility,
    synthetic_person,
)


def people(count: int = 615, seed: int = 1) -> list[dict[str, object]]:
    rng = random.Random(seed)
    return [synthetic_person(rng, index) for index in range(count)]


def test_facility_codes_are_unique_short_and_uppercase() -> None:
    codes = [f.code for f in FACILITIES]
    assert len(set(codes)) == len(codes)
    assert all(re.fullmatch(r"[A-Z0-9]{1,12}", code) for code in codes)


def test_thirty_facilities_across_at_least_twelve_field_offices() -> None:
    assert len(FACILITIES) == 30
    assert len({f.field_office for f in FACILITIES}) >= 12


def test_every_facility_time_zone_loads() -> None:
    for facility in FACILITIES:
        ZoneInfo(facility.time_zone)


def test_arizona_facility_keeps_phoenix_time() -> None:
    assert {f.time_zone for f in FACILITIES if f.state == "AZ"} == {"America/Phoenix"}


def test_facility_phones_are_fictional() -> None:
    assert all(re.fullmatch(r"\+1 \d{3}-555-01\d\d", f.phone) for f in FACILITIES)


def test_pick_facility_favours_broadview() -> None:
    rng = random.Random(1)
    picks = [pick_facility(rng).code for _ in range(1000)]
    assert max(set(picks), key=picks.count) == "BSAHOLD"


def test_name_pools_are_large_enough() -> None:
    assert len(GIVEN_NAMES) >= 80
    assert len(FAMILY_NAMES) >= 120


def test_synthetic_person_is_deterministic_for_a_seed() -> None:
    assert people(50, seed=9) == people(50, seed=9)
    assert people(50, seed=9) != people(50, seed=10)


def test_a_numbers_are_nine_digits_and_unique_over_100k_indices() -> None:
    rng = random.Random(1)
    numbers = {synthetic_person(rng, index)["a_number"] for index in range(100_000)}
    assert len(numbers) == 100_000
    assert all(re.fullmatch(r"\d{9}", str(number)) for number in numbers)


def test_everyone_is_18_to_70_on_the_order_date() -> None:
    for person in people():
        born = person["date_of_birth"]
        assert isinstance(born, date)
        assert date(1954, 11, 13) <= born <= date(2007, 11, 12)


def test_about_four_in_five_speak_spanish() -> None:
    share = sum(p["language"] == "es" for p in people()) / 615
    assert 0.72 <= share <= 0.88


def test_accented_family_names_appear() -> None:
    assert any(not str(p["family_name"]).isascii() for p in people())
