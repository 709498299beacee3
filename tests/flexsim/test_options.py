"""The CLI's shared options and the options it takes from a model's fields (no chain, no subprocess)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field, field_validator

from base.errors import ConfigError
from flexsim.cli import build_parser
from flexsim.cli.options import RPC_URL, Group, Option, Parser, add_all, model_from, model_options


class Knobs(BaseModel):
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True)

    count: int = Field(3, description="how many")
    every_s: float = Field(1.0, alias="every", description="real seconds between two")
    sizes: list[int] = Field([1, 2], description="comma-separated")
    folder: Path | None = Field(None, description="where")
    rpc_url: str | None = Field(None, description="a running chain")

    @field_validator("sizes", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return [int(x) for x in value.split(",")] if isinstance(value, str) else value


def parser_for(options: Group) -> argparse.ArgumentParser:
    parser = Parser(prog="t")
    options.add_to(parser.add_subparsers(dest="command", required=True))
    return parser


def test_a_model_is_the_one_declaration_of_its_options() -> None:
    options = model_options(Knobs, rpc_url=RPC_URL)
    assert [o.flag for o in options] == ["--count", "--every", "--sizes", "--folder", "--rpc-url"]
    assert [o.help for o in options][:2] == ["how many", "real seconds between two"]
    group = Group()
    group.command("go", "go", *options)(lambda args: 0)
    args = parser_for(group).parse_args(["go", "--every", "2.5", "--sizes", "4,5", "--folder", "x"])
    knobs = model_from(args, Knobs, options)
    assert (knobs.count, knobs.every_s, knobs.sizes, knobs.folder) == (3, 2.5, [4, 5], Path("x"))


def test_a_value_the_model_refuses_is_one_line_naming_the_option() -> None:
    options = model_options(Knobs)
    args = argparse.Namespace(count=3, every_s=1.0, sizes="1,x", folder=None, rpc_url=None)
    with pytest.raises(ConfigError, match=r"^--sizes '1,x': invalid literal for int"):
        model_from(args, Knobs, options)


def test_a_shared_option_keeps_its_check() -> None:
    group = Group()
    group.command("go", "go", *model_options(Knobs, rpc_url=RPC_URL))(lambda args: 0)
    with pytest.raises(ConfigError, match="'nope' is not an RPC URL"):
        parser_for(group).parse_args(["go", "--rpc-url", "nope"])


def test_options_added_when_the_command_is_chosen_are_parsed() -> None:
    added: list[str] = []

    def late() -> tuple[Option, ...]:
        added.append("late")
        return model_options(Knobs)

    group = Group()
    group.command("go", "go", configure=add_all(late))(lambda args: 0)
    group.command("other", "other")(lambda args: 0)
    parser = parser_for(group)
    assert parser.parse_args(["other"]).command == "other" and added == []
    assert parser.parse_args(["go", "--count", "7"]).count == 7 and added == ["late"]


def test_the_benchmarks_options_come_from_their_models() -> None:
    args = build_parser().parse_args(["bench", "fleet", "--interval", "2", "--prosumers", "3"])
    assert (args.interval_s, args.prosumers, args.seconds, args.json) == (2.0, 3, 60.0, False)
    args = build_parser().parse_args(["bench", "e2e", "--json"])
    assert (args.sizes, args.seed, args.out, args.json) == ("50,200", 21, None, True)
