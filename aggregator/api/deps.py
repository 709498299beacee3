"""Shared route dependencies: the app context and who is calling.

They are `async` on purpose: they never block, and FastAPI would run a plain `def` dependency in a
worker thread, which costs more than the dependency itself on the readings hot path.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from aggregator.auth import Principal, ProsumerSession
from aggregator.context import AppContext
from aggregator.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(
    auto_error=False, description="A prosumer token from /auth/login, or the grid/admin credential"
)


async def context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Ctx = Annotated[AppContext, Depends(context)]


async def principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None:
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    ctx: AppContext = request.app.state.ctx
    return ctx.auth.principal(credentials.credentials, client_of(request))


Caller = Annotated[Principal, Depends(principal)]


def client_of(request: Request) -> str:
    """Who is calling, for the abuse bounds: the peer's IP address."""
    return request.client.host if request.client is not None else ""


def bearer_prosumer(ctx: AppContext, request: Request) -> ProsumerSession:
    """The logged-in prosumer behind the request's bearer token (plain function for the hot path)."""
    return bearer_session(ctx, request.headers.get("authorization", ""), client_of(request))


def bearer_session(ctx: AppContext, authorization: str, client: str) -> ProsumerSession:
    """The logged-in prosumer behind an `Authorization` header's value, for a caller at `client`."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    session = ctx.auth.principal(token.strip(), client).session
    if session is None:
        raise Forbidden("only a logged-in prosumer may send readings (its own)")
    return session


async def prosumer(caller: Caller) -> ProsumerSession:
    if caller.session is None:
        raise Forbidden("only a logged-in prosumer may send readings (its own)")
    return caller.session


async def grid_operator(caller: Caller) -> Principal:
    if caller.role not in ("grid", "admin"):
        raise Forbidden("this endpoint needs the grid operator's credential")
    return caller


async def admin(caller: Caller) -> Principal:
    if caller.role != "admin":
        raise Forbidden("this endpoint needs the admin credential")
    return caller


Prosumer = Annotated[ProsumerSession, Depends(prosumer)]
GridOperator = Annotated[Principal, Depends(grid_operator)]
Admin = Annotated[Principal, Depends(admin)]


def own_or_privileged(caller: Principal, address: str | None) -> str | None:
    """The prosumer filter a caller may use: a prosumer sees only its own readings and profile."""
    if caller.session is None:
        return address
    own = caller.session.address
    if address is not None and address.lower() != own.lower():
        raise Forbidden(f"a prosumer may read only its own data ({own})")
    return own
