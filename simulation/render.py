"""Rendering a run's results from its folder: what `flexsim run` does after playing a strategy, and what
`flexsim report RUN_DIR` does again, offline, from what the folder keeps (`simulation.saved_run`).

A report is only written when the chain's settled totals equal the aggregator database's for every
strategy: otherwise `TotalsMismatch` says which requests differ and nothing is written (`flexsim
report` exits 1). A chain record with no event of the deployment (a wrong chain, a wrong manifest) is
a `RunFolderError`, never a report of zeros.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulation import saved_run
from simulation.collect import ChainFacts, RunData
from simulation.errors import RunFolderError, TotalsMismatch
from simulation.report import write_csvs, write_html, write_plots, write_stress_plot
from simulation.run_summary import RunSummary, StressHeadline
from simulation.stress import headline
from simulation.stress_run import stress_of
from simulation.summary import summarise

Progress = Callable[[str], None]


@dataclass
class Rendered:
    """One strategy's collected data, summary and stress analysis, before anything is written."""

    data: RunData
    summary: RunSummary
    stress: dict[str, Any] | None


def summarise_folder(
    folder: Path,
    strategy: str,
    chain: ChainFacts | None = None,
    gas_price_gwei: float | None = None,
    database_url: str | None = None,
) -> Rendered:
    """A strategy folder's summary (and stress analysis), from the folder, or with `chain` read live
    and the aggregator's database at `database_url`."""
    data = saved_run.load_run(folder, strategy, chain, database_url)
    if not data.events:
        raise RunFolderError(
            f"the chain record of {folder} holds no event of the deployment in "
            f"{folder / saved_run.MANIFEST}: wrong chain or manifest? (chain {data.chain_id})"
        )
    clock = saved_run.read_clock(folder)
    summary = summarise(data, clock.clock.speed, clock.block_time_s, gas_price_gwei)
    scenario_path = folder.parent / "scenario.toml"
    if scenario_path.is_file():  # the shortfall's attribution needs the scenario's prosumers
        from datetime import UTC, datetime

        from simulation.run_prosumers import lookup
        from simulation.scenario import load_scenario
        from simulation.shortfall_run import summarise_shortfall

        summary.shortfall = summarise_shortfall(
            data,
            lookup(load_scenario(scenario_path), folder / "fleet-keys.json"),
            lambda epoch: datetime.fromtimestamp(clock.clock.sim(epoch), UTC),
        )
    stress = stress_of(data)
    if stress is not None:
        summary.stress = StressHeadline.model_validate(
            {"measures": stress["measures"], "max_prosumers": stress["max_prosumers"]}
        )
    return Rendered(data, summary, stress)


def write_folder(folder: Path, r: Rendered, progress: Progress | None = None) -> list[str]:
    """The strategy's CSVs, plots, `stress.json` and `summary.json`; returns the plots' names."""
    write_csvs(r.data, folder)
    names = write_plots(r.data, folder)
    if r.stress is not None:
        (folder / "stress.json").write_text(json.dumps(r.stress, indent=2))
        names.append(write_stress_plot(r.stress, folder, r.data.strategy))
        if progress is not None:
            progress("stress: " + headline(r.stress).replace("\n", "; "))
    (folder / "summary.json").write_text(r.summary.to_json())
    return names


def check_totals(summaries: dict[str, RunSummary]) -> None:
    """`TotalsMismatch` when any strategy's chain totals differ from its database's."""
    bad = []
    for strategy, s in summaries.items():
        for m in s.cross_check.mismatches:
            who = (
                f"request {m.request_id}" if m.request_id is not None else "a request unknown to the database"
            )
            db = m.database.model_dump() if m.database is not None else None
            bad.append(f"{strategy} {who} (chain id {m.chain_request_id}): chain {m.chain}, database {db}")
    if bad:
        raise TotalsMismatch(
            "the chain's settled totals differ from the aggregator database's, so no report was written: "
            + "; ".join(bad)
            + ". Is the run folder's chain record (or --rpc-url) the chain this run settled on?"
        )


def scenario_text(run_dir: Path) -> str:
    path = run_dir / "scenario.toml"
    return path.read_text() if path.is_file() else ""


def render_run(
    run_dir: Path,
    chains: dict[str, ChainFacts] | None = None,
    gas_price_gwei: float | None = None,
    progress: Progress | None = None,
) -> tuple[Path, dict[str, RunSummary]]:
    """Re-renders a finished run from its folder (`chains`: per strategy, the chain read live instead of
    the saved record). Checks every strategy's totals before writing anything."""
    rendered = {
        s: summarise_folder(run_dir / s, s, (chains or {}).get(s), gas_price_gwei)
        for s in saved_run.strategies_in(run_dir)
    }
    summaries = {s: r.summary for s, r in rendered.items()}
    check_totals(summaries)
    plots = {s: write_folder(run_dir / s, r, progress) for s, r in rendered.items()}
    report = write_html(
        run_dir, scenario_text(run_dir), {s: v.to_dict() for s, v in summaries.items()}, plots
    )
    return report, summaries


def live_record(folder: Path, rpc_url: str) -> dict[str, Any]:
    """The chain record of the folder's deployment read from the chain at `rpc_url` now: a chain with
    another id, or without the deployment's contracts, is an error."""
    from contracts.deployment import Deployment
    from simulation.chain_export import chain_record

    d = Deployment.load(folder / saved_run.MANIFEST, rpc_url=rpc_url)  # WrongChain on another chain id
    for name, address in d.manifest.contracts.model_dump().items():
        if not d.chain.w3.eth.get_code(address):  # type: ignore[arg-type]
            raise RunFolderError(
                f"chain {d.chain.chain_id} at {rpc_url} has no contract at {address} (the run's {name}): "
                "give the RPC URL of the chain this run settled on"
            )
    return chain_record(d)


def live_chain(folder: Path, rpc_url: str) -> ChainFacts:
    """`live_record`, decoded."""
    return saved_run.chain_facts(live_record(folder, rpc_url), saved_run.decoder(folder))


def copy_sqlite(database_url: str, path: Path) -> bool:
    """A consistent copy of a SQLite database (WAL included) at `path`; False for another database."""
    import sqlite3

    prefix = "sqlite:///"
    if not database_url.startswith(prefix):
        return False
    source = Path(database_url.removeprefix(prefix))
    if source.resolve() == path.resolve():
        return True
    with sqlite3.connect(source) as src, sqlite3.connect(path) as dst:
        src.backup(dst)
    return True


def render_live(
    out: Path,
    strategy: str,
    manifest: Path,
    rpc_url: str,
    database_url: str,
    clock: saved_run.SavedClock,
    scenario_toml: str,
    gas_price_gwei: float | None = None,
) -> Path:
    """Collects a finished run whose chain and database still run (the compose `report` step) into
    `out/<strategy>/` so that `flexsim report out` can re-render it offline later, and renders it."""
    import shutil

    folder = out / strategy
    (folder / "deployment").mkdir(parents=True, exist_ok=True)
    shutil.copytree(manifest.parent, folder / "deployment", dirs_exist_ok=True)
    if manifest.name != "manifest.json":
        shutil.copy(manifest, folder / saved_run.MANIFEST)
    saved_run.write_clock(folder, clock)
    if scenario_toml:
        (out / "scenario.toml").write_text(scenario_toml)
    record = live_record(folder, rpc_url)
    (folder / saved_run.CHAIN_LOGS).write_text(json.dumps(record, indent=1))
    chain = saved_run.chain_facts(record, saved_run.decoder(folder))
    r = summarise_folder(folder, strategy, chain, gas_price_gwei, database_url)
    check_totals({strategy: r.summary})
    copy_sqlite(database_url, folder / saved_run.DATABASE)
    names = write_folder(folder, r)
    return write_html(out, scenario_toml, {strategy: r.summary.to_dict()}, {strategy: names})
