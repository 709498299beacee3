"""A child process's environment, built from the settings class the child reads.

    to_env(AggregatorSettings, {"port": 8123, "sim_speed": 120.0})
    -> {"AGGREGATOR_PORT": "8123", "AGGREGATOR_SIM_SPEED": "120.0"}

The variable names come from the class (its `env_prefix` and field names), never from hand-typed
strings: a field that is renamed or removed makes every caller that still sets it fail with a
`ConfigError` at once, instead of leaving a child silently on its default. Values are written the way
pydantic-settings reads them back (`env_value`). `base` imports no service: the caller passes the class.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic_settings import BaseSettings

from base.errors import ConfigError


def env_prefix(settings: type[BaseSettings]) -> str:
    return str(settings.model_config.get("env_prefix") or "")


def env_name(settings: type[BaseSettings], field: str) -> str:
    """The variable of one field (`AGGREGATOR_PORT`); a ConfigError when the class has no such field."""
    if field not in settings.model_fields:
        known = ", ".join(settings.model_fields)
        raise ConfigError(
            f"{settings.__name__} has no setting {field!r} ({env_prefix(settings)}{field.upper()}): "
            f"it was renamed or removed; its settings are {known}"
        )
    return f"{env_prefix(settings)}{field}".upper()


def env_value(value: Any) -> str:
    """One value as text that pydantic-settings parses back to the same value: booleans as
    `true`/`false`, datetimes in ISO 8601, floats exactly (`repr`), secrets revealed, paths as text,
    enums by value, and dicts, lists and models as JSON (how pydantic-settings reads complex fields)."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return env_value(value.value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int | str | Decimal | Path):
        return str(value)
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        return json.dumps(_plain(value))
    raise ConfigError(f"cannot write a {type(value).__name__} ({value!r}) as an environment variable")


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return env_value(value)


def to_env(settings: type[BaseSettings], values: Mapping[str, Any] | BaseSettings) -> dict[str, str]:
    """The environment that gives a child `values` (field name -> value) of `settings`.

    A settings instance contributes the fields that were set on it (from arguments or its own
    environment), not its defaults: the child has the same defaults. A None value is left out (the
    child keeps its default, which must then be None: anything else is a ConfigError)."""
    if isinstance(values, BaseSettings):
        if not isinstance(values, settings):
            raise ConfigError(f"expected {settings.__name__} values, got a {type(values).__name__}")
        values = {name: getattr(values, name) for name in values.model_fields_set}
    env: dict[str, str] = {}
    for name, value in values.items():
        variable = env_name(settings, name)
        if value is None:
            if settings.model_fields[name].get_default(call_default_factory=False) is not None:
                raise ConfigError(f"{variable} cannot be unset by an environment (its default is not None)")
            continue
        env[variable] = env_value(value)
    return env
