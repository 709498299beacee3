"""Errors of the VTN in the specification's `problem` shape (RFC 7807): `{type, title, status, detail}`.

Invalid input is 400 (the specification documents 400, not 422), with `errors` listing each problem.
A failed token request also carries RFC 6749's `error` (e.g. `invalid_client`), which OAuth clients read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from aggregator.errors import AggregatorError
from aggregator.openadr.tokens import TokenError

log = logging.getLogger(__name__)
MEDIA = "application/json"


def problem(status: int, detail: str, **extra: Any) -> dict[str, Any]:
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    return {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}


def respond(status: int, detail: str, headers: Mapping[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse(
        problem(status, detail, **extra), status_code=status, headers=headers, media_type=MEDIA
    )


async def domain_error(request: Request, exc: AggregatorError) -> JSONResponse:
    status = 400 if exc.status_code == 422 else exc.status_code
    extra: dict[str, Any] = {}
    if isinstance(exc, TokenError):
        extra = {"error": exc.oauth_error, "error_description": str(exc)}
    if status >= 500:
        log.warning("%s %s -> %d: %s", request.method, request.url.path, status, exc)
    return respond(status, str(exc), exc.headers(), **extra)


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"type": e["type"], "loc": [str(p) for p in e["loc"]], "msg": e["msg"]} for e in exc.errors()]
    detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors)
    return respond(400, detail, errors=errors)


async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
    if exc.status_code == 404:
        return respond(404, f"no such endpoint: {request.method} {request.url.path}; see docs/openadr.md")
    return respond(exc.status_code, str(exc.detail), exc.headers)


async def internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("%s %s failed: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
    return respond(500, "internal error: the aggregator's log has the details; please report it")


def install(app: FastAPI) -> None:
    app.add_exception_handler(AggregatorError, domain_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, internal_error)
