"""`base.settings_env`: a child's environment from its settings class, read back to the same values."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from pydantic_settings import BaseSettings

from aggregator.settings import AggregatorSettings
from base.errors import ConfigError
from base.settings_env import env_name, env_value, to_env
from contracts.settings import ChainSettings
from grid_operator.settings import GridSettings
from prosumer.settings import ProsumerSettings

TOKEN = "t" * 43


def read_back(cls: type[BaseSettings], env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """`cls` as a child would build it from `env` alone."""
    prefix = str(cls.model_config.get("env_prefix"))
    for name in [k for k in os.environ if k.startswith(prefix)]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return cls(_env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("cls", "values"),
    [
        (
            AggregatorSettings,
            {
                "port": 8123,
                "sim_start": datetime(2025, 6, 1, 10, 0, tzinfo=UTC),
                "sim_speed": 120.0,
                "sim_real_start_epoch": 1_764_500_000.123456,
                "chain_services": False,
                "manifest": Path("/tmp/run/manifest.json"),
                "grid_token": TOKEN,
                "admin_token": SecretStr("a" * 43),
                "default_strategy": "reputation",
                "consent_max_capacity_w": {"solar": 1, "wind": 2, "consumer": 3, "battery": 4},
                "block_time_s": 5.0,
            },
        ),
        (
            ProsumerSettings,
            {
                "seed": 7,
                "reading_interval_s": 0.1 + 0.2,  # not a short decimal: written exactly
                "state_dir": Path("/tmp/state"),
                "renew": False,
                "enrolment_token": TOKEN,
                "sim_start": datetime(2025, 6, 1, 10, 0, tzinfo=UTC),
            },
        ),
        (GridSettings, {"token": TOKEN, "settle_timeout_s": 720.5, "out": Path("/tmp/grid.json")}),
        (ChainSettings, {"receipt_poll_s": 0.5, "priority_fee_gwei": Decimal("0.25"), "redeploy": True}),
    ],
)
def test_every_value_reads_back_the_same(
    cls: type[BaseSettings], values: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = to_env(cls, values)
    assert set(env) == {f"{cls.model_config['env_prefix']}{k.upper()}" for k in values}
    settings = read_back(cls, env, monkeypatch)
    for name, value in values.items():
        got = getattr(settings, name)
        got = got.get_secret_value() if isinstance(got, SecretStr) else got
        want = value.get_secret_value() if isinstance(value, SecretStr) else value
        assert got == want, name


def test_a_renamed_setting_is_an_error_that_names_the_known_ones() -> None:
    with pytest.raises(
        ConfigError, match=r"AggregatorSettings has no setting 'db_url' \(AGGREGATOR_DB_URL\)"
    ):
        to_env(AggregatorSettings, {"db_url": "sqlite://"})
    with pytest.raises(ConfigError, match="database_url"):
        env_name(AggregatorSettings, "db_url")


def test_none_leaves_the_default_and_cannot_unset_a_real_default() -> None:
    assert to_env(ProsumerSettings, {"index": None, "seed": 3}) == {"PROSUMER_SEED": "3"}
    with pytest.raises(ConfigError, match="PROSUMER_SEED cannot be unset"):
        to_env(ProsumerSettings, {"seed": None})


def test_an_instance_gives_what_was_set_on_it() -> None:
    settings = GridSettings(_env_file=None, token=TOKEN, scenario="day")  # type: ignore[call-arg]
    assert to_env(GridSettings, settings) == {"GRID_TOKEN": TOKEN, "GRID_SCENARIO": "day"}
    with pytest.raises(ConfigError, match="expected ChainSettings values"):
        to_env(ChainSettings, settings)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "true"),
        (0.1, "0.1"),
        (3, "3"),
        ({"a": [1, Path("x")]}, '{"a": [1, "x"]}'),
        (datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC), "2025-01-02T03:04:05+00:00"),
    ],
)
def test_values_are_written_as_pydantic_settings_reads_them(value: object, text: str) -> None:
    assert env_value(value) == text


def test_a_value_without_a_text_form_is_refused() -> None:
    with pytest.raises(ConfigError, match="cannot write a object"):
        env_value(object())
