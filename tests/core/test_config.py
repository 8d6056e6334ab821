"""Settings: documented defaults, then the user's file, then BONDTRACK_* variables."""

from __future__ import annotations

import getpass
import tomllib
from pathlib import Path

import pytest

from workflow import resource
from workflow.core import config
from workflow.core.errors import ConfigError


def defaults() -> dict:
    with resource("config", "default.toml").open("rb") as fh:
        return tomllib.load(fh)


def user_file(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "bondtrack.toml"
    path.write_text(text, encoding="utf-8")
    return {"BONDTRACK_CONFIG": str(path)}


def test_the_defaults_file_loads_as_documented(tmp_path: Path) -> None:
    settings = config.load({"XDG_DATA_HOME": str(tmp_path)})
    documented = defaults()
    assert settings.time_zone == documented["time_zone"] == "America/Chicago"
    assert settings.busy_timeout_seconds == documented["busy_timeout_seconds"]
    for name, values in documented.items():
        if isinstance(values, dict):
            assert dict(settings.section(name)) == values
    assert settings.section("bond")["default_amount"] == 1500


def test_without_a_url_the_database_is_sqlite_in_home(tmp_path: Path) -> None:
    settings = config.load({"BONDTRACK_HOME": str(tmp_path / "h")})
    assert settings.is_sqlite
    assert settings.database_url == f"sqlite:///{tmp_path / 'h' / 'bondtrack.db'}"


def test_a_database_url_selects_postgresql(tmp_path: Path) -> None:
    url = "postgresql+psycopg://bondtrack@127.0.0.1:5432/bondtrack"
    settings = config.load({"BONDTRACK_HOME": str(tmp_path), "BONDTRACK_DATABASE_URL": url})
    assert settings.database_url == url and not settings.is_sqlite


def test_the_users_file_overrides_the_defaults(tmp_path: Path) -> None:
    env = user_file(tmp_path,
                    'time_zone = "America/New_York"\n[smtp]\nport = 2525\nhost = "mail"\n')
    settings = config.load(env)
    assert settings.time_zone == "America/New_York"
    assert settings.section("smtp")["port"] == 2525
    assert settings.section("smtp")["host"] == "mail"
    assert settings.section("smtp")["security"] == "none"  # untouched keys keep their defaults


def test_environment_overrides_the_users_file(tmp_path: Path) -> None:
    env = user_file(tmp_path, "busy_timeout_seconds = 5\n[smtp]\nport = 2525\n")
    env |= {"BONDTRACK_BUSY_TIMEOUT_SECONDS": "7", "BONDTRACK_SMTP_PORT": "587",
            "BONDTRACK_OPERATOR": "maria"}
    settings = config.load(env)
    assert settings.busy_timeout_seconds == 7
    assert settings.section("smtp")["port"] == 587
    assert settings.operator == "maria"


def test_an_environment_list_of_ints_is_comma_separated() -> None:
    settings = config.load({"BONDTRACK_ALERTS_THRESHOLDS_HOURS": "48, 6,1"})
    assert settings.section("alerts")["thresholds_hours"] == [48, 6, 1]


def test_an_environment_list_of_strings_is_comma_separated() -> None:
    settings = config.load({"BONDTRACK_NOTICES_STAFF_EMAILS": "a@example.org, b@example.org"})
    assert settings.section("notices")["staff_emails"] == ["a@example.org", "b@example.org"]


@pytest.mark.parametrize(
    ("name", "raw"),
    [("BONDTRACK_ALERTS_THRESHOLDS_HOURS", "48,six"), ("BONDTRACK_SMTP_PORT", "twenty-five"),
     ("BONDTRACK_BUSY_TIMEOUT_SECONDS", "1.5")],
)
def test_an_environment_value_of_the_wrong_type_names_the_variable(name: str, raw: str) -> None:
    with pytest.raises(ConfigError, match=name):
        config.load({name: raw})


@pytest.mark.parametrize(
    ("text", "key"),
    [("tmie_zone = 'UTC'\n", "tmie_zone"), ("[smtp]\nhots = 'x'\n", "smtp.hots"),
     ("[smpt]\nhost = 'x'\n", "smpt")],
)
def test_an_unknown_key_in_the_users_file_is_an_error_naming_it(
    tmp_path: Path, text: str, key: str
) -> None:
    with pytest.raises(ConfigError, match=f"unknown setting '{key}'"):
        config.load(user_file(tmp_path, text))


@pytest.mark.parametrize(
    ("text", "key"),
    [("[smtp]\nport = '25'\n", "smtp.port"),
     ("busy_timeout_seconds = 1.5\n", "busy_timeout_seconds"),
     ("time_zone = 5\n", "time_zone"), ("smtp = 1\n", "smtp"),
     ("[alerts]\nthresholds_hours = 24\n", "alerts.thresholds_hours"),
     ("[alerts]\nthresholds_hours = ['24h']\n", "alerts.thresholds_hours"),
     ("[posting]\ndays = [1, 2]\n", "posting.days")],
)
def test_a_value_of_the_wrong_type_is_an_error_naming_the_key(
    tmp_path: Path, text: str, key: str
) -> None:
    with pytest.raises(ConfigError, match=f"'{key}' must be"):
        config.load(user_file(tmp_path, text))


def test_a_missing_users_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        config.load({"BONDTRACK_CONFIG": str(tmp_path / "nope.toml")})


def test_a_users_file_that_is_not_toml_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(user_file(tmp_path, "this is = = not toml\n"))


def test_home_defaults_to_xdg_data_home(tmp_path: Path) -> None:
    home = config.load({"XDG_DATA_HOME": str(tmp_path / "xdg")}).home
    assert home == tmp_path / "xdg" / "bondtrack"


def test_home_without_xdg_is_under_the_users_local_share(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert config.load({}).home == tmp_path / ".local" / "share" / "bondtrack"


def test_bondtrack_home_wins_over_xdg(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg"), "BONDTRACK_HOME": str(tmp_path / "mine")}
    assert config.load(env).home == tmp_path / "mine"


def test_the_operator_defaults_to_the_os_user() -> None:
    assert config.load({}).operator == getpass.getuser()


def test_settings_reads_the_process_environment_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BONDTRACK_HOME", str(tmp_path))
    monkeypatch.setenv("BONDTRACK_OPERATOR", "intake-lead")
    settings = config.load()
    assert (settings.home, settings.operator) == (tmp_path, "intake-lead")
