"""`flexsim run | console | report | demo`: the main job, the console's sandbox, its report, and a quick
scripted round."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
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
    from simulation.errors import TotalsMismatch
    from simulation.orchestrator import default_out, run_scenario
    from simulation.ramp import with_prosumers
    from simulation.run_table import closing
    from simulation.scenario import load_scenario

    scenario = load_scenario(args.scenario).with_overrides(
        seed=args.seed, strategy=args.strategy, answers=args.answers
    )
    if args.prosumers is not None:
        scenario = with_prosumers(scenario, args.prosumers)
    given = {"rpc_url": args.rpc_url, "manifest": args.manifest, "redeploy": args.redeploy or None}
    chain = ChainSettings(**{k: v for k, v in given.items() if v is not None})  # options over CHAIN_*
    console = console_settings(args) if args.console else None
    out = args.out or default_out(scenario)
    summaries = run_scenario(scenario, out, progress=progress, chain=chain, console=console)
    print(closing({s: v.to_dict() for s, v in summaries.items()}, out / "report.html"))
    bad = [s for s, v in summaries.items() if not v.cross_check.matches]
    if bad:
        raise TotalsMismatch(
            f"the chain's settled totals differ from the aggregator database's ({', '.join(bad)}): see "
            f"cross_check in {out / 'summary.json'}"
        )
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
