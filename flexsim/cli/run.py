"""`flexsim run | console | report | demo`: the main job, the console's sandbox, its report, and a quick
scripted round."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from console.settings import ConsoleSettings

group = Group()

CONSOLE_PORT = Option("--console-port", type=int, help="the console's port (over CONSOLE_PORT; default 8090)")
CONSOLE_HOST = Option(
    "--console-host", help="interface the console listens on (over CONSOLE_HOST; default 127.0.0.1)"
)


def console_settings(args: argparse.Namespace) -> ConsoleSettings:
    from console.settings import ConsoleSettings

    given = {"port": args.console_port, "host": args.console_host}
    return ConsoleSettings(**{k: v for k, v in given.items() if v is not None})  # options over CONSOLE_*


@group.command(
    "run",
    "the main job: run a whole market scenario and write its report",
    SCENARIO(default="quick", help="quick (default), day, stress, volta, or a .toml path"),
    SEED,
    PROSUMERS,
    Option("--strategy", choices=["fair", "reputation", "both"]),
    Option(
        "--answers",
        choices=["direct", "relayed"],
        help="how prosumers answer: own transactions or signed answers the aggregator relays "
        "(docs/relayed-answers.md; over the scenario's answers)",
    ),
    OUT(help="results folder (default results/<scenario>-<time>)"),
    RPC_URL(help="run on this chain instead of the scenario's (over CHAIN_RPC_URL)"),
    MANIFEST(help="reuse this deployment (over CHAIN_MANIFEST)"),
    Option(
        "--redeploy",
        flag_only=True,
        help="deploy anew on an external chain instead of reusing deployment/chain-<id>/manifest.json",
    ),
    Option("--console", flag_only=True, help="serve the live console while the run plays (URL printed)"),
    CONSOLE_PORT,
    CONSOLE_HOST,
)
def run(args: argparse.Namespace) -> int:
    from contracts.settings import ChainSettings
    from simulation.orchestrator import default_out, run_scenario
    from simulation.ramp import with_prosumers
    from simulation.scenario import load_scenario

    scenario = load_scenario(args.scenario).with_overrides(
        seed=args.seed, strategy=args.strategy, answers=args.answers
    )
    if args.prosumers is not None:
        scenario = with_prosumers(scenario, args.prosumers)
    given = {"rpc_url": args.rpc_url, "manifest": args.manifest, "redeploy": args.redeploy or None}
    chain = ChainSettings(**{k: v for k, v in given.items() if v is not None})  # options over CHAIN_*
    console = console_settings(args) if args.console else None
    summaries = run_scenario(
        scenario, args.out or default_out(scenario), progress=progress, chain=chain, console=console
    )
    print(json.dumps({s: v.headline() for s, v in summaries.items()}, indent=2))
    return 0


@group.command(
    "console",
    "an open-ended sandbox with the live console: chain, aggregator, a small fleet, no end (Ctrl-C)",
    SCENARIO(default="console", help="console (default) or a .toml path: its clock, seed and chain"),
    SEED,
    Option("--speed", type=float, help="simulated seconds per real second (default: the scenario's, 60)"),
    OUT(help="results folder (default results/console-<time>)"),
    Option("--duration", type=float, help="stop after this many real seconds (default: never)"),
    CONSOLE_PORT,
    CONSOLE_HOST,
    Option(
        "--attach",
        flag_only=True,
        help="no sandbox: the console on running services (--aggregator-url, --rpc-url, --manifest; "
        "AGGREGATOR_GRID_TOKEN / AGGREGATOR_ADMIN_TOKEN, CHAIN_FUNDER_KEY); what compose runs",
    ),
    Option("--aggregator-url", help="with --attach: the aggregator's base URL"),
    RPC_URL(help="with --attach: the chain's RPC URL"),
    MANIFEST(help="with --attach: the deployment manifest"),
)
def console(args: argparse.Namespace) -> int:
    from simulation.orchestrator import default_out
    from simulation.sandbox import attached, play, sandbox
    from simulation.scenario import load_scenario

    scenario = load_scenario(args.scenario).with_overrides(seed=args.seed, speed=args.speed)
    out = args.out or default_out(scenario)
    if args.attach:
        if not (args.aggregator_url and args.rpc_url and args.manifest):
            raise ConfigError("--attach needs --aggregator-url, --rpc-url and --manifest")
        with attached(
            out, args.aggregator_url, args.rpc_url, args.manifest, progress, console_settings(args)
        ) as box:
            print(f"console: {box.console.url}", flush=True)
            play(box, progress, args.duration)
        return 0
    with sandbox(scenario, out, progress, console_settings(args)) as box:
        print(f"console: {box.console.url}", flush=True)
        play(box, progress, args.duration)
    print(f"console actions: {box.run.out / 'console-actions.json'}")
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
