"""The `flexsim` command. Subcommands import their modules lazily so each stays fast to start.

Every failure ends with one line, `flexsim: error: ...`, that says what to do, and exit code 1: a
`FlexsimError`, an invalid option (argparse), invalid settings, and (with a request to report it) an
unexpected exception, whose traceback `-vv` shows. SIGTERM unwinds like Ctrl-C (`base.signals`), so
nothing a command started (anvil, services, prosumers) outlives it; anvil also dies with a killed parent.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import NoReturn

from base import __version__
from base.errors import ConfigError, FlexsimError
from base.signals import Terminated, raise_on_sigterm

Handler = Callable[[argparse.Namespace], int]
log = logging.getLogger("flexsim")
# Commands that handle SIGTERM themselves (uvicorn, the prosumer agent and fleet).
OWN_SIGNALS = {"aggregator", "prosumer"}
SETTINGS_PREFIXES = {
    "ChainSettings": "CHAIN_",
    "AggregatorSettings": "AGGREGATOR_",
    "ProsumerSettings": "PROSUMER_",
    "GridSettings": "GRID_",
}


class Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line and exit 1, like every other failure."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{message}: see `{self.prog} --help`")


def rpc_url(text: str) -> str:
    """An `--rpc-url` value, checked before anything connects."""
    from contracts.chain import check_rpc_url

    try:
        return check_rpc_url(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _progress(message: str) -> None:
    print(f"· {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- chain commands


def cmd_compile(args: argparse.Namespace) -> int:
    from contracts.compiler import compile_contracts

    artifacts = compile_contracts()
    for name, art in sorted(artifacts.contracts.items()):
        print(f"{name:18} {len(art.runtime) // 2 - 1:6d} bytes runtime")
    print(f"solc {artifacts.solc_version} ({artifacts.origin}), evmVersion {artifacts.evm_version}")
    print(f"artifacts: {artifacts.path}")
    return 0


def cmd_chain(args: argparse.Namespace) -> int:
    from contracts.anvil import AnvilConfig, start_anvil

    if args.volta_like:
        config = AnvilConfig.volta_like(port=args.port)
    else:
        config = AnvilConfig(
            chain_id=args.chain_id,
            block_time_s=args.block_time,
            gas_limit=args.gas_limit,
            port=args.port or 8545,
        )
    with start_anvil(config) as anvil:
        mining = (
            f"a block every {config.block_time_s:g} s" if config.block_time_s else "a block per transaction"
        )
        print(f"anvil (london, chain id {config.chain_id}, {mining}) at {anvil.rpc_url}", flush=True)
        print(
            "deploy with: flexsim deploy --rpc-url " + anvil.rpc_url + "   (Ctrl-C stops the chain)",
            flush=True,
        )
        try:
            anvil.process.wait()
        except KeyboardInterrupt:
            pass
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    from simulation.bootstrap import deploy_to

    manifest_path = deploy_to(args.rpc_url, args.out, aggregator=args.aggregator, progress=_progress)
    print(manifest_path)
    return 0


# ---------------------------------------------------------------------------- main job


def cmd_run(args: argparse.Namespace) -> int:
    from contracts.settings import ChainSettings
    from simulation.orchestrator import default_out, run_scenario
    from simulation.scenario import load_scenario

    scenario = load_scenario(args.scenario).with_overrides(
        seed=args.seed, strategy=args.strategy, **{"population.count": args.prosumers}
    )
    if args.prosumers is not None and scenario.ramp.initial > args.prosumers:
        scenario = scenario.with_overrides(**{"ramp.initial": args.prosumers})
    given = {"rpc_url": args.rpc_url, "manifest": args.manifest, "redeploy": args.redeploy or None}
    chain = ChainSettings(**{k: v for k, v in given.items() if v is not None})  # options over CHAIN_*
    summaries = run_scenario(scenario, args.out or default_out(scenario), progress=_progress, chain=chain)
    print(json.dumps({s: v.headline() for s, v in summaries.items()}, indent=2))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
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
    summaries = {args.strategy: summary.to_dict()}
    print(write_html(args.out, args.scenario_note, summaries, {args.strategy: plots}))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from simulation.demo import run_demo

    summary = run_demo(out_dir=args.out, progress=_progress)
    print(json.dumps(summary, indent=2))
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from contracts.settings import ChainSettings
    from simulation.doctor import as_json, report, run_checks
    from simulation.scenario import load_scenario

    scenario = load_scenario(args.scenario) if args.scenario else None
    checks = run_checks(args.rpc_url, ChainSettings(), scenario, args.chain_id)
    text, ok = report(checks)
    print(json.dumps(as_json(checks), indent=2) if args.json else text)
    return 0 if ok else 1


def cmd_grid_operator(args: argparse.Namespace) -> int:
    from grid_operator.__main__ import main as grid_main

    return grid_main()


# ---------------------------------------------------------------------------- services


def cmd_aggregator(args: argparse.Namespace) -> int:
    from aggregator.__main__ import serve, settings_from

    serve(settings_from(args))
    return 0


# ---------------------------------------------------------------------------- benchmarks


def cmd_bench_gas(args: argparse.Namespace) -> int:
    from benchmarks.gas import run

    results = run(prosumers=args.prosumers, progress=_progress)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for name, value in results["gas"].items():
            print(f"{name:45} {value}")
        for name, t in results["targets"].items():
            print(f"target {name}: {t['measured']} <= {t['target_max']}: {'met' if t['met'] else 'MISSED'}")
    met = all(t["met"] for t in results["targets"].values()) and results["batch"]["met"]
    return 0 if met else 3


def cmd_bench_ingest(args: argparse.Namespace) -> int:
    from benchmarks.ingest import Options, run, to_json

    opts = Options(
        prosumers=args.prosumers,
        seconds=args.seconds,
        batch_size=args.batch_size,
        batch_clients=args.batch_clients,
        batch_readings=args.batch_readings,
        database_url=args.database_url,
    )
    results = run(opts, progress=_progress)
    if args.json:
        print(to_json(results))
    else:
        s, b, r = results["single"], results["batch"], results["raw_store"]
        lat = s["latency_ms"]
        print(f"single: {s['readings_per_s']} readings/s, p50 {lat['p50']} ms, p99 {lat['p99']} ms")
        print(f"batch:  {b['readings_per_s']} readings/s (raw store ceiling {r['readings_per_s']} rows/s)")
        for name, t in results["targets"].items():
            print(f"target {name}: {t['measured']}: {'met' if t['met'] else 'MISSED'}")
    return 0


# ---------------------------------------------------------------------------- parser


def _aware_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a timezone, e.g. {text}Z")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="flexsim", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"flexsim {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("compile", help="compile the contracts (cached)")
    p.set_defaults(handler=cmd_compile)

    p = sub.add_parser("chain", help="run an embedded anvil chain (London) in the foreground")
    p.add_argument("--chain-id", type=int, default=31337)
    p.add_argument("--block-time", type=float, default=None, help="seconds per block (default: automine)")
    p.add_argument("--gas-limit", type=int, default=None, help="block gas limit (Volta: 8000000)")
    p.add_argument("--port", type=int, default=None, help="RPC port (default 8545)")
    p.add_argument("--volta-like", action="store_true", help="chain id 73799, 5 s blocks, 8M gas limit")
    p.set_defaults(handler=cmd_chain)

    p = sub.add_parser("deploy", help="deploy the contracts and write a manifest")
    p.add_argument("--rpc-url", type=rpc_url, required=True, help="HTTP RPC URL of the chain")
    p.add_argument("--out", type=Path, default=Path("deployment/manifest.json"), help="manifest path")
    p.add_argument("--aggregator", default=None, help="aggregator address (default: the deployer)")
    p.set_defaults(handler=cmd_deploy)

    p = sub.add_parser("run", help="the main job: run a whole market scenario and write its report")
    p.add_argument("--scenario", default="quick", help="quick (default), day, stress, volta, or a .toml path")
    p.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    p.add_argument("--prosumers", type=int, default=None, help="override the population size")
    p.add_argument("--strategy", choices=["fair", "reputation", "both"], default=None)
    p.add_argument(
        "--out", type=Path, default=None, help="results folder (default results/<scenario>-<time>)"
    )
    p.add_argument(
        "--rpc-url",
        type=rpc_url,
        default=None,
        help="run on this chain instead of the scenario's (over CHAIN_RPC_URL)",
    )
    p.add_argument("--manifest", type=Path, default=None, help="reuse this deployment (over CHAIN_MANIFEST)")
    p.add_argument(
        "--redeploy",
        action="store_true",
        help="deploy anew on an external chain instead of reusing deployment/chain-<id>/manifest.json",
    )
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("report", help="collect a finished run from its chain and database; write the report")
    p.add_argument("--aggregator-db", required=True, help="the aggregator's database URL")
    p.add_argument("--manifest", type=Path, required=True, help="the deployment manifest")
    p.add_argument("--rpc-url", type=rpc_url, required=True, help="the chain's RPC URL")
    p.add_argument("--out", type=Path, required=True, help="report folder")
    p.add_argument("--strategy", default="fair", help="label of the run (fair or reputation)")
    p.add_argument("--sim-start", type=_aware_datetime, required=True, help="simulated start (ISO 8601)")
    p.add_argument("--real-start", type=float, required=True, help="real Unix time of the simulated start")
    p.add_argument("--speed", type=float, required=True, help="simulated seconds per real second")
    p.add_argument("--scenario-note", default="", help="text shown as the scenario in the report")
    p.set_defaults(handler=cmd_report)

    p = sub.add_parser(
        "demo", help="one scripted market round per strategy on an embedded chain (no services)"
    )
    p.add_argument("--out", type=Path, default=None, help="results folder (default results/run-<time>)")
    p.set_defaults(handler=cmd_demo)

    p = sub.add_parser("doctor", help="check a chain (and funded keys) before a run")
    p.add_argument(
        "--rpc-url", type=rpc_url, required=True, help="HTTP RPC URL (Volta: https://volta-rpc.energyweb.org)"
    )
    p.add_argument("--chain-id", type=int, default=None, help="expected chain id (default CHAIN_CHAIN_ID)")
    p.add_argument("--scenario", default=None, help="check balances against this scenario's needs")
    p.add_argument("--json", action="store_true", help="print the checks as JSON")
    p.set_defaults(handler=cmd_doctor)

    p = sub.add_parser("grid-operator", help="send a scenario's requests to the aggregator (GRID_* settings)")
    p.set_defaults(handler=cmd_grid_operator)

    p = sub.add_parser("aggregator", help="run the aggregator service (AGGREGATOR_* settings)")
    from aggregator.__main__ import add_options

    add_options(p)
    p.set_defaults(handler=cmd_aggregator)

    bench = sub.add_parser("bench", help="benchmarks that print JSON").add_subparsers(
        dest="bench", required=True, metavar="BENCH"
    )
    p = bench.add_parser("gas", help="gas per contract operation on a fresh London anvil")
    p.add_argument("--json", action="store_true", help="print the full JSON")
    p.add_argument("--prosumers", type=int, default=360, help="prosumers registered (>= 250)")
    p.set_defaults(handler=cmd_bench_gas)

    p = bench.add_parser("ingest", help="readings ingest through the real aggregator service")
    p.add_argument("--json", action="store_true", help="print the full JSON")
    p.add_argument("--prosumers", type=int, default=64, help="registered, logged-in clients (single phase)")
    p.add_argument("--seconds", type=float, default=10.0, help="duration of the single-reading phase")
    p.add_argument("--batch-size", type=int, default=1000, help="readings per batch POST")
    p.add_argument("--batch-clients", type=int, default=4, help="concurrent batch clients")
    p.add_argument("--batch-readings", type=int, default=200_000, help="readings sent in batches")
    p.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    p.set_defaults(handler=cmd_bench_ingest)

    p = bench.add_parser("fleet", help="memory, CPU and on-time readings of N prosumer processes")
    p.add_argument("--json", action="store_true", help="print the full JSON")
    p.add_argument("--prosumers", type=int, default=100, help="prosumer processes")
    p.add_argument("--seconds", type=float, default=60.0, help="measured period, once all stream")
    p.add_argument("--interval", type=float, default=1.0, help="real seconds between readings")
    p.add_argument("--seed", type=int, default=0, help="population seed")
    p.add_argument("--rpc-url", type=rpc_url, default=None, help="a running chain (default: start anvil)")
    p.add_argument("--manifest", type=Path, default=None, help="its deployment manifest")
    p.add_argument("--aggregator-url", default=None, help="a running aggregator (default: start one)")
    p.add_argument("--database-url", default=None, help="that aggregator's database (for received_at)")
    p.add_argument("--admin-token", default=None, help="that aggregator's admin token (for its clock)")
    p.set_defaults(handler=cmd_bench_fleet)

    p = bench.add_parser("e2e", help="request latencies of the whole market against the chain's bound")
    p.add_argument("--json", action="store_true", help="print the full JSON")
    p.add_argument("--sizes", default="50,200", help="prosumer counts, comma-separated")
    p.add_argument("--requests", type=int, default=4, help="requests per size (at most)")
    p.add_argument("--speed", type=float, default=120.0, help="simulated seconds per real second")
    p.add_argument("--out", type=Path, default=None, help="keep the runs' folders here")
    p.set_defaults(handler=cmd_bench_e2e)

    p = sub.add_parser("prosumer", help="run a prosumer (PROSUMER_* settings), remove it, or run a fleet")
    from prosumer.__main__ import add_options as add_prosumer_options

    add_prosumer_options(p)
    p.set_defaults(handler=cmd_prosumer)
    return parser


def cmd_prosumer(args: argparse.Namespace) -> int:
    from prosumer.__main__ import run as run_prosumer

    return run_prosumer(args)


def cmd_bench_fleet(args: argparse.Namespace) -> int:
    from benchmarks.fleet import Options, run

    opts = Options(
        prosumers=args.prosumers,
        seconds=args.seconds,
        interval_s=args.interval,
        seed=args.seed,
        rpc_url=args.rpc_url,
        manifest=args.manifest,
        aggregator_url=args.aggregator_url,
        database_url=args.database_url,
        admin_token=args.admin_token,
    )
    results = run(opts, progress=_progress)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        m, c, r = results["memory_mb"], results["cpu"], results["readings"]
        print(f"USS {m['uss']['mean']} MB mean, {m['uss']['max']} MB max; RSS {m['rss']['mean']} MB mean")
        print(f"CPU {c['prosumers_ms_per_reading']} ms per reading; {r['within_2s']}/{r['taken']} within 2 s")
        for name, t in results["targets"].items():
            print(f"target {name}: {t['measured']}: {'met' if t['met'] else 'MISSED'}")
    return 0


def cmd_bench_e2e(args: argparse.Namespace) -> int:
    from base.errors import ConfigError
    from benchmarks.e2e import Options, run

    try:
        sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--sizes {args.sizes!r}: give prosumer counts like 50,200") from None
    opts = Options(sizes=sizes, requests=args.requests, speed=args.speed, out=args.out)
    results = run(opts, progress=_progress)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for size in results["sizes"]:
            for stage, v in size["stages"].items():
                print(
                    f"{size['prosumers']:4d} prosumers {stage:22} measured {v.get('measured_mean_s')} s, "
                    f"bound {v.get('bound_mean_s')} s, ratio {v.get('ratio')}"
                )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except FlexsimError as exc:
        return _fail(str(exc))
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command not in OWN_SIGNALS:
        raise_on_sigterm()
    handler: Handler = args.handler
    try:
        return handler(args)
    except FlexsimError as exc:
        return _fail(str(exc))
    except Terminated:
        print("flexsim: stopped (SIGTERM)", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("flexsim: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, or a failure no layer turned into a FlexsimError yet
        from pydantic import ValidationError

        if isinstance(exc, ValidationError):
            from base.validation import problems

            return _fail(f"invalid settings: {problems(exc, SETTINGS_PREFIXES.get(exc.title))}")
        log.debug("unexpected failure", exc_info=True)
        return _fail(
            f"unexpected {type(exc).__name__}: {_one_line(exc)} (a bug? rerun with -vv for the traceback "
            "and report it)"
        )


def _fail(message: str) -> int:
    print(f"flexsim: error: {_one_line(message)}", file=sys.stderr)
    return 1


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


if __name__ == "__main__":
    sys.exit(main())
