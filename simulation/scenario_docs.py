"""The README's table of scenario fields, generated from the `Scenario` model: every field (dotted, as
written in a scenario's TOML), its default and its meaning with its unit. `flexsim settings --write
README.md` rewrites the block between its markers; a test checks the README's block is the model's."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from base.errors import ConfigError

BEGIN = "<!-- BEGIN generated scenario fields (flexsim settings --write README.md) -->"
END = "<!-- END generated scenario fields -->"
PATTERN = re.compile(re.escape(BEGIN) + r"\n.*?" + re.escape(END), re.S)


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value: Any = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if value == "":
        return "empty"
    if isinstance(value, datetime):
        return f"`{value.isoformat().replace('+00:00', 'Z')}`"
    if isinstance(value, tuple | list):
        return f"`{json.dumps(list(value))}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    return f"`{value}`"


def _section(model: type[BaseModel]) -> bool:
    return isinstance(model, type) and issubclass(model, BaseModel)


def rows(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    nested = []
    for name, field in model.model_fields.items():
        if _section(field.annotation):  # type: ignore[arg-type]
            nested.append((name, field.annotation))
            continue
        if not field.description:
            raise ConfigError(
                f"scenario field {prefix}{name} has no description: document it (with its unit)"
            )
        meaning = " ".join(field.description.split()).replace("|", "\\|")
        out.append(f"| `{prefix}{name}` | {_default(field)} | {meaning} |")
    for name, inner in nested:
        out += rows(inner, f"{prefix}{name}.")  # type: ignore[arg-type]
    return out


def scenario_table() -> str:
    from simulation.scenario import Scenario

    return "\n".join(["| field | default | meaning |", "|---|---|---|", *rows(Scenario)]) + "\n"


def generated_block() -> str:
    return f"{BEGIN}\n{scenario_table()}{END}"


def replace_block(text: str) -> str:
    """`text` with its scenario block rewritten; a ConfigError when it has none."""
    found = PATTERN.search(text)
    if found is None:
        raise ConfigError(
            f"no generated scenario block: add the lines {BEGIN!r} and {END!r} where it belongs"
        )
    return text[: found.start()] + generated_block() + text[found.end() :]


def blocks_in(text: str) -> list[str]:
    return [m.group(0) for m in PATTERN.finditer(text)]
