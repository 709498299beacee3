"""The console's web application: the page, its event stream and the actions (FastAPI).

Access: the per-run token, given once in the URL (`/?token=...`), becomes an HttpOnly, SameSite=Strict
cookie; every other path but the static assets needs that cookie (or `Authorization: Bearer TOKEN`).
A missing or wrong token is 401. Actions are POSTs that must carry HTMX's `HX-Request` header, which a
form on another site cannot send. The aggregator's credentials stay in this process.
"""

# No `from __future__ import annotations`: the routes use dependencies defined in `create_app`, which
# FastAPI must resolve at definition time.
import asyncio
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from string import Template
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qs

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ValidationError

from aggregator.wire import ClockIn
from aggregator.wire_market import FlexRequestIn
from console.controls import ActionLog, ClockSpeedIn, Controls, DerIn, OutageIn, RenegotiateIn
from console.feed import Aggregator
from console.hub import Hub
from console.view import e
from contracts.toolchain import npm_package

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

COOKIE = "flexsim_console"
STATIC = Path(__file__).parent / "static"
# Web assets from the project's pinned npm packages (package-lock.json): never from a CDN.
ASSETS = {
    "htmx.min.js": ("htmx.org", "dist/htmx.min.js"),
    "sse.js": ("htmx-ext-sse", "dist/sse.min.js"),
    "uPlot.iife.min.js": ("uplot", "dist/uPlot.iife.min.js"),
    "uPlot.min.css": ("uplot", "dist/uPlot.min.css"),
}
# An event stream wakes when the hub publishes something new (no timer); with nothing new it still
# looks, this often, whether its page is gone.
STREAM_IDLE_S = 5.0


def asset_path(name: str) -> Path:
    package, rel = ASSETS[name]
    return npm_package(package) / rel


def create_app(
    token: str,
    hub: Hub,
    controls: Controls,
    aggregator: Aggregator,
    actions: ActionLog,
    title: str = "flexsim console",
    on_action: Callable[[], None] | None = None,
) -> FastAPI:
    app = FastAPI(title="flexsim console", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    page = Template((STATIC / "page.html").read_text())

    def authorised(request: Request) -> None:
        given = request.cookies.get(COOKIE) or ""
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        if not given or not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(401, "the console needs its access token: open the URL printed at start")

    Auth = Annotated[None, Depends(authorised)]

    def from_page(request: Request) -> None:
        if request.headers.get("hx-request") != "true":
            raise HTTPException(403, "console actions come from its page (HX-Request header)")

    Action = Annotated[None, Depends(from_page)]

    @app.exception_handler(HTTPException)
    async def refused(request: Request, exc: HTTPException) -> HTMLResponse:
        if exc.status_code == 422 and request.headers.get("hx-request") == "true":  # a bad form value
            return HTMLResponse(f'<li class="fail">refused: {e(exc.detail)}</li>', status_code=422)
        body = f"<!doctype html><title>refused</title><h1>{exc.status_code}</h1><p>{e(exc.detail)}</p>"
        return HTMLResponse(body, status_code=exc.status_code)

    @app.get("/assets/{name}", include_in_schema=False)
    def asset(name: str) -> Any:
        from fastapi.responses import FileResponse

        if name not in ASSETS:
            raise HTTPException(404, "no such asset")
        return FileResponse(asset_path(name))

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request, token_q: Annotated[str | None, Depends(_token_query)] = None) -> Any:
        if token_q is not None:
            if not hmac.compare_digest(token_q.encode(), token.encode()):
                raise HTTPException(401, "wrong console token: open the URL printed at start")
            response = RedirectResponse("/", status_code=303)
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
            return response
        authorised(request)
        return HTMLResponse(page.substitute(title=e(title)))

    @app.get("/events")
    async def events(request: Request, _: Auth) -> StreamingResponse:
        async def stream() -> AsyncIterator[bytes]:
            hub.attach()
            try:
                yield _sse("history", hub.history())
                sent = 0
                while not await request.is_disconnected():
                    version, changed = hub.since(sent)
                    if changed:  # one write per round: the page applies it in one go
                        yield b"".join(_sse(name, payload) for name, payload in changed.items())
                    sent = version
                    await hub.wait(sent, STREAM_IDLE_S)
            finally:
                hub.detach()

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

    def act(name: str, params: dict[str, Any], do: Callable[[], str]) -> HTMLResponse:
        try:
            outcome, ok = do(), True
        except Exception as exc:  # shown on the page and recorded; the console keeps running
            outcome, ok = str(exc), False
            log.warning("console action %s %s failed: %s", name, params, exc)
        entry = actions.record(name, params, outcome, ok)
        if on_action is not None:
            on_action()
        css = "ok" if ok else "fail"
        return HTMLResponse(
            f'<li class="{css}" data-action="{e(name)}">{e(_hms(entry.real_t))} {e(name)}: '
            f"{'' if ok else 'failed: '}{e(outcome)}</li>"
        )

    @app.post("/actions/der", response_class=HTMLResponse)
    async def add_der(request: Request, _: Auth, __: Action) -> HTMLResponse:
        der = await _form(request, DerIn)
        return await asyncio.to_thread(
            act, "add DER", der.model_dump(exclude_none=True), lambda: controls.add(der)
        )

    @app.post("/actions/der/{index}/remove", response_class=HTMLResponse)
    async def remove_der(index: int, _: Auth, __: Action) -> HTMLResponse:
        return await asyncio.to_thread(act, "remove DER", {"index": index}, lambda: controls.remove(index))

    @app.post("/actions/der/{index}/outage", response_class=HTMLResponse)
    async def outage(index: int, request: Request, _: Auth, __: Action) -> HTMLResponse:
        body = await _form(request, OutageIn)
        params = {"index": index, "duration_s": body.duration_s}
        return await asyncio.to_thread(act, "outage", params, lambda: controls.outage(index, body.duration_s))

    @app.post("/actions/der/{index}/renegotiate", response_class=HTMLResponse)
    async def renegotiate(index: int, request: Request, _: Auth, __: Action) -> HTMLResponse:
        body = await _form(request, RenegotiateIn)
        params = {"index": index, **body.model_dump(exclude_none=True)}
        return await asyncio.to_thread(act, "renegotiate", params, lambda: controls.renegotiate(index, body))

    @app.post("/actions/request", response_class=HTMLResponse)
    async def send_request(request: Request, _: Auth, __: Action) -> HTMLResponse:
        body = await _form(request, FlexRequestIn)

        def send() -> str:
            r = aggregator.send_request(body)
            return f"request {r.id} queued ({r.direction.value} {r.power_w} W for {r.duration_s} s)"

        return await asyncio.to_thread(act, "flexibility request", body.model_dump(mode="json"), send)

    @app.post("/actions/clock", response_class=HTMLResponse)
    async def clock(request: Request, _: Auth, __: Action) -> HTMLResponse:
        body = await _form(request, ClockSpeedIn)

        def change() -> str:
            now, real = aggregator.clock(), time.time()
            sim = now.sim_start + timedelta(seconds=(real - now.real_start_epoch) * now.speed)
            done = controls.set_clock(sim, body.speed, real)  # refused outside the sandbox: nothing changed
            aggregator.set_clock(ClockIn(sim_start=sim, speed=body.speed, real_start_epoch=real))
            return done

        return await asyncio.to_thread(act, "clock speed", {"speed": body.speed}, change)

    @app.get("/actions")
    def list_actions(_: Auth) -> JSONResponse:
        return JSONResponse([a.__dict__ for a in actions.actions])

    return app


def _token_query(token: str | None = None) -> str | None:
    return token


async def _form(request: Request, model: type[M]) -> M:
    raw = (await request.body()).decode(errors="replace")
    fields = {k: _number(v[-1]) for k, v in parse_qs(raw).items() if v and v[-1] != ""}
    try:
        return model.model_validate_json(json.dumps(fields))  # JSON mode: the wire models are strict
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in x['loc'])}: {x['msg']}" for x in exc.errors())
        raise HTTPException(422, problems) from None


def _number(text: str) -> object:
    """A form value as the JSON the wire models take: a number when it reads as one."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _sse(event: str, data: str) -> bytes:
    lines = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"event: {event}\n{lines}\n".encode()


def _hms(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))
