"""The OpenAPI document: FastAPI's, completed so that it says what the service really answers.

- Request bodies validated by the routes themselves (`aggregator.api.body`) get their schemas.
- A readings batch lists its items as `ReadingIn` *or anything else*: a malformed item is answered per
  item (`rejected` with the reason) inside a 200, not refused with the batch; at most `batch_max_items`.
- Every error answer is `ErrorOut`: FastAPI's default 422 (`HTTPValidationError`) is replaced, and each
  operation gets the errors every operation of its kind can give: 413 with a body, 422 with a body or
  parameters, 401 and 429 with a bearer credential. 429 and 503 document `Retry-After`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from aggregator.api.body import BODY_MODELS
from aggregator.api.responses import RETRY_AFTER, error_response
from aggregator.wire import ErrorOut

REF = "#/components/schemas/{model}"
ERROR_REF = "#/components/schemas/ErrorOut"
METHODS = ("get", "put", "post", "patch", "delete")


def build(app: FastAPI, batch_max_items: int) -> dict[str, Any]:
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components: dict[str, Any] = schema.setdefault("components", {}).setdefault("schemas", {})
    models: list[type[BaseModel]] = [*BODY_MODELS.values(), ErrorOut]
    for model in models:
        definition = model.model_json_schema(ref_template=REF)
        for name, sub in definition.pop("$defs", {}).items():
            components.setdefault(name, sub)
        components[model.__name__] = definition
    _document_batch(components, batch_max_items)
    for item in schema["paths"].values():
        for method in METHODS:
            if method in item:
                _complete(item[method])
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    return schema


def _document_batch(components: dict[str, Any], batch_max_items: int) -> None:
    batch = components.get("ReadingBatchIn")
    if batch is None:
        return
    readings = batch["properties"]["readings"]
    readings["maxItems"] = batch_max_items
    readings["items"] = {
        "anyOf": [
            {"$ref": REF.format(model="ReadingIn")},
            {"description": "Anything else is answered per item as `rejected`, with the reason"},
        ]
    }


def _complete(op: dict[str, Any]) -> None:
    responses: dict[str, Any] = op.setdefault("responses", {})
    secured = bool(op.get("security"))
    has_input = "requestBody" in op or bool(op.get("parameters"))
    wanted = {
        413: "requestBody" in op,
        422: has_input,
        401: secured,
        429: secured,
    }
    for status, needed in wanted.items():
        if needed and (str(status) not in responses or status == 422):
            responses[str(status)] = error_response(status, ERROR_REF)
    for code, answer in responses.items():
        if not code.startswith(("4", "5")):
            continue
        media = answer.setdefault("content", {}).setdefault("application/json", {})
        media.setdefault("schema", {"$ref": ERROR_REF})  # /health's 503 keeps its HealthOut
        if code in ("429", "503") and media["schema"].get("$ref") == ERROR_REF:
            answer.setdefault("headers", RETRY_AFTER)
