"""Reusable command-line options, and commands declared with them (after ape's `ape.cli.options`).

An `Option` is declared once and reused: `RPC_URL(required=True)` is the shared `--rpc-url` (checked
before anything connects) made mandatory for one command. A command whose options are the fields of
a pydantic model (a benchmark's `Options`) takes them from the model with `model_options`: the field's
description is the help, its default the default, its type the type, its alias (if any) the option's
name; `model_from(args, Model)` builds the model from the parsed arguments, and a value the model
refuses is one line naming the option.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from base.errors import ConfigError

if TYPE_CHECKING:  # pydantic is imported by the commands that need it: `flexsim --help` stays fast
    from pydantic import BaseModel

Handler = Callable[[argparse.Namespace], int]
M = TypeVar("M", bound="BaseModel")


class Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line and exit 1, like every other failure, and whose options
    can be added once its command is chosen (`deferred`): `flexsim --help` imports no command's code."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deferred: list[Callable[[argparse.ArgumentParser], None]] = []

    def parse_known_args(self, *args: Any, **kwargs: Any) -> Any:
        while self.deferred:
            self.deferred.pop(0)(self)
        return super().parse_known_args(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{message}: see `{self.prog} --help`")


# ------------------------------------------------------------------------------------- value types


def rpc_url(text: str) -> str:
    """An `--rpc-url` value, checked before anything connects."""
    from contracts.chain import check_rpc_url

    try:
        return check_rpc_url(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def aware_datetime(text: str) -> datetime:
    """An ISO 8601 time with a timezone (`Z` for UTC)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a timezone, e.g. {text}Z")
    return value


# ------------------------------------------------------------------------------------- options


@dataclass(frozen=True)
class Option:
    """One command-line option, declared once; calling it returns a copy with some fields changed."""

    flag: str
    help: str | None = None
    type: Callable[[str], Any] | None = None
    default: Any = None
    required: bool = False
    flag_only: bool = False  # `--json`: present or not
    choices: Sequence[str] | None = None
    dest: str | None = None
    nargs: str | None = None  # a positional argument (`flag` without dashes): "?" or "*"
    repeat: bool = False  # may be given several times (`--set A=1 --set B=2`): a list

    def __call__(self, **changes: Any) -> Option:
        return dataclasses.replace(self, **changes)

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        extra: dict[str, Any] = {}
        if self.dest:  # named after the field; shown after the option's own name
            extra = {"dest": self.dest, "metavar": self.flag.lstrip("-").replace("-", "_").upper()}
        if not self.flag.startswith("-"):
            parser.add_argument(
                self.flag, nargs=self.nargs, default=self.default, choices=self.choices, help=self.help
            )
            return
        if self.flag_only:
            parser.add_argument(self.flag, action="store_true", help=self.help, dest=self.dest)
            return
        if self.type is not None:
            extra["type"] = self.type
        if self.repeat:
            extra["action"] = "append"
        parser.add_argument(
            self.flag,
            default=self.default,
            required=self.required,
            choices=self.choices,
            help=self.help,
            **extra,
        )


JSON = Option("--json", flag_only=True, help="print the full JSON")
RPC_URL = Option("--rpc-url", type=rpc_url, help="HTTP RPC URL of the chain")
MANIFEST = Option("--manifest", type=Path, help="the deployment manifest")
SCENARIO = Option("--scenario", help="quick, day, stress, volta, or a .toml path")
SEED = Option("--seed", type=int, help="override the scenario's seed")
PROSUMERS = Option("--prosumers", type=int, help="override the population size")
OUT = Option("--out", type=Path, help="results folder")


# ------------------------------------------------------------------------------------- commands


Configure = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class Command:
    """A subcommand: its name, one-line help, options and handler. `configure` adds options declared
    elsewhere (a service's own `add_options`, a benchmark's `Options` model) when the command is
    chosen; `own_signals` commands install their own SIGTERM handling."""

    name: str
    help: str
    handler: Handler
    options: tuple[Option, ...] = ()
    configure: Configure | None = None
    own_signals: bool = False

    def add_to(self, sub: argparse._SubParsersAction[Parser]) -> None:
        parser = sub.add_parser(self.name, help=self.help)
        for option in self.options:
            option.add_to(parser)
        if self.configure is not None:
            parser.deferred.append(self.configure)
        parser.set_defaults(handler=self.handler, own_signals=self.own_signals)


@dataclass
class Group:
    """The commands of one module; a named group is a command with subcommands (`flexsim bench gas`)."""

    name: str | None = None
    help: str = ""
    commands: list[Command] = field(default_factory=list)

    def command(
        self,
        name: str,
        help: str,
        *options: Option,
        configure: Configure | None = None,
        own_signals: bool = False,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.commands.append(Command(name, help, handler, options, configure, own_signals))
            return handler

        return register

    def add_to(self, sub: argparse._SubParsersAction[Parser]) -> None:
        if self.name is None:
            for command in self.commands:
                command.add_to(sub)
            return
        parser = sub.add_parser(self.name, help=self.help)
        inner = parser.add_subparsers(dest=self.name, required=True, metavar=self.name.upper())
        for command in self.commands:
            command.add_to(inner)


# ------------------------------------------------------------------------------------- from models


def add_all(options: Callable[[], Iterable[Option]]) -> Configure:
    """A `configure` that adds `options()` (computed when the command is chosen)."""

    def configure(parser: argparse.ArgumentParser) -> None:
        for option in options():
            option.add_to(parser)

    return configure


def model_options(model: type[BaseModel], **shared: Option) -> tuple[Option, ...]:
    """One option per field of `model`: `--<alias or name>` with the field's description as help. A
    field named in `shared` uses that option (its flag and type) with the field's default and help."""
    options = []
    for name, info in model.model_fields.items():
        flag = "--" + (info.alias or name).replace("_", "-")
        base = shared.get(name) or Option(flag, type=_parse_type(info.annotation))
        default = info.get_default(call_default_factory=True)
        if isinstance(default, list):  # shown and parsed as comma-separated text
            default = ",".join(str(v) for v in default)
        options.append(base(help=info.description, default=default, dest=name, required=info.is_required()))
    return tuple(options)


def _parse_type(annotation: Any) -> Callable[[str], Any] | None:
    """The argparse type of a field: its type without None; lists stay text (the model splits them)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]
    if annotation in (int, float, Path):
        return typing.cast(Callable[[str], Any], annotation)
    return None


def model_from(args: argparse.Namespace, model: type[M], options: Iterable[Option] = ()) -> M:
    """`model` from the parsed arguments of its fields; a value it refuses is a ConfigError naming the
    option (`--sizes 'fifty': give prosumer counts like 50,200`)."""
    from pydantic import ValidationError

    values = {name: getattr(args, name) for name in model.model_fields if hasattr(args, name)}
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        flags = {o.dest: o.flag for o in options if o.dest}
        problems = []
        for err in exc.errors(include_url=False):
            name = str(err["loc"][0]) if err["loc"] else ""
            flag = flags.get(name, "--" + name.replace("_", "-"))
            message = err["msg"].removeprefix("Value error, ")
            problems.append(f"{flag} {values.get(name)!r}: {message}")
        raise ConfigError("; ".join(problems)) from None
