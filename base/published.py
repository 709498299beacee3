"""Documents flexsim publishes as JSON: a run's `summary.json`, a benchmark's output.

Each is a pydantic model deriving from `Published`, with a description on every field and a JSON
Schema committed under `docs/schemas/` (`flexsim schema NAME` prints it), so a notebook can rely on
the shape: `RunSummary.model_validate_json(Path("summary.json").read_text())`.

- Unknown keys are refused: a renamed key fails where it is made, not in someone's notebook.
- A key that only some documents have (a figure only some machines or runs give) is declared with
  `absent_when_none(...)`: left out of the JSON when None, and not required by the schema.
- `to_json()` prints as the JSON always was printed (`json.dumps(..., indent=2)`).

Adding a figure: add a field with its description where it is computed, then
`flexsim schema --write docs/schemas` (a test checks the committed schemas equal the models).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Number = int | float  # a figure kept as it was measured: 3 stays 3, 0.5 stays 0.5


def absent_when_none(description: str) -> Any:
    """A field that is left out of the JSON when it is None (and optional in the schema)."""
    return Field(None, description=description, exclude_if=lambda value: value is None)


# Unknown keys are refused. A key that cannot be a field name (`register` is a method of every model)
# is a field with that key as its alias (`register_: int = Field(alias="register")`).
CONFIG = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)


class Part(BaseModel):
    """A part of a published document."""

    model_config = CONFIG

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values, keyed as in the JSON."""
        return self.model_dump(mode="json")


class Published(Part):
    """A JSON document flexsim writes or prints, with a published JSON Schema."""

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def json_schema_text(cls) -> str:
        """The JSON Schema of the document (as committed under `docs/schemas/`)."""
        return json.dumps(cls.model_json_schema(mode="serialization"), indent=2) + "\n"
