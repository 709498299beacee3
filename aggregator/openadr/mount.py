"""Mounts the VTN on the aggregator app: `aggregator.app` calls `install(app, ctx)`.

The VTN is a FastAPI sub-application at `PREFIX` with its own error handlers (the specification's
`problem` shape) and its own OpenAPI document (`PREFIX/openapi.json`); it shares the aggregator's
`AppContext` (database, request queue, request control, clock, credentials).
"""

from __future__ import annotations

from fastapi import FastAPI

from aggregator.context import AppContext
from aggregator.openadr import PREFIX, auth, problems, routes
from aggregator.openadr.tokens import TokenBook
from aggregator.openadr.vtn import OpenadrService

__all__ = ["PREFIX", "OpenadrService", "build", "install"]


def build(ctx: AppContext) -> FastAPI:
    vtn = FastAPI(
        title="flexsim OpenADR 3.1 VTN",
        version="3.1.1",
        description="OpenADR 3 programs, events, reports, subscriptions and vens; events become "
        "flexibility requests (docs/openadr.md).",
        docs_url="/docs",
        redoc_url=None,
    )
    vtn.state.ctx = ctx
    vtn.state.tokens = TokenBook(ctx.settings.token_ttl_s)
    vtn.include_router(auth.router)
    vtn.include_router(routes.router)
    problems.install(vtn)
    return vtn


def install(app: FastAPI, ctx: AppContext) -> None:
    app.mount(PREFIX, build(ctx))
