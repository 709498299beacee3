"""Request body limits (ASGI middleware): 413 before an oversized body is parsed or held in memory.

Each request has a limit: its route's (`POST /readings/batch` takes a full batch) or the default. A body
whose `Content-Length` exceeds it is refused before the application runs, so not a byte of it is read.
A body without `Content-Length` (chunked) is counted as the server hands it over; the application gets
it chunk by chunk (the server buffers at most a chunk or two ahead), and the first chunk that crosses
the limit ends the request with 413, whatever the application was doing with the body. The 413 answer
has the error shape of every other error and `Connection: close` (the rest of the body is never read).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aggregator.errors import PayloadTooLarge


class _Exceeded(Exception):
    """Raised from `receive` when the body crosses the limit; turned into 413 by the middleware."""


class BodyLimit:
    def __init__(
        self,
        app: ASGIApp,
        default_bytes: int,
        routes: Mapping[tuple[str, str], int],
        problem_prefixes: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.default_bytes = default_bytes
        self.routes = dict(routes)  # (method, path) -> limit
        self.problem_prefixes = problem_prefixes  # paths whose API answers RFC 7807 problems (OpenADR 3)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.routes.get((scope["method"], scope["path"]), self.default_bytes)
        problem = scope["path"].startswith(self.problem_prefixes) if self.problem_prefixes else False
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit, problem)
            return
        received = 0
        exceeded = False
        started = False

        async def receive_limited() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _Exceeded
            return message

        async def send_checked(message: Message) -> None:
            nonlocal started
            if exceeded:  # the application answered a body it could not read whole: the 413 wins
                raise _Exceeded
            started = True
            await send(message)

        try:
            await self.app(scope, receive_limited, send_checked)
        except _Exceeded:
            if started:
                raise
            await _refuse(send, limit, problem)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, limit: int, problem: bool = False) -> None:
    """413 in the aggregator's error shape; under a `problem_prefixes` path (OpenADR 3, whose document
    has no 413) 400 as an RFC 7807 problem."""
    err = PayloadTooLarge(
        f"the request body is larger than {limit} bytes: send less (a readings batch: split it into "
        "smaller batches)"
    )
    status = err.status_code
    body = json.dumps({"error": err.code, "detail": str(err)}).encode()
    if problem:
        status = 400
        body = json.dumps(
            {"type": "about:blank", "title": "Bad Request", "status": 400, "detail": str(err)}
        ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in err.headers().items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
