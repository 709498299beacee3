"""The account key: generated once and kept, or given; bad keys are a clear error."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from eth_account import Account

from base.errors import ConfigError
from prosumer.agent import resolve_key
from prosumer.identity import load_or_create_key, parse_key
from prosumer.settings import ProsumerSettings


def settings(tmp_path: Path, **values: object) -> ProsumerSettings:
    return ProsumerSettings(_env_file=None, state_dir=tmp_path, **values)  # type: ignore[call-arg, arg-type]


def test_a_generated_key_is_saved_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "p.key"
    key = load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path) == key
    assert Account.from_key(key).address.startswith("0x")
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_the_key_file_follows_seed_and_index(tmp_path: Path) -> None:
    s = settings(tmp_path, seed=7, index=3)
    assert s.resolved_key_file() == tmp_path / "prosumer-7-3.key"
    assert s.meter_file() == tmp_path / "prosumer-7-3.meter.json"
    assert resolve_key(s) == resolve_key(settings(tmp_path, seed=7, index=3))
    assert resolve_key(s) != resolve_key(settings(tmp_path, seed=7, index=4))


def test_a_given_key_wins_and_is_not_saved(tmp_path: Path) -> None:
    key = "ab" * 32
    s = settings(tmp_path, key=key)
    assert resolve_key(s) == "0x" + key
    assert not s.resolved_key_file().exists()


@pytest.mark.parametrize("text", ["", "0x1234", "zz" * 32, "0x" + "ab" * 33])
def test_a_bad_key_names_where_it_came_from(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.key"
    path.write_text(text)
    with pytest.raises(ConfigError, match=str(path)):
        load_or_create_key(path)
    with pytest.raises(ConfigError, match="PROSUMER_KEY"):
        resolve_key(settings(tmp_path, key=text or "x"))


def test_parse_key_normalises_the_prefix() -> None:
    assert parse_key(" " + "AB" * 32 + "\n", "x") == "0x" + "AB" * 32


def test_settings_come_from_prosumer_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PROSUMER_SEED", "42")
    monkeypatch.setenv("PROSUMER_SIM_SPEED", "300")
    monkeypatch.setenv("PROSUMER_RENEGOTIATION_AFTER_OUTAGE_RATE_PER_HOUR", "0.5")
    s = ProsumerSettings(_env_file=None)  # type: ignore[call-arg]
    assert (s.seed, s.sim_speed, s.renegotiation_after_outage_rate_per_hour) == (42, 300.0, 0.5)
    assert s.key is None or "SecretStr" in repr(s.key)
