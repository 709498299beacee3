"""The settings a run's children ran with are recorded with their source; credentials are not."""

from __future__ import annotations

import json
from pathlib import Path

from aggregator.settings import AggregatorSettings
from prosumer.settings import ProsumerSettings
from simulation.run_settings import recorded, write_child_settings


def test_each_setting_is_recorded_with_where_its_value_came_from() -> None:
    got = recorded(
        ProsumerSettings,
        {"PROSUMER_SEED": "7", "PROSUMER_ENROLMENT_TOKEN": "s3cret-enrolment-token"},
        environ={"PROSUMER_MAX_RISK_SHARE": "0.2", "PROSUMER_SEED": "99"},
        dotenv={"PROSUMER_READING_INTERVAL_S": "2.0"},
    )
    assert got["PROSUMER_SEED"] == {"value": "7", "from": "run"}  # the run's value over the environment's
    assert got["PROSUMER_MAX_RISK_SHARE"] == {"value": "0.2", "from": "environment"}
    assert got["PROSUMER_READING_INTERVAL_S"] == {"value": "2.0", "from": ".env"}
    assert got["PROSUMER_ENROLMENT_TOKEN"] == {"value": "(set, not recorded)", "from": "run"}
    assert got["PROSUMER_KEY"] == {"value": None, "from": "default"}
    assert set(got) == {f"PROSUMER_{f.upper()}" for f in ProsumerSettings.model_fields}


def test_a_default_is_written_as_the_child_would_read_it() -> None:
    got = recorded(ProsumerSettings, {}, environ={}, dotenv={})
    assert got["PROSUMER_MAX_RISK_SHARE"] == {"value": "0.05", "from": "default"}
    tokens = recorded(AggregatorSettings, {"AGGREGATOR_GRID_TOKEN": "x" * 43}, environ={}, dotenv={})
    assert tokens["AGGREGATOR_GRID_TOKEN"]["value"] == "(set, not recorded)"


def test_a_run_writes_every_childs_settings_into_settings_json(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    data = write_child_settings(path, {"PROSUMER_SEED": "7"}, {}, {}, {"CHAIN_RECEIPT_POLL_S": "0.1"})
    assert json.loads(path.read_text()) == data
    assert set(data) == {"prosumer", "aggregator", "grid", "chain"}
    assert data["chain"]["CHAIN_RECEIPT_POLL_S"] == {"value": "0.1", "from": "run"}
    assert "x" * 43 not in path.read_text()
