"""Where scenario files are: the shipped ones by name (`scenarios/NAME.toml`), any other by path."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from base.errors import ConfigError

SCENARIOS_DIR = Path(__file__).resolve().parent.parent / "scenarios"


def scenario_file(name_or_path: str | Path) -> Path:
    """A shipped scenario by name, or a TOML file by path."""
    path = Path(name_or_path)
    return SCENARIOS_DIR / f"{name_or_path}.toml" if not path.suffix else path


def read_scenario(name_or_path: str | Path) -> tuple[Path, dict[str, Any]]:
    """The scenario's path and its TOML tables; `ConfigError` naming what to fix otherwise."""
    path = scenario_file(name_or_path)
    try:
        return path, tomllib.loads(path.read_text())
    except FileNotFoundError:
        shipped = ", ".join(sorted(p.stem for p in SCENARIOS_DIR.glob("*.toml")))
        raise ConfigError(f"no scenario {name_or_path!r}: use one of {shipped} or a .toml path") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"scenario {path} is not valid TOML: {exc}") from None
