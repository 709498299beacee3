"""The aggregator app served over real HTTP (uvicorn in a thread, on loopback), without a chain.

`serve(app)` yields the base URL. `client(base, source="127.0.0.2")` is an httpx client whose requests
come from another loopback address: to the service, another client (the abuse bounds are per client).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from fastapi import FastAPI

from contracts.anvil import free_port


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the aggregator did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def client(base: str, source: str = "127.0.0.1") -> httpx.Client:
    return httpx.Client(base_url=base, timeout=30, transport=httpx.HTTPTransport(local_address=source))


def raw_request(base: str, head: bytes, body_chunks: list[bytes] = (), timeout_s: float = 20.0) -> bytes:  # type: ignore[assignment]
    """Sends `head` (request line and headers, CRLF-terminated, no blank line) and the chunks, then
    reads the answer until the server closes or `timeout_s` passes. Never sends the end of the body
    beyond what `body_chunks` holds, so a server that waited for the whole body would never answer."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout_s) as sock:
        sock.sendall(head + b"\r\n")
        for chunk in body_chunks:
            try:
                sock.sendall(chunk)
            except OSError:  # the server answered and closed: stop sending
                break
        answer = b""
        while True:
            try:
                data = sock.recv(65536)
            except TimeoutError:
                break
            except OSError:
                break
            if not data:
                break
            answer += data
        return answer
