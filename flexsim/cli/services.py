"""`flexsim aggregator | prosumer | grid-operator`: the processes of a market, one service each.

Their settings come from `AGGREGATOR_*`, `PROSUMER_*` and `GRID_*` (`flexsim settings` lists them);
the options each takes are declared by the service itself (`python -m aggregator` has the same).
"""

from __future__ import annotations

import argparse

from flexsim.cli.options import Group

group = Group()


def _aggregator_options(parser: argparse.ArgumentParser) -> None:
    from aggregator.__main__ import add_options

    add_options(parser)


def _prosumer_options(parser: argparse.ArgumentParser) -> None:
    from prosumer.__main__ import add_options

    add_options(parser)


@group.command(
    "aggregator",
    "run the aggregator service (AGGREGATOR_* settings)",
    configure=_aggregator_options,
    own_signals=True,  # uvicorn stops on SIGTERM itself
)
def aggregator(args: argparse.Namespace) -> int:
    from aggregator.__main__ import serve, settings_from

    serve(settings_from(args))
    return 0


@group.command(
    "prosumer",
    "run a prosumer (PROSUMER_* settings), remove it, or run a fleet",
    configure=_prosumer_options,
    own_signals=True,  # the agent and the fleet stop cleanly on SIGTERM themselves
)
def prosumer(args: argparse.Namespace) -> int:
    from prosumer.__main__ import run as run_prosumer

    return run_prosumer(args)


@group.command("grid-operator", "send a scenario's requests to the aggregator (GRID_* settings)")
def grid_operator(args: argparse.Namespace) -> int:
    from grid_operator.__main__ import main as grid_main

    return grid_main()
