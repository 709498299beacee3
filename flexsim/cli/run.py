"""`flexsim run | report | demo`: the main job, its report, and a quick scripted round."""

from __future__ import annotations

import argparse
import json

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
    from simulation.orchestrator import default_out, run_scenario
    from simulation.ramp import with_prosumers
    from simulation.scenario import load_scenario

    scenario = load_scenario(args.scenario).with_overrides(seed=args.seed, strategy=args.strategy)
    if args.prosumers is not None:
        scenario = with_prosumers(scenario, args.prosumers)
    given = {"rpc_url": args.rpc_url, "manifest": args.manifest, "redeploy": args.redeploy or None}
    chain = ChainSettings(**{k: v for k, v in given.items() if v is not None})  # options over CHAIN_*
    summaries = run_scenario(scenario, args.out or default_out(scenario), progress=progress, chain=chain)
    print(json.dumps({s: v.headline() for s, v in summaries.items()}, indent=2))
    return 0


@group.command(
    "report",
    "collect a finished run from its chain and database; write the report",
    Option("--aggregator-db", required=True, help="the aggregator's database URL"),
    MANIFEST(required=True),
    RPC_URL(required=True, help="the chain's RPC URL"),
    OUT(required=True, help="report folder"),
    Option("--strategy", default="fair", help="label of the run (fair or reputation)"),
    Option("--sim-start", type=aware_datetime, required=True, help="simulated start (ISO 8601)"),
    Option("--real-start", type=float, required=True, help="real Unix time of the simulated start"),
    Option("--speed", type=float, required=True, help="simulated seconds per real second"),
    Option("--scenario-note", default="", help="text shown as the scenario in the report"),
)
def report(args: argparse.Namespace) -> int:
    from contracts.deployment import Deployment
    from simulation.collect import ClockMapping, collect_run
    from simulation.report import write_csvs, write_html, write_plots
    from simulation.summary import summarise

    d = Deployment.load(args.manifest, rpc_url=args.rpc_url)
    clock = ClockMapping(args.sim_start.timestamp(), args.real_start, args.speed)
    data = collect_run(d, args.aggregator_db, args.strategy, clock)
    summary = summarise(data)
    out = args.out / args.strategy
    out.mkdir(parents=True, exist_ok=True)
    write_csvs(data, out)
    plots = write_plots(data, out, clock.sim)
    print(
        write_html(args.out, args.scenario_note, {args.strategy: summary.to_dict()}, {args.strategy: plots})
    )
    return 0


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
