"""The settings a run's child processes ran with, recorded next to its results (`<strategy>/settings.json`,
and `run.json`'s `settings`): every field of `ProsumerSettings`, `AggregatorSettings`, `GridSettings` and
`ChainSettings`, with where its value came from, so a result can be reproduced and a setting that
changes results (e.g. `PROSUMER_MAX_RISK_SHARE`) is never invisible.

A child reads its variables from the environment the run gives it (`run`), else the run's own
environment (`environment`), else a `.env` file in the working directory (`.env`), else the field's
default (`default`), which is the order pydantic-settings resolves them in. Credentials (keys, tokens,
passwords) are not recorded: only that they were set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic_settings import BaseSettings

from base.settings_env import env_name, env_value

CREDENTIAL_WORDS = ("key", "token", "password", "secret")


def _is_credential(field: str, annotation: Any) -> bool:
    return (
        any(w in field for w in CREDENTIAL_WORDS) or "SecretStr" in str(annotation) or annotation is SecretStr
    )


def _dotenv(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def recorded(
    settings: type[BaseSettings],
    child_env: Mapping[str, str],
    environ: Mapping[str, str] | None = None,
    dotenv: Mapping[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Variable -> {"value", "from"} for every field of `settings`, as a child given `child_env` reads it."""
    environ = os.environ if environ is None else environ
    dotenv = _dotenv(Path(".env")) if dotenv is None else dotenv
    out: dict[str, dict[str, Any]] = {}
    for field, info in settings.model_fields.items():
        name = env_name(settings, field)
        value: Any
        for source, values in (("run", child_env), ("environment", environ), (".env", dotenv)):
            if name in values:
                value, origin = values[name], source
                break
        else:
            default = None if info.is_required() else info.get_default(call_default_factory=True)
            value, origin = (None if default is None else env_value(default)), "default"
        if _is_credential(field, info.annotation):
            value = None if value is None else "(set, not recorded)"
        out[name] = {"value": value, "from": origin}
    return out


def child_settings(envs: Mapping[str, tuple[type[BaseSettings], Mapping[str, str]]]) -> dict[str, Any]:
    """Per child role (prosumer, aggregator, grid, chain): its recorded settings."""
    return {role: recorded(cls, env) for role, (cls, env) in envs.items()}


def write_child_settings(
    path: Path,
    prosumer: Mapping[str, str],
    aggregator: Mapping[str, str],
    grid: Mapping[str, str],
    chain: Mapping[str, str],
) -> dict[str, Any]:
    """Records a strategy run's child settings in `path` (settings.json) and returns them."""
    import json

    from aggregator.settings import AggregatorSettings
    from contracts.settings import ChainSettings
    from grid_operator.settings import GridSettings
    from prosumer.settings import ProsumerSettings

    data = child_settings(
        {
            "prosumer": (ProsumerSettings, prosumer),
            "aggregator": (AggregatorSettings, aggregator),
            "grid": (GridSettings, grid),
            "chain": (ChainSettings, chain),
        }
    )
    path.write_text(json.dumps(data, indent=2))
    return data
