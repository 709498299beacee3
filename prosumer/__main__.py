"""`python -m prosumer` (and `flexsim prosumer`): run one prosumer, remove its contract, or run a fleet.

    python -m prosumer [run]                  one prosumer (PROSUMER_* settings; options override them)
    python -m prosumer remove                 remove this prosumer's DER contract from the registry
    python -m prosumer fleet --count N        N prosumers (indices --first .. --first+N-1), each its own
                                              process, forked from one preloaded parent (at once, or
                                              with --on-command when 'start I J' arrives on stdin)

Exit codes: 0 after a clean stop (SIGTERM, SIGINT), 1 with a one-line reason on a setup error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prosumer.settings import ProsumerSettings


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action", nargs="?", choices=["run", "remove", "fleet"], default="run", help="default: run"
    )
    parser.add_argument(
        "--aggregator-url", default=None, help="aggregator base URL (PROSUMER_AGGREGATOR_URL)"
    )
    parser.add_argument("--rpc-url", default=None, help="chain RPC URL (PROSUMER_RPC_URL)")
    parser.add_argument("--manifest", type=Path, default=None, help="deployment manifest (PROSUMER_MANIFEST)")
    parser.add_argument("--seed", type=int, default=None, help="population seed (PROSUMER_SEED)")
    parser.add_argument("--index", type=int, default=None, help="prosumer index (PROSUMER_INDEX)")
    parser.add_argument("--key-file", type=Path, default=None, help="key file (PROSUMER_KEY_FILE)")
    parser.add_argument("--count", type=int, default=1, help="fleet: how many prosumers")
    parser.add_argument("--first", type=int, default=0, help="fleet: index of the first prosumer")
    parser.add_argument("--stagger-ms", type=float, default=20.0, help="fleet: delay between two starts")
    parser.add_argument(
        "--on-command", action="store_true",
        help="fleet: preload the prosumers, fork them when 'start I J ...' arrives on stdin; EOF stops all",
    )  # fmt: skip
    parser.add_argument(
        "--keys-file", type=Path, default=None, help="fleet: JSON list of keys, entry I for I"
    )
    parser.add_argument("--pid-map", type=Path, default=None, help="fleet: keep {index: {pid, exit}} here")
    parser.add_argument("--log-dir", type=Path, default=None, help="fleet: one log file per prosumer here")
    parser.add_argument(
        "--setup-slots", type=int, default=None,
        help="fleet: prosumers setting up at once at most (default 4 per CPU; 0: no bound)",
    )  # fmt: skip


def load_settings(args: argparse.Namespace) -> ProsumerSettings:
    """Settings from the environment with the command-line overrides; invalid values are a ConfigError."""
    from pydantic import ValidationError

    from base.errors import ConfigError
    from base.validation import problems
    from prosumer.settings import ProsumerSettings

    names = ("aggregator_url", "rpc_url", "manifest", "seed", "index", "key_file")
    overrides: dict[str, Any] = {n: v for n in names if (v := getattr(args, n, None)) is not None}
    try:
        return ProsumerSettings(**overrides)
    except ValidationError as exc:
        raise ConfigError(f"invalid prosumer settings: {problems(exc, 'PROSUMER_')}") from None


def run(args: argparse.Namespace) -> int:
    """Runs the action; `FlexsimError`s propagate to the caller (one-line error, exit 1)."""
    # One BLAS thread: the DER models never multiply matrices, and every idle BLAS thread costs memory in
    # each of a fleet's processes. Set before numpy is first imported (nothing here imported it yet).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from prosumer.logs import configure_logging

    settings = load_settings(args)
    if args.action == "fleet":
        from prosumer.fleet import FleetOptions, default_setup_slots, run_fleet

        configure_logging("fleet")
        opts = FleetOptions(
            stagger_s=args.stagger_ms / 1000,
            on_command=args.on_command,
            keys_file=args.keys_file,
            pid_map=args.pid_map,
            log_dir=args.log_dir,
            setup_slots=default_setup_slots() if args.setup_slots is None else args.setup_slots,
        )
        return run_fleet(settings, list(range(args.first, args.first + args.count)), opts)
    configure_logging(f"prosumer-{'auto' if settings.index is None else settings.index}")
    if args.action == "remove":
        from prosumer.agent import resolve_key
        from prosumer.chain_side import ChainSide

        ChainSide.connect(settings, resolve_key(settings)).remove()
        return 0
    from prosumer.agent import Agent

    agent = Agent(settings)
    agent.install_signals()
    return agent.run()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m prosumer", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    add_options(parser)
    args = parser.parse_args(argv)
    from base.errors import FlexsimError
    from domain.errors import DomainError

    try:
        return run(args)
    except (FlexsimError, DomainError) as exc:
        print(f"prosumer: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
