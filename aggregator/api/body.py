"""Request bodies: validated from the raw JSON bytes by the route's strict pydantic model.

FastAPI would decode a body with `json.loads` and validate the Python objects, where pydantic is lax
in ways the wire forbids (a datetime from epoch seconds), and a body that is not UTF-8 would be an
undocumented 400. Here every body is validated in JSON mode (`model_validate_json`), so one set of
rules holds for every input and every refusal is a 422 in the README's error shape. The route declares
the body with `json_body(Model)` and documents it with `openapi_extra=documented(Model)`; the models
named that way are added to the OpenAPI components (`aggregator.api.openapi`).
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
BODY_MODELS: dict[str, type[BaseModel]] = {}  # name -> model: request bodies the OpenAPI document lists


def parse(model: type[M], body: bytes) -> M:
    """`body` as `model`, or `RequestValidationError` (422) with each problem located under `body`."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError(body_errors(exc)) from None


def body_errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]


def json_body(model: type[M]) -> Any:
    """A dependency that reads and validates the request body as `model`."""

    async def dependency(request: Request) -> M:
        return parse(model, await request.body())

    dependency.__name__ = f"{model.__name__}_body"
    return Depends(dependency)


def documented(model: type[BaseModel], secured: bool = False) -> dict[str, Any]:
    """`openapi_extra` of a route whose JSON body is `model` (`secured`: a bearer token is checked by
    the route itself, outside FastAPI's dependencies)."""
    BODY_MODELS[model.__name__] = model
    body = {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}
    extra: dict[str, Any] = {"requestBody": {"required": True, "content": body}}
    if secured:
        extra["security"] = [{"HTTPBearer": []}]
    return extra
