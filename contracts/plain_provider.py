"""web3's HTTP provider over one keep-alive `http.client` connection instead of `requests`.

web3's `HTTPProvider` posts through a `requests.Session` (urllib3 pools, adapters, proxy and netrc
lookups on every request). In a forked prosumer, the first such request dirtied about 2.5 MB of the
memory it shared with its parent: every module, function and class on that path has its reference
counts written. This provider keeps what web3 does around the request (encoding, decoding, caching,
middleware) and sends the bytes over one `http.client` connection, the library the prosumer's
uplink already runs, so the chain and the uplink touch the same code.

A lock makes the connection usable from the process's threads one request at a time. Connection
errors and timeouts raise `ConnectionError` / `TimeoutError` (retried by `Chain.rpc`); an answer
other than 200 raises `ProviderConnectionError` naming the status.
"""

from __future__ import annotations

import http.client
import ssl
import threading
from urllib.parse import urlsplit

from web3 import HTTPProvider
from web3.exceptions import ProviderConnectionError
from web3.types import RPCEndpoint

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
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def _make_request(self, method: RPCEndpoint, request_data: bytes) -> bytes:
        with self._lock:
            if self._conn is None:
                self._conn = (
                    http.client.HTTPSConnection(
                        self._host, self._port, timeout=self._timeout_s, context=self._tls
                    )
                    if self._https
                    else http.client.HTTPConnection(self._host, self._port, timeout=self._timeout_s)
                )
            try:
                self._conn.request("POST", self._path, body=request_data, headers=HEADERS)
                answer = self._conn.getresponse()
                content = answer.read()
            except (OSError, http.client.HTTPException) as exc:
                self._close()
                if isinstance(exc, (ConnectionError, TimeoutError)):
                    raise
                raise ConnectionError(f"{self.endpoint_uri}: {type(exc).__name__}: {exc}") from None
            if answer.will_close:
                self._close()
        if answer.status != 200:
            raise ProviderConnectionError(
                f"{self.endpoint_uri} answered HTTP {answer.status}: {content[:200]!r}"
            )
        return content

    def close(self) -> None:
        """Closes the connection (the next request opens a new one)."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
