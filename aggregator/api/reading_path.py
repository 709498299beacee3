"""`POST /readings` and `POST /readings/batch` answered ahead of FastAPI's routing (pure ASGI
middleware): the ingest hot path.

Through FastAPI, one reading also paid for the router's walk over every route of the API, the request
handler's setup (query parameters, cookies, dependency solving) and the exception and exit-stack
middleware: measured in-process, more than the route's own work (docs/scale.md). This middleware
answers exactly `POST /readings` and `POST /readings/batch` with the functions the routes run
(`readings.store_one`, `readings.store_batch`: a fleet's prosumers send two readings a request, so
the batch route is the one a run's aggregator answers most), and turns
its errors into answers with the API's own handlers (`aggregator.api.handlers`), so status codes,
bodies and headers are the route's. It is installed inside `BodyLimit` (the same limit, 413 before
the body is read) and inside Starlette's `ServerErrorMiddleware` (any other failure is the usual 500,
logged). Every other request goes on to FastAPI unchanged. The route stays registered: it documents
the operation in `/openapi.json` and answers whenever this middleware is not installed.
"""

from __future__ import annotations

from fastapi.exceptions import RequestValidationError
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from aggregator.api.deps import bearer_session
from aggregator.api.handlers import aggregator_error, validation_error
from aggregator.api.readings import store_batch, store_one
from aggregator.context import AppContext
from aggregator.errors import AggregatorError

PATH = "/readings"
BATCH_PATH = "/readings/batch"
JSON_TYPE = (b"content-type", b"application/json")


class ReadingPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = _route_path(scope) if scope["type"] == "http" and scope["method"] == "POST" else None
        if path != PATH and path != BATCH_PATH:
            await self.app(scope, receive, send)
            return
        ctx: AppContext = scope["app"].state.ctx
        store = store_one if path == PATH else store_batch
        try:
            session = bearer_session(ctx, _authorization(scope), _client(scope))
            answer = await store(ctx, session, await Request(scope, receive).body())
        except AggregatorError as exc:
            response = await aggregator_error(Request(scope, receive), exc)
        except RequestValidationError as exc:
            response = await validation_error(Request(scope, receive), exc)
        else:
            headers = [(b"content-length", b"%d" % len(answer)), JSON_TYPE]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": answer})
            return
        await response(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The path the router matches (without the `root_path` a proxy may have put in front)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _authorization(scope: Scope) -> str:
    """The first `Authorization` header, decoded as Starlette's `Headers` does (Latin-1), or ''."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return str(value.decode("latin-1"))
    return ""


def _client(scope: Scope) -> str:
    """The peer's IP address, as `aggregator.api.deps.client_of` gives it."""
    client = scope.get("client")
    return str(client[0]) if client else ""
