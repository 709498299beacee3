"""The aggregator's exceptions. Each carries the HTTP status the API answers with.

`aggregator.app` maps every `AggregatorError` to a JSON body `{"error": code, "detail": message}` in one
exception handler; routes and services just raise. Messages say what was wrong and what to do.
"""

from __future__ import annotations

import math

from base.errors import FlexsimError


class AggregatorError(FlexsimError):
    """Root of the aggregator's errors. `status_code` is the HTTP status, `code` a stable short name."""

    status_code = 500
    code = "internal"

    def headers(self) -> dict[str, str]:
        return {}


class Unauthorized(AggregatorError, PermissionError):
    """No valid credential: missing, unknown, expired token, or a failed login (401)."""

    status_code = 401
    code = "unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(AggregatorError, PermissionError):
    """A valid credential that is not allowed to do this (403)."""

    status_code = 403
    code = "forbidden"


class NotFound(AggregatorError, LookupError):
    status_code = 404
    code = "not_found"


class Conflict(AggregatorError):
    """The resource is in a state that does not allow the operation (409)."""

    status_code = 409
    code = "conflict"


class InvalidInput(AggregatorError, ValueError):
    """Well-formed JSON with values that cannot be accepted (422)."""

    status_code = 422
    code = "invalid"


class InvalidReading(InvalidInput):
    """A reading that is physically impossible or inconsistent with the prosumer's contract (422)."""

    code = "invalid_reading"


class PayloadTooLarge(AggregatorError):
    """The request body is larger than the route accepts (413); nothing of it was parsed."""

    status_code = 413
    code = "too_large"

    def headers(self) -> dict[str, str]:
        # The rest of the body is never read: the connection cannot carry another request.
        return {"Connection": "close"}


class RateLimited(AggregatorError):
    """Too many requests of one kind from one client (429); retry after `retry_after_s`."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after_s: float = 1) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, math.ceil(retry_after_s))

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class Unavailable(AggregatorError):
    """The service cannot take the request now; the client should retry after `retry_after_s` (503)."""

    status_code = 503
    code = "unavailable"

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, int(retry_after_s))

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class QueueFull(Unavailable):
    """The writer's queue is full: nothing was stored; retry after the given delay."""

    code = "queue_full"


class StoreUnavailable(Unavailable):
    """The database failed to commit: nothing was acknowledged; retry."""

    code = "store_unavailable"


class RegistryUnavailable(Unavailable):
    """The chain registry cannot be read (no chain configured or RPC down)."""

    code = "registry_unavailable"
