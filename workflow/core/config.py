"""Settings: config/default.toml, then the user's file, then BONDTRACK_* variables.

The defaults file is the one place every setting is declared and documented;
its value types are the schema: a user value of another type is an error.
Core settings are typed fields; feature sections (smtp, alerts, ...) are
read-only mappings that their modules read with ``settings.section(name)``.
"""

from __future__ import annotations

import getpass
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from workflow import resource
from workflow.core.errors import ConfigError

ENV_PREFIX = "BONDTRACK_"


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    operator: str
    time_zone: str = "America/Chicago"
    busy_timeout_seconds: int = 30
    sections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def section(self, name: str) -> Mapping[str, Any]:
        return self.sections[name]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from the defaults, BONDTRACK_CONFIG's file and the environment."""
    env = os.environ if environ is None else environ
    merged = _read_toml(resource("config", "default.toml"))
    if user_file := env.get(ENV_PREFIX + "CONFIG"):
        _merge(merged, _read_toml(Path(user_file)), source=user_file)
    _apply_env(merged, env)
    home = Path(merged["home"]).expanduser() if merged["home"] else data_home(env)
    url = merged["database_url"] or f"sqlite:///{home / 'bondtrack.db'}"
    sections = {
        name: MappingProxyType(dict(values))
        for name, values in merged.items()
        if isinstance(values, dict)
    }
    return Settings(
        home=home,
        database_url=url,
        operator=merged["operator"] or _os_user(),
        time_zone=merged["time_zone"],
        busy_timeout_seconds=merged["busy_timeout_seconds"],
        sections=MappingProxyType(sections),
    )


def data_home(env: Mapping[str, str], name: str = "bondtrack") -> Path:
    """``$XDG_DATA_HOME/<name>``, by default ``~/.local/share/<name>``."""
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / name


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid-{os.getuid()}"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _merge(base: dict[str, Any], override: Mapping[str, Any], source: str,
           prefix: str = "") -> None:
    for key, value in override.items():
        name = prefix + key
        if key not in base:
            raise ConfigError(f"{source}: unknown setting '{name}'")
        if isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: '{name}' must be a table")
            _merge(base[key], value, source, prefix=name + ".")
        else:
            base[key] = _check_type(base[key], value, f"{source}: '{name}'")


def _check_type(default: Any, value: Any, where: str) -> Any:
    if isinstance(default, bool) or isinstance(value, bool):
        ok = isinstance(default, bool) and isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ConfigError(f"{where} must be {type(default).__name__}")
    if isinstance(default, list) and default:
        # A list's items take the type of the default's items: ["24h"] is not a list of hours.
        kind = type(default[0])
        if not all(isinstance(item, kind) and not isinstance(item, bool) for item in value):
            raise ConfigError(f"{where} must be a list of {kind.__name__}")
    return value


def _apply_env(merged: dict[str, Any], env: Mapping[str, str]) -> None:
    for key, default in merged.items():
        if isinstance(default, dict):
            for sub, sub_default in default.items():
                name = f"{ENV_PREFIX}{key}_{sub}".upper()
                if name in env:
                    default[sub] = _parse_env(sub_default, env[name], name)
        elif (name := (ENV_PREFIX + key).upper()) in env:
            merged[key] = _parse_env(default, env[name], name)


def _parse_env(default: Any, raw: str, name: str) -> Any:
    try:
        if isinstance(default, bool):
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError
            return raw.lower() in ("1", "true", "yes")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, list):
            items = [part.strip() for part in raw.split(",") if part.strip()]
            numeric = bool(default) and isinstance(default[0], int)
            return [int(item) for item in items] if numeric else items
    except ValueError:
        raise ConfigError(f"{name} must be {type(default).__name__}") from None
    return raw
