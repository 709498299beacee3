"""web3's HTTP provider over one keep-alive connection (`base.wire_http`) instead of `requests`.

web3's `HTTPProvider` posts through a `requests.Session` (urllib3 pools, adapters, proxy and netrc
lookups on every request). In a forked prosumer, the first such request dirtied about 2.5 MB of the
memory it shared with its parent: every module, function and class on that path has its reference
counts written. This provider keeps what web3 does around the request (encoding, decoding, caching,
middleware) and sends the bytes over one `base.wire_http` connection (a bare socket: `http.client`'s
answer parsing dirtied about 0.6 MB more), the code the prosumer's uplink already runs, so the chain
and the uplink touch the same code. `contracts.jsonrpc` sends raw JSON-RPC through `_make_request`.

A lock makes the connection usable from the process's threads one request at a time. Connection
errors and timeouts raise `ConnectionError` / `TimeoutError` (retried by `Chain.rpc`); an answer
other than 200 raises `ProviderConnectionError` naming the status.
"""

from __future__ import annotations

import ssl
import threading
from urllib.parse import urlsplit

from web3 import HTTPProvider
from web3.exceptions import ProviderConnectionError
from web3.types import RPCEndpoint

from base.wire_http import WireConnection

HEADERS = {"Content-Type": "application/json"}


class PlainHTTPProvider(HTTPProvider):
    def __init__(self, endpoint_uri: str, timeout_s: float = 30.0, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(
            endpoint_uri, request_kwargs={"timeout": timeout_s}, exception_retry_configuration=None
        )
        parts = urlsplit(endpoint_uri)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._https else 80)
        self._path = parts.path or "/"
        if parts.query:
            self._path += "?" + parts.query
        self._timeout_s = timeout_s
        self._tls = tls
        self._conn = WireConnection(self._host, self._port, self._https, tls)
        self._lock = threading.Lock()

    def _make_request(self, method: RPCEndpoint, request_data: bytes) -> bytes:
        with self._lock:
            try:
                answer = self._conn.request("POST", self._path, request_data, HEADERS, self._timeout_s)
            except OSError as exc:  # the connection is closed; `Chain.rpc` retries these
                if isinstance(exc, (ConnectionError, TimeoutError)):
                    raise
                raise ConnectionError(f"{self.endpoint_uri}: {type(exc).__name__}: {exc}") from None
        if answer.status != 200:
            raise ProviderConnectionError(
                f"{self.endpoint_uri} answered HTTP {answer.status}: {answer.content[:200]!r}"
            )
        return answer.content

    def close(self) -> None:
        """Closes the connection (the next request opens a new one)."""
        with self._lock:
            self._conn.close()
