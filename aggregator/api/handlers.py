"""The one place where errors become HTTP answers, all in the README's shape `{"error", "detail"}`.

- `AggregatorError` (domain errors, raised by routes and services): its status, code and headers;
- `RequestValidationError` (a body, path or query parameter that does not fit): 422 `invalid` with
  `errors`, one `{type, loc, msg}` per problem;
- Starlette's `HTTPException` (no such route: 404, wrong method: 405 with `Allow`): the same shape;
- anything else: 500 `internal`, logged with its traceback (the server also logs it).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match

from aggregator.context import AppContext
from aggregator.errors import AggregatorError

log = logging.getLogger(__name__)

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}


def install(app: FastAPI) -> None:
    app.add_exception_handler(AggregatorError, aggregator_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, internal_error)


def error_body(code: str, detail: str) -> dict[str, str]:
    return {"error": code, "detail": detail}


async def aggregator_error(request: Request, exc: AggregatorError) -> JSONResponse:
    if exc.status_code >= 500:
        log.warning("%s %s -> %d: %s", request.method, request.url.path, exc.status_code, exc)
    return JSONResponse(error_body(exc.code, str(exc)), status_code=exc.status_code, headers=exc.headers())


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
    if request.method == "POST" and request.url.path.startswith("/readings"):
        ctx: AppContext = request.app.state.ctx
        ctx.metrics.counter("readings_rejected_total").inc()
    # Only type, location and message: the input may hold NaN or bytes, which JSON cannot carry.
    listed = [{"type": e["type"], "loc": [str(p) for p in e["loc"]], "msg": e["msg"]} for e in errors]
    return JSONResponse({**error_body("invalid", detail), "errors": listed}, status_code=422)


async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
    if exc.status_code == 404:
        detail = f"no such endpoint: {request.method} {request.url.path}; the API is described at /docs"
    elif exc.status_code == 405:
        allow = _allowed(request)
        headers = {**(exc.headers or {}), "Allow": allow}
        detail = f"{request.method} is not allowed on {request.url.path}; it answers {allow}"
        return JSONResponse(error_body("method_not_allowed", detail), status_code=405, headers=headers)
    else:
        detail = str(exc.detail)
    code = HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    return JSONResponse(error_body(code, detail), status_code=exc.status_code, headers=exc.headers)


def _allowed(request: Request) -> str:
    """Every method some route answers on this path (Starlette's `Allow` names the first route's only)."""
    allowed = []
    for method in METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


async def internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("%s %s failed: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
    detail = "internal error: the aggregator's log has the details; please report it"
    return JSONResponse(error_body("internal", detail), status_code=500)
