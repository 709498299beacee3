"""`base.wire_http` against a real socket server that answers as scripted: framing by length, chunks or
close, keep-alive reuse, and errors that close the connection."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from base.wire_http import WireConnection, WireError


class Scripted:
    """A server that answers each request on a connection with the next of `answers` (raw bytes);
    `None` closes the connection instead of answering. Records what it received and its accepts."""

    def __init__(self, answers: list[bytes | None]) -> None:
        self.answers = list(answers)
        self.requests: list[bytes] = []
        self.accepted = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while self.answers:
            conn, _ = self.sock.accept()
            self.accepted += 1
            with conn, conn.makefile("rb") as f:
                while self.answers:
                    head = b""
                    while not head.endswith(b"\r\n\r\n"):
                        line = f.readline()
                        if not line:
                            break
                        head += line
                    if not head:
                        break
                    length = int(
                        next(h.split(b":")[1] for h in head.split(b"\r\n") if h.startswith(b"Content-Length"))
                    )
                    self.requests.append(head + f.read(length))
                    answer = self.answers.pop(0)
                    if answer is None:
                        break
                    conn.sendall(answer)
                    if b"Connection: close" in answer:
                        break


@pytest.fixture
def make() -> Iterator[type[Scripted]]:
    yield Scripted


def test_answers_framed_by_length_and_chunks_share_one_connection(make):
    server = make([
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Thing: a:b\r\n\r\nhello",
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=1\r\nde\r\n0\r\n\r\n",
    ])  # fmt: skip
    conn = WireConnection("127.0.0.1", server.port)

    first = conn.request("POST", "/a", b'{"x":1}', {"Content-Type": "application/json"}, 5.0)
    second = conn.request("GET", "/b", b"", {}, 5.0)

    assert (first.status, first.content, first.headers["x-thing"], first.will_close) == (
        200,
        b"hello",
        "a:b",
        False,
    )
    assert (second.status, second.content) == (201, b"abcde")
    assert server.accepted == 1
    assert server.requests[0].startswith(b"POST /a HTTP/1.1\r\n")
    assert b"Content-Length: 7\r\n" in server.requests[0] and server.requests[0].endswith(b'{"x":1}')


def test_an_answer_up_to_the_close_and_a_connection_close_open_a_new_connection(make):
    server = make([
        b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it",
        b"HTTP/1.1 204 No Content\r\n\r\n",
    ])  # fmt: skip
    conn = WireConnection("127.0.0.1", server.port)

    first = conn.request("GET", "/", b"", {}, 5.0)
    assert (first.content, first.will_close, conn.connected) == (b"all of it", True, False)
    second = conn.request("GET", "/", b"", {}, 5.0)

    assert (second.status, second.content) == (204, b"")
    assert server.accepted == 2


def test_a_connection_closed_without_an_answer_is_an_os_error_and_is_not_reused(make):
    server = make([None, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"])
    conn = WireConnection("127.0.0.1", server.port)

    with pytest.raises(WireError, match="closed the connection"):
        conn.request("GET", "/", b"", {}, 5.0)
    assert not conn.connected
    assert conn.request("GET", "/", b"", {}, 5.0).content == b"ok"


@pytest.mark.parametrize(
    "answer",
    [
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: nine\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nshort",
    ],
)
def test_a_malformed_answer_is_a_wire_error(make, answer):
    server = make([answer, None])
    conn = WireConnection("127.0.0.1", server.port)

    with pytest.raises(WireError):
        conn.request("GET", "/", b"", {}, 2.0)
    assert not conn.connected


def test_a_refused_connection_is_a_connection_error():
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()

    with pytest.raises(ConnectionRefusedError):
        WireConnection("127.0.0.1", port).request("GET", "/", b"", {}, 2.0)
