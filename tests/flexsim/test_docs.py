"""The documents flexsim publishes cannot drift from the code: the README's settings tables are the
settings classes', and the committed JSON Schemas are the models'."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from base.settings_docs import blocks_in, default_text, generated_block, replace_blocks, settings_table
from base.settings_env import env_name
from flexsim.cli.docs import SCHEMAS, SETTINGS, schema_file, schema_models, settings_classes
from grid_operator.settings import GridSettings

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SCHEMA_DIR = ROOT / "docs" / "schemas"


def flexsim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flexsim.cli", *args], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("name", list(SETTINGS))
def test_the_readme_table_of_each_settings_class_is_the_class(name: str) -> None:
    """Every field, its default and its description: regenerate with `flexsim settings --write README.md`."""
    cls = settings_classes()[name]
    (block,) = blocks_in(README.read_text(), name)
    assert block == generated_block(name, cls), f"run `flexsim settings --write README.md` ({name})"
    for field, info in cls.model_fields.items():
        assert f"| `{env_name(cls, field)}` | {default_text(info)} |" in block
        assert " ".join((info.description or "").split()).replace("|", "\\|") in block


def test_a_changed_description_or_default_changes_the_table() -> None:
    class Changed(GridSettings):
        settle_timeout_s: float = Field(1.5, description="Changed.")

    assert "| `GRID_SETTLE_TIMEOUT_S` | `1.5` | Changed. |" in settings_table(Changed)
    assert settings_table(Changed) != settings_table(GridSettings)


def test_the_table_writer_replaces_only_its_blocks_and_names_a_missing_one() -> None:
    cls = settings_classes()["grid"]
    text = "before\n" + generated_block("grid", cls).replace("GRID_TOKEN", "GRID_OLD") + "\nafter\n"
    assert replace_blocks(text, {"grid": cls}) == "before\n" + generated_block("grid", cls) + "\nafter\n"
    with pytest.raises(ValueError, match="no generated block for 'chain'"):
        replace_blocks(text, {"chain": settings_classes()["chain"]})


def test_a_home_path_default_is_written_with_a_tilde() -> None:
    state_dir = settings_classes()["prosumer"].model_fields["state_dir"]
    assert default_text(state_dir) == "`~/.local/share/flexsim/prosumers`"


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_the_committed_schema_is_the_model(name: str) -> None:
    """Regenerate with `flexsim schema --write docs/schemas`."""
    model = schema_models()[name]
    path = schema_file(SCHEMA_DIR, name)
    assert path.read_text() == model.json_schema_text(), f"run `flexsim schema --write docs/schemas` ({name})"
    assert json.loads(path.read_text())["additionalProperties"] is False


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_every_published_field_is_described(name: str) -> None:
    def undescribed(model: type[BaseModel], seen: set[type[BaseModel]]) -> list[str]:
        seen.add(model)
        missing = [f"{model.__name__}.{f}" for f, info in model.model_fields.items() if not info.description]
        for info in model.model_fields.values():
            for inner in _models_in(info.annotation):
                if inner not in seen:
                    missing += undescribed(inner, seen)
        return missing

    assert undescribed(schema_models()[name], set()) == []


def _models_in(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _models_in(arg)]


def test_flexsim_schema_prints_a_schema_and_writes_them_all(tmp_path: Path) -> None:
    printed = flexsim("schema", "summary")
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == schema_models()["summary"].json_schema_text()
    written = flexsim("schema", "--write", str(tmp_path))
    assert written.returncode == 0, written.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{n}.schema.json" for n in SCHEMAS)
    missing = flexsim("schema")
    assert missing.returncode == 1 and missing.stderr.startswith("flexsim: error: name a document")


def test_flexsim_settings_prints_the_tables_and_rewrites_a_file(tmp_path: Path) -> None:
    printed = flexsim("settings", "grid")
    assert printed.returncode == 0, printed.stderr
    assert settings_table(settings_classes()["grid"]) in printed.stdout
    readme = tmp_path / "README.md"
    readme.write_text(README.read_text())
    rewritten = flexsim("settings", "--write", str(readme))
    assert rewritten.returncode == 0, rewritten.stderr
    assert readme.read_text() == README.read_text()
    unknown = flexsim("settings", "gird")
    assert unknown.returncode == 1 and "no settings named gird" in unknown.stderr


def test_the_readme_table_of_scenario_fields_is_the_model() -> None:
    """Every scenario field, its default and its meaning (`flexsim settings --write README.md`)."""
    from simulation.scenario import Scenario
    from simulation.scenario_docs import blocks_in as scenario_blocks
    from simulation.scenario_docs import generated_block as scenario_block

    (block,) = scenario_blocks(README.read_text())
    assert block == scenario_block(), "run `flexsim settings --write README.md` (scenario fields)"
    for section in ("population", "ramp", "requests", "incidents", "chain"):
        model = Scenario.model_fields[section].annotation
        assert model is not None
        for name in model.model_fields:
            assert f"| `{section}.{name}` |" in block
