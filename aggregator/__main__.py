"""`python -m aggregator` (and `flexsim aggregator`): run the aggregator service with uvicorn.

Settings come from `AGGREGATOR_*` environment variables; the options below override a few of them.
uvicorn picks uvloop and httptools when they are installed (they are flexsim dependencies).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported lazily: `flexsim --help` must stay fast
    from aggregator.settings import AggregatorSettings


def serve(settings: AggregatorSettings) -> None:
    import uvicorn

    from aggregator.chain_services import build_app
    from aggregator.logs import configure

    configure(settings.log_format)
    app = build_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, access_log=False, log_config=None, lifespan="on")


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=None, help="listen address (AGGREGATOR_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (AGGREGATOR_PORT, default 8000)")
    parser.add_argument("--database-url", default=None, help="SQLAlchemy URL (AGGREGATOR_DATABASE_URL)")
    parser.add_argument("--rpc-url", default=None, help="chain RPC URL (AGGREGATOR_RPC_URL)")
    parser.add_argument("--manifest", default=None, help="deployment manifest (AGGREGATOR_MANIFEST)")


def settings_from(args: argparse.Namespace) -> AggregatorSettings:
    from pydantic import ValidationError

    from aggregator.settings import AggregatorSettings
    from base.errors import ConfigError
    from base.validation import problems

    overrides = {
        name: value
        for name in ("host", "port", "database_url", "rpc_url", "manifest")
        if (value := getattr(args, name, None)) is not None
    }
    try:
        return AggregatorSettings(**overrides)
    except ValidationError as exc:
        raise ConfigError(f"invalid aggregator settings: {problems(exc, 'AGGREGATOR_')}") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aggregator", description=__doc__)
    add_options(parser)
    args = parser.parse_args(argv)
    from base.errors import FlexsimError

    try:
        serve(settings_from(args))
    except FlexsimError as exc:
        print(f"aggregator: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
