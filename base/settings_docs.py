"""The documentation of a settings class, generated from the class: the README's settings tables.

One row per field: its environment variable, its default (as it would be written in the environment,
`base.settings_env.env_value`) and its description. `flexsim settings --write README.md` rewrites the
README's generated blocks, and a test checks they equal what the classes say, so the docs cannot drift.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from base.errors import ConfigError
from base.settings_env import env_name, env_value

BEGIN = "<!-- BEGIN generated settings: {name} (flexsim settings --write README.md) -->"
END = "<!-- END generated settings: {name} -->"


def default_text(field: FieldInfo) -> str:
    """A field's default for humans: `required`, `unset`, `empty`, or the value in backticks (a path
    under the home folder written with `~`, so the text does not depend on the machine)."""
    if field.is_required():
        return "required"
    value: Any = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if value == "":
        return "empty"
    if isinstance(value, Path):
        home = Path.home()
        value = Path("~") / value.relative_to(home) if value.is_relative_to(home) else value
    return f"`{env_value(value)}`"


def settings_table(settings: type[BaseSettings]) -> str:
    """The Markdown table of every setting of `settings`: variable, default, meaning."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in settings.model_fields.items():
        if not field.description:
            raise ConfigError(f"{settings.__name__}.{name} has no description: document the setting")
        meaning = " ".join(field.description.split()).replace("|", "\\|")
        rows.append(f"| `{env_name(settings, name)}` | {default_text(field)} | {meaning} |")
    return "\n".join(rows) + "\n"


def generated_block(name: str, settings: type[BaseSettings]) -> str:
    return f"{BEGIN.format(name=name)}\n{settings_table(settings)}{END.format(name=name)}"


def block_pattern(name: str) -> re.Pattern[str]:
    return re.compile(re.escape(BEGIN.format(name=name)) + r"\n.*?" + re.escape(END.format(name=name)), re.S)


def replace_blocks(text: str, classes: dict[str, type[BaseSettings]]) -> str:
    """`text` with each generated block of `classes` (name -> class) rewritten; a ConfigError names a
    block that is missing (add its two marker lines where the table belongs)."""
    for name, settings in classes.items():
        found = block_pattern(name).search(text)
        if found is None:
            raise ConfigError(
                f"no generated block for {name!r}: add the lines {BEGIN.format(name=name)!r} and "
                f"{END.format(name=name)!r} where its table belongs"
            )
        text = text[: found.start()] + generated_block(name, settings) + text[found.end() :]
    return text


def blocks_in(text: str, name: str) -> list[str]:
    """Every generated block of `name` in `text`, as written."""
    return [m.group(0) for m in block_pattern(name).finditer(text)]
