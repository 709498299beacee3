"""HTTP/1.1 over one keep-alive socket, with no more code than a JSON client needs.

The prosumers' chain calls (`contracts.plain_provider`) and their uplink (`prosumer.plain_http`)
used `http.client`, whose answer parsing runs the `email` package's header parser. In a forked
prosumer the first request through it dirtied about 1 MB of the memory it shared with its parent
(every function on that path gets its reference counts written), against about 0.45 MB for the same
request over a bare socket (a fork probe against a local server). This module writes the request and
reads the answer itself: a status line, headers split on the first colon, a body by Content-Length,
chunked transfer encoding, or up to the close.

Errors are `OSError`s: the socket's own (refused, reset, `TimeoutError`), or `WireError` for an answer
that is not HTTP/1.x. After any error the connection is closed; the next request opens a new one.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from typing import BinaryIO

MAX_LINE = 65_536
MAX_HEADERS = 100


class WireError(OSError):
    """The server's answer is not well-formed HTTP/1.x (or the connection ended inside it)."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names
    content: bytes
    will_close: bool


class WireConnection:
    """One connection to `host:port` (TLS with `tls` when `https`), opened at the first request and
    again after an error or a `Connection: close`. Not thread safe: callers hold their own lock."""

    def __init__(self, host: str, port: int, https: bool = False, tls: ssl.SSLContext | None = None) -> None:
        self.host, self.port, self.https = host, port, https
        self.tls = tls
        self._sock: socket.socket | None = None
        self._file: BinaryIO | None = None
        default_port = 443 if https else 80
        self._host_header = host if port == default_port else f"{host}:{port}"

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def request(
        self, method: str, path: str, body: bytes, headers: dict[str, str], timeout_s: float
    ) -> Answer:
        try:
            return self._exchange(method, path, body, headers, timeout_s)
        except ValueError as exc:  # a malformed number in the answer (length, chunk size, status)
            self.close()
            raise WireError(f"malformed HTTP answer: {exc}") from None
        except BaseException:
            self.close()  # a broken or half-read connection is not reused
            raise

    def close(self) -> None:
        sock, self._sock = self._sock, None
        file, self._file = self._file, None
        if file is not None:
            file.close()
        if sock is not None:
            sock.close()

    def _exchange(
        self, method: str, path: str, body: bytes, headers: dict[str, str], timeout_s: float
    ) -> Answer:
        if self._sock is None:
            sock = socket.create_connection((self.host, self.port), timeout_s)
            if self.https:
                sock = (self.tls or ssl.create_default_context()).wrap_socket(sock, server_hostname=self.host)
            self._sock, self._file = sock, sock.makefile("rb")
        else:
            self._sock.settimeout(timeout_s)
        assert self._file is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self._host_header}", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self._sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        status, answer_headers = _head(self._file)
        while 100 <= status < 200:  # an interim answer (100 Continue): the real one follows
            status, answer_headers = _head(self._file)
        content = _body(self._file, method, status, answer_headers)
        framed = "content-length" in answer_headers or "transfer-encoding" in answer_headers
        will_close = answer_headers.get("connection", "").lower() == "close" or not (
            framed or method == "HEAD" or status in (204, 304)
        )
        if will_close:
            self.close()
        return Answer(status, answer_headers, content, will_close)


def _line(file: BinaryIO) -> bytes:
    line = file.readline(MAX_LINE + 1)
    if not line:
        raise WireError("the server closed the connection without answering")
    if len(line) > MAX_LINE:
        raise WireError("an answer line longer than 64 kB")
    return line


def _head(file: BinaryIO) -> tuple[int, dict[str, str]]:
    parts = _line(file).split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise WireError(f"not an HTTP/1.x status line: {parts!r}")
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS):
        line = _line(file)
        if line in (b"\r\n", b"\n"):
            return int(parts[1]), headers
        name, sep, value = line.decode("latin-1").partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    raise WireError(f"more than {MAX_HEADERS} answer headers")


def _body(file: BinaryIO, method: str, status: int, headers: dict[str, str]) -> bytes:
    if method == "HEAD" or status in (204, 304):
        return b""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks: list[bytes] = []
        while True:
            size = int(_line(file).split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while _line(file) not in (b"\r\n", b"\n"):  # trailers
                    pass
                return b"".join(chunks)
            chunks.append(_exactly(file, size))
            _line(file)  # the CRLF after the chunk
    length = headers.get("content-length")
    if length is not None:
        return _exactly(file, int(length))
    return file.read()  # up to the close


def _exactly(file: BinaryIO, n: int) -> bytes:
    data = file.read(n)
    if len(data) != n:
        raise WireError(f"the connection ended after {len(data)} of {n} body bytes")
    return data
