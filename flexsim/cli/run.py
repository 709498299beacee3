"""`flexsim run | report | demo`: the main job, its report, and a quick scripted round."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from base.errors import ConfigError
from flexsim.cli.options import (
    MANIFEST,
    OUT,
    PROSUMERS,
    RPC_URL,
    SCENARIO,
    SEED,
    Group,
    Option,
    aware_datetime,
)
from flexsim.cli.progress import progress

group = Group()


@group.command(
    "run",
    "the main job: run a whole market scenario and write its report",
    SCENARIO(default="quick", help="quick (default), day, stress, volta, or a .toml path"),
    SEED,
    PROSUMERS,
    Option("--strategy", choices=["fair", "reputation", "both"]),
    OUT(help="results folder (default results/<scenario>-<time>)"),
    RPC_URL(help="run on this chain instead of the scenario's (over CHAIN_RPC_URL)"),
    MANIFEST(help="reuse this deployment (over CHAIN_MANIFEST)"),
    Option(
        "--redeploy",
        flag_only=True,
        help="deploy anew on an external chain instead of reusing deployment/chain-<id>/manifest.json",
    ),
)
def run(args: argparse.Namespace) -> int:
    from contracts.settings import ChainSettings
    from simulation.errors import TotalsMismatch
    from simulation.orchestrator import default_out, run_scenario
    from simulation.run_table import closing
    from simulation.scenario import load_scenario

    scenario = load_scenario(args.scenario).with_overrides(
        seed=args.seed, strategy=args.strategy, **{"population.count": args.prosumers}
    )
    if args.prosumers is not None and scenario.ramp.initial > args.prosumers:
        scenario = scenario.with_overrides(**{"ramp.initial": args.prosumers})
    given = {"rpc_url": args.rpc_url, "manifest": args.manifest, "redeploy": args.redeploy or None}
    chain = ChainSettings(**{k: v for k, v in given.items() if v is not None})  # options over CHAIN_*
    out = args.out or default_out(scenario)
    summaries = run_scenario(scenario, out, progress=progress, chain=chain)
    print(closing({s: v.to_dict() for s, v in summaries.items()}, out / "report.html"))
    bad = [s for s, v in summaries.items() if not v.cross_check.matches]
    if bad:
        raise TotalsMismatch(
            f"the chain's settled totals differ from the aggregator database's ({', '.join(bad)}): see "
            f"cross_check in {out / 'summary.json'}"
        )
    return 0


@group.command(
    "report",
    "re-render a finished run's report offline from its folder (or collect one from a live chain)",
    Option("run_dir", nargs="?", help="the run folder `flexsim run` wrote (results/<scenario>-<time>)"),
    RPC_URL(help="read the chain here instead of the run folder's chain-logs.json (e.g. a Volta run)"),
    Option("--gas-price-gwei", type=float, help="state gas costs at this price (default: the price paid)"),
    Option("--aggregator-db", help="live collection: the aggregator's database URL"),
    MANIFEST(help="live collection: the deployment manifest"),
    OUT(help="live collection: report folder"),
    Option("--strategy", default="fair", help="live collection: label of the run (fair or reputation)"),
    Option("--sim-start", type=aware_datetime, help="live collection: simulated start (ISO 8601)"),
    Option("--real-start", type=float, help="live collection: real Unix time of the simulated start"),
    Option("--speed", type=float, help="live collection: simulated seconds per real second"),
    Option("--scenario-note", default="", help="live collection: the scenario's TOML, shown in the report"),
)
def report(args: argparse.Namespace) -> int:
    from simulation.render import render_run
    from simulation.run_table import closing

    if args.run_dir is None:
        return _report_live(args)
    if args.aggregator_db or args.manifest or args.out:
        raise ConfigError("give a RUN_DIR, or --aggregator-db, --manifest and --out for a live collection")
    run_dir = Path(args.run_dir)
    chains = None
    if args.rpc_url:
        from simulation.render import live_chain
        from simulation.saved_run import strategies_in

        chains = {s: live_chain(run_dir / s, args.rpc_url) for s in strategies_in(run_dir)}
    path, summaries = render_run(run_dir, chains, args.gas_price_gwei, progress=progress)
    print(closing({s: v.to_dict() for s, v in summaries.items()}, path))
    return 0


def _report_live(args: argparse.Namespace) -> int:
    """The compose `report` step: chain and database still run; the folder it writes re-renders later."""
    from simulation.collect import ClockMapping
    from simulation.render import render_live
    from simulation.run_table import closing
    from simulation.saved_run import SavedClock

    needed = ("aggregator_db", "manifest", "rpc_url", "out", "sim_start", "real_start", "speed")
    missing = ["--" + n.replace("_", "-") for n in needed if getattr(args, n) is None]
    if missing:
        raise ConfigError(f"give a RUN_DIR, or {', '.join(missing)} for a live collection")
    duration, resolution = _scenario_span(args.scenario_note, args.speed)
    mapping = ClockMapping(args.sim_start.timestamp(), args.real_start, args.speed)
    clock = SavedClock(mapping, duration, resolution)
    path = render_live(
        args.out, args.strategy, args.manifest, args.rpc_url, args.aggregator_db, clock, args.scenario_note,
        args.gas_price_gwei,
    )  # fmt: skip
    summary = json.loads((args.out / args.strategy / "summary.json").read_text())
    print(closing({args.strategy: summary}, path))
    return 0


def _scenario_span(note: str, speed: float) -> tuple[float | None, int]:
    """(simulated duration, power resolution) from a scenario's TOML text, when it is one."""
    import tomllib

    try:
        data = tomllib.loads(note)
    except tomllib.TOMLDecodeError:
        return None, 60
    duration = data.get("duration_s")
    interval = float(data.get("reading_interval_s", 1.0))
    return (None if duration is None else float(duration)), max(60, int(speed * interval))


@group.command(
    "demo",
    "one scripted market round per strategy on an embedded chain (no services)",
    OUT(help="results folder (default results/run-<time>)"),
)
def demo(args: argparse.Namespace) -> int:
    from simulation.demo import run_demo

    summary = run_demo(out_dir=args.out, progress=progress)
    print(json.dumps(summary, indent=2))
    return 0
