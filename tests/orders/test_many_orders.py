"""Several orders in one database: every command sees only the order it is given."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ORDERS = (
    # case, deadline (court time), zone, people
    ("1:18-cv-03757", "2025-11-21 12:00", "America/Chicago", 12),
    ("2:25-cv-01234", "2025-12-05 17:00", "America/Los_Angeles", 7),
    ("1:25-cv-09876", "2025-11-28 09:00", "America/New_York", 3),
)


def class_list(path: Path, people: int) -> Path:
    rows = [f"A-100-000-{i:03d},Núñez{i},José,1990-01-01,es" for i in range(people)]
    path.write_text("A#,Last Name,First Name,DOB,Language\n" + "\n".join(rows) + "\n",
                    encoding="utf-8")
    return path


@pytest.fixture
def three_orders(cli, tmp_path: Path):  # type: ignore[no-untyped-def]
    for case, deadline, zone, people in ORDERS:
        cli("order", "add", "--case", case, "--court", "Court", "--judge", "Judge",
            "--deadline", deadline, "--tz", zone)
        cli("import", class_list(tmp_path / f"{people}.csv", people), "--order", case)
    return cli


def status(cli, case: str) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(cli("status", "--order", case, "--json").output)


def test_each_order_counts_only_its_people_in_its_own_time(three_orders) -> None:  # type: ignore[no-untyped-def]
    for case, _deadline, _zone, people in ORDERS:
        assert status(three_orders, case)["total"] == people
    assert status(three_orders, ORDERS[1][0])["order"]["deadline"] == "2025-12-05T17:00:00-08:00"
    assert status(three_orders, ORDERS[2][0])["order"]["deadline"] == "2025-11-28T09:00:00-05:00"


def test_a_command_without_order_asks_which_one(three_orders) -> None:  # type: ignore[no-untyped-def]
    result = three_orders("status", ok=False)
    assert result.exit_code == 1
    assert "several orders" in result.output and "--order" in result.output


def test_the_same_a_number_in_two_orders_moves_only_in_the_one_named(three_orders) -> None:  # type: ignore[no-untyped-def]
    chicago, los_angeles = ORDERS[0][0], ORDERS[1][0]
    three_orders("locate", "100000001", "--order", los_angeles, "--facility", "ADLNTCA",
                 "--facility-name", "Adelanto ICE Processing Center")
    assert status(three_orders, los_angeles)["by_stage"]["LOCATED"] == 1
    assert status(three_orders, chicago)["by_stage"]["LOCATED"] == 0
    shown = json.loads(three_orders("show", "100000001", "--order", chicago, "--json").output)
    assert shown["stage"] == "INTAKE" and shown["order"] == chicago
    listed = json.loads(three_orders("list", "--order", los_angeles, "--stage", "LOCATED",
                                     "--json").output)
    assert [row["a_number_display"] for row in listed] == ["A100-000-001"]


def test_order_list_shows_all_with_time_left_and_outstanding(three_orders) -> None:  # type: ignore[no-untyped-def]
    three_orders("exclude", "100000000", "--order", ORDERS[0][0], "--reason", "security-threat")
    rows = json.loads(three_orders("order", "list", "--json").output)
    assert [r["case_number"] for r in rows] == [ORDERS[0][0], ORDERS[2][0], ORDERS[1][0]]
    by_case = {r["case_number"]: r for r in rows}
    assert by_case[ORDERS[0][0]]["people"] == 12
    assert by_case[ORDERS[0][0]]["outstanding"] == 11
    assert by_case[ORDERS[1][0]]["outstanding"] == 7
    # frozen at 2025-11-20 18:00 UTC: one day before Chicago's noon deadline
    assert by_case[ORDERS[0][0]]["seconds_left"] == 24 * 3600
    assert by_case[ORDERS[0][0]]["time_left"] == "1 d"
