"""The uplink's HTTP: one keep-alive connection (`base.wire_http`: a bare socket, not `http.client`,
whose `email` header parsing dirtied a forked prosumer's shared memory).

A prosumer posts a few readings every couple of seconds for as long as it runs. httpx costs about
1.4 ms of CPU per request here (its request and response models, hooks, h11 state machine); a plain
`http.client` connection about 0.4 ms. So the uplink talks through this small `Transport` interface:
`PlainHttp` (the default: one persistent connection, opened again after any error) or `HttpxHttp`
(any `httpx.Client`: how the protocol tests script a server with `httpx.MockTransport`).
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from base.wire_http import WireConnection


class Unreachable(Exception):
    """The request got no answer (connection refused or broken, timeout); nothing is known of it."""


@dataclass
class Reply:
    status_code: int
    content: bytes
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names

    def json(self) -> Any:
        return json.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")


class Transport(Protocol):
    def request(
        self, method: str, path: str, body: bytes, headers: dict[str, str], timeout_s: float
    ) -> Reply: ...

    def close(self) -> None: ...


class PlainHttp:
    """One keep-alive connection to `base_url` (http or https), opened lazily and again after errors."""

    def __init__(self, base_url: str, tls: ssl.SSLContext | None = None) -> None:
        parts = urlsplit(base_url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        self.tls = tls
        self._conn = WireConnection(self.host, self.port, self.https, tls)

    def request(
        self, method: str, path: str, body: bytes, headers: dict[str, str], timeout_s: float
    ) -> Reply:
        try:
            answer = self._conn.request(method, self.prefix + path, body, headers, timeout_s)
        except OSError as exc:  # refused, reset, timed out, not HTTP: the connection is closed
            raise Unreachable(type(exc).__name__) from None
        return Reply(answer.status, answer.content, answer.headers)

    def close(self) -> None:
        self._conn.close()


class HttpxHttp:
    """The same interface over an `httpx.Client` (its base URL, its transport)."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def request(
        self, method: str, path: str, body: bytes, headers: dict[str, str], timeout_s: float
    ) -> Reply:
        try:
            r = self.client.request(method, path, content=body, headers=headers, timeout=timeout_s)
        except httpx.TransportError as exc:
            raise Unreachable(type(exc).__name__) from None
        return Reply(r.status_code, r.content, {k.lower(): v for k, v in r.headers.items()})

    def close(self) -> None:
        self.client.close()
