"""The `flexsim` command: one parser built from the command groups, and one way to fail.

Every failure ends with one line, `flexsim: error: ...`, that says what to do, and exit code 1: a
`FlexsimError`, an invalid option (argparse), invalid settings, and (with a request to report it) an
unexpected exception, whose traceback `-vv` shows. SIGTERM unwinds like Ctrl-C (`base.signals`), so
nothing a command started (anvil, services, prosumers) outlives it; anvil also dies with a killed parent.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from base import __version__
from base.errors import FlexsimError
from base.signals import Terminated, raise_on_sigterm
from flexsim.cli import bench, chain, docs, experiment, run, services, verify
from flexsim.cli.options import Handler, Parser

log = logging.getLogger("flexsim")
GROUPS = (chain.group, run.group, experiment.group, services.group, bench.group, docs.group, verify.group)
DESCRIPTION = """The flexsim command: a simulation of an energy flexibility market settled by smart contracts.

Every failure ends with one line, `flexsim: error: ...`, that says what to do, and exit code 1
(-vv shows the traceback of an unexpected one). SIGTERM stops everything a command started.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="flexsim", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"flexsim {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.add_to(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except FlexsimError as exc:
        return _fail(str(exc))
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.own_signals:
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

            return _fail(f"invalid settings: {problems(exc, _settings_prefix(exc.title))}")
        log.debug("unexpected failure", exc_info=True)
        return _fail(
            f"unexpected {type(exc).__name__}: {_one_line(exc)} (a bug? rerun with -vv for the traceback "
            "and report it)"
        )


def _settings_prefix(title: str) -> str | None:
    """The env prefix of the settings class a ValidationError is about (None: not settings)."""
    from base.settings_env import env_prefix

    for cls in docs.settings_classes().values():
        if cls.__name__ == title:
            return env_prefix(cls)
    return None


def _fail(message: str) -> int:
    print(f"flexsim: error: {_one_line(message)}", file=sys.stderr)
    return 1


def _one_line(text: object) -> str:
    return " ".join(str(text).split())
