"""The OpenADR 3.1.1 OpenAPI document (tests/data/openadr3) and JSON Schema validation against it.

OpenAPI 3.0's `nullable: true` becomes JSON Schema's `type: [..., "null"]`; everything else is used as
the document has it.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

SPEC = Path(__file__).resolve().parents[2] / "data" / "openadr3" / "openadr3.yaml"


def _nullable(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _nullable(v) for k, v in node.items()}
        if out.pop("nullable", False):
            if "type" in out:
                out["type"] = [out["type"], "null"]
            elif "$ref" in out or "allOf" in out or "anyOf" in out or "oneOf" in out:
                out = {"anyOf": [out, {"type": "null"}]}
        return out
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


@cache
def document() -> dict[str, Any]:
    # YAML reads the examples' timestamps as datetimes: back to strings, as JSON has them
    loaded: dict[str, Any] = json.loads(json.dumps(yaml.safe_load(SPEC.read_text()), default=str))
    return loaded


@cache
def _validator(schema_name: str) -> Any:
    root = {"$ref": f"#/components/schemas/{schema_name}", "components": _nullable(document())["components"]}
    return jsonschema_rs.Draft4Validator(root, validate_formats=True)


def errors(schema_name: str, instance: Any) -> list[str]:
    """Every way `instance` contradicts `#/components/schemas/<schema_name>` (empty: it conforms)."""
    return [
        f"{'/'.join(map(str, e.instance_path))}: {e.message}"
        for e in _validator(schema_name).iter_errors(instance)
    ]
