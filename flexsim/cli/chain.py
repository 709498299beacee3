"""`flexsim compile | chain | deploy | doctor`: the contracts and the chain they run on."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from flexsim.cli.options import JSON, RPC_URL, SCENARIO, Group, Option
from flexsim.cli.progress import progress

group = Group()


@group.command("compile", "compile the contracts (cached)")
def compile_contracts(args: argparse.Namespace) -> int:
    from contracts.compiler import compile_contracts

    artifacts = compile_contracts()
    for name, art in sorted(artifacts.contracts.items()):
        print(f"{name:18} {len(art.runtime) // 2 - 1:6d} bytes runtime")
    print(f"solc {artifacts.solc_version} ({artifacts.origin}), evmVersion {artifacts.evm_version}")
    print(f"artifacts: {artifacts.path}")
    return 0


@group.command(
    "chain",
    "run an embedded anvil chain (London) in the foreground",
    Option("--chain-id", type=int, default=31337),
    Option("--block-time", type=float, help="seconds per block (default: automine)"),
    Option("--gas-limit", type=int, help="block gas limit (Volta: 8000000)"),
    Option("--port", type=int, help="RPC port (default 8545)"),
    Option("--volta-like", flag_only=True, help="chain id 73799, 5 s blocks, 8M gas limit"),
)
def chain(args: argparse.Namespace) -> int:
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


@group.command(
    "deploy",
    "deploy the contracts and write a manifest",
    RPC_URL(required=True),
    Option("--out", type=Path, default=Path("deployment/manifest.json"), help="manifest path"),
    Option("--aggregator", help="aggregator address (default: the deployer)"),
)
def deploy(args: argparse.Namespace) -> int:
    from simulation.bootstrap import deploy_to

    manifest_path = deploy_to(args.rpc_url, args.out, aggregator=args.aggregator, progress=progress)
    print(manifest_path)
    return 0


@group.command(
    "doctor",
    "check a chain (and funded keys) before a run",
    RPC_URL(required=True, help="HTTP RPC URL (Volta: https://volta-rpc.energyweb.org)"),
    Option("--chain-id", type=int, help="expected chain id (default CHAIN_CHAIN_ID)"),
    SCENARIO(help="check balances against this scenario's needs"),
    JSON(help="print the checks as JSON"),
)
def doctor(args: argparse.Namespace) -> int:
    from contracts.settings import ChainSettings
    from simulation.doctor import as_json, report, run_checks
    from simulation.scenario import load_scenario

    scenario = load_scenario(args.scenario) if args.scenario else None
    checks = run_checks(args.rpc_url, ChainSettings(), scenario, args.chain_id)
    text, ok = report(checks)
    print(json.dumps(as_json(checks), indent=2) if args.json else text)
    return 0 if ok else 1
