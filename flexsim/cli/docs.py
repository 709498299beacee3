"""`flexsim schema | settings`: the documents flexsim publishes, generated from the code itself.

- `flexsim schema NAME` prints the JSON Schema of a run summary (`summary`) or a benchmark's result
  (`gas`, `ingest`, `fleet`, `e2e`, `console`); `--write docs/schemas` writes them all (committed; a
  test checks they equal the models).
- `flexsim settings [NAME ...]` prints the settings tables (variable, default, meaning) of `chain`,
  `aggregator`, `prosumer` and `grid`; `--write README.md` rewrites the README's generated tables (and,
  without NAME, its table of scenario fields, `simulation.scenario_docs`).
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from base.errors import ConfigError
from flexsim.cli.options import Group, Option

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

    from base.published import Published

# name -> "module:class", imported when asked for (`flexsim --help` stays fast)
SCHEMAS = {
    "summary": "simulation.run_summary:RunSummary",
    "gas": "benchmarks.gas_result:GasResult",
    "ingest": "benchmarks.ingest_result:IngestResult",
    "fleet": "benchmarks.fleet_result:FleetResult",
    "e2e": "benchmarks.e2e_result:E2eResult",
    "console": "benchmarks.console_result:ConsoleResult",
    "run": "benchmarks.run_result:RunBenchResult",
    "experiment": "simulation.experiment_result:ExperimentResult",
}
SETTINGS = {
    "chain": "contracts.settings:ChainSettings",
    "aggregator": "aggregator.settings:AggregatorSettings",
    "prosumer": "prosumer.settings:ProsumerSettings",
    "grid": "grid_operator.settings:GridSettings",
    "console": "console.settings:ConsoleSettings",
}

group = Group()


def _load(path: str) -> Any:
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def schema_models() -> dict[str, type[Published]]:
    return {name: _load(path) for name, path in SCHEMAS.items()}


def settings_classes() -> dict[str, type[BaseSettings]]:
    return {name: _load(path) for name, path in SETTINGS.items()}


def schema_file(folder: Path, name: str) -> Path:
    return folder / f"{name}.schema.json"


@group.command(
    "schema",
    "print the JSON Schema of a run summary or a benchmark's JSON",
    Option("name", nargs="?", choices=list(SCHEMAS), help="which document"),
    Option("--write", type=Path, help="write every schema into this folder (docs/schemas)"),
)
def schema(args: argparse.Namespace) -> int:
    models = schema_models()
    if args.write is not None:
        args.write.mkdir(parents=True, exist_ok=True)
        for name, model in models.items():
            path = schema_file(args.write, name)
            path.write_text(model.json_schema_text())
            print(path)
        return 0
    if args.name is None:
        raise ConfigError(f"name a document ({', '.join(SCHEMAS)}) or give --write DIR")
    print(models[args.name].json_schema_text(), end="")
    return 0


@group.command(
    "settings",
    "print the settings tables (variable, default, meaning) of each process",
    Option("names", nargs="*", help=f"which: {', '.join(SETTINGS)} (default: all)"),
    Option("--write", type=Path, help="rewrite these tables' generated blocks in this file (README.md)"),
)
def settings(args: argparse.Namespace) -> int:
    from base.settings_docs import replace_blocks, settings_table
    from base.settings_env import env_prefix

    unknown = sorted(set(args.names) - set(SETTINGS))
    if unknown:
        raise ConfigError(f"no settings named {', '.join(unknown)}: choose from {', '.join(SETTINGS)}")
    classes = {n: c for n, c in settings_classes().items() if not args.names or n in args.names}
    if args.write is not None:
        text = replace_blocks(args.write.read_text(), classes)
        if not args.names:  # all tables: the scenario's fields too
            from simulation.scenario_docs import replace_block

            text = replace_block(text)
        args.write.write_text(text)
        print(args.write)
        return 0
    for name, cls in classes.items():
        print(f"{name}: {env_prefix(cls)}* ({cls.__module__}.{cls.__name__})\n")
        print(settings_table(cls))
    return 0
