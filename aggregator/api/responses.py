"""The documented error answers: every error status an operation can give, all with `ErrorOut`.

Routes name the errors of their own logic (`responses=errors(401, 403, 404)`); `aggregator.api.openapi`
adds those every operation of a kind can give (413 with a body, 422 with parameters or a body, 429 with
a bearer credential). 429 and 503 carry `Retry-After`.
"""

from __future__ import annotations

from typing import Any

from aggregator.wire import ErrorOut

ERROR_EXAMPLES: dict[int, tuple[str, str]] = {
    401: ("unauthorized", "unknown bearer token: log in with POST /auth/challenge and /auth/login"),
    403: ("forbidden", "this endpoint needs the grid operator's credential"),
    404: ("not_found", "no flexibility request 42: list them with GET /requests"),
    409: ("conflict", "request 7 is open; this needs it to be queued"),
    413: ("too_large", "the request body is larger than 65536 bytes: send less (a batch: split it)"),
    422: ("invalid", "body.power_w: Input should be a valid number"),
    429: (
        "rate_limited",
        "too many failed bearer attempts from this client (50 in 60 s): check the credential you send, "
        "and retry after the Retry-After delay",
    ),
    503: (
        "queue_full",
        "the readings queue is full (50000 waiting): nothing was stored; retry after the Retry-After delay",
    ),
}
DESCRIPTIONS = {
    401: "No valid credential",
    403: "A valid credential that may not do this",
    404: "Not found",
    409: "Conflict with the resource's state",
    413: "Request body too large (refused before it is read)",
    422: "Invalid input: `errors` lists each problem",
    429: "Too many requests from this client: retry after `Retry-After` seconds",
    503: "Unavailable now: retry after `Retry-After` seconds",
}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}


def error_response(code: int, ref: str | None = None) -> dict[str, Any]:
    """One documented error answer. With `ref` (the OpenAPI document is being edited) the body schema
    is a reference to `ErrorOut`; without it, FastAPI's `responses=` form (`model`)."""
    error, detail = ERROR_EXAMPLES[code]
    content: dict[str, Any] = {"example": {"error": error, "detail": detail}}
    if ref is not None:
        content["schema"] = {"$ref": ref}
    answer: dict[str, Any] = {"description": DESCRIPTIONS[code], "content": {"application/json": content}}
    if ref is None:
        answer["model"] = ErrorOut
    if code in (429, 503):
        answer["headers"] = RETRY_AFTER
    return answer


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """FastAPI `responses` for the given error statuses, each with the error body and an example."""
    return {code: error_response(code) for code in codes}
