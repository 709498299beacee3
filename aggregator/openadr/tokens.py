"""OAuth2 client credentials for the VTN (RFC 6749 section 4.4) and who a bearer token belongs to.

Two roles, as the specification names them:

- business logic (`bl`): the grid operator. Client id: `AGGREGATOR_OPENADR_CLIENT_ID` (default
  `grid-operator`); client secret: the grid operator's credential `AGGREGATOR_GRID_TOKEN`.
- VEN (`ven`): a prosumer. Client id: its address; client secret: a bearer token it got from the
  native signed-nonce login (`POST /auth/login`), so no second secret is handed out.

`POST /auth/token` takes the credentials as HTTP Basic or in the form body and returns an opaque
bearer token, kept in memory with its expiry. The VTN also accepts the native credentials directly as
bearer tokens (the specification's `bearerAuth` scheme).
"""

from __future__ import annotations

import base64
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote_plus

from aggregator.errors import Unauthorized

Role = Literal["bl", "ven"]
MAX_TOKENS = 10_000


@dataclass(frozen=True)
class Client:
    role: Role
    client_id: str  # the grid operator's client id, or the prosumer's address (lower case)


class TokenError(Unauthorized):
    """A token request that fails; `oauth_error` is RFC 6749's error code."""

    def __init__(self, message: str, oauth_error: str = "invalid_client", status: int = 401) -> None:
        super().__init__(message)
        self.oauth_error = oauth_error
        self.status_code = status


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(client_id, client_secret) of an `Authorization: Basic` header (form-encoded parts, RFC 6749
    2.3.1), else None."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except ValueError:
        raise TokenError("the Basic credentials are not base64 of 'client_id:client_secret'") from None
    user, sep, password = decoded.partition(":")
    if not sep:
        raise TokenError("the Basic credentials are not base64 of 'client_id:client_secret'")
    return unquote_plus(user), unquote_plus(password)


class TokenBook:
    """Opaque bearer tokens issued by `POST /auth/token`, in memory (a restart forgets them)."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.time) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[Client, float]] = {}

    def issue(self, client: Client) -> str:
        token = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            if len(self._tokens) >= MAX_TOKENS:
                self._tokens = {t: v for t, v in self._tokens.items() if v[1] > now}
                while len(self._tokens) >= MAX_TOKENS:
                    self._tokens.pop(next(iter(self._tokens)))
            self._tokens[token] = (client, now + self.ttl_s)
        return token

    def lookup(self, token: str) -> Client | None:
        with self._lock:
            found = self._tokens.get(token)
            if found is None:
                return None
            if found[1] <= self._clock():
                del self._tokens[token]
                return None
            return found[0]


def same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a.encode(), b.encode())
