"""`GET /auth/server` and `POST /auth/token`, and who is calling a VTN route (see `tokens`)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from aggregator.api.deps import client_of
from aggregator.context import AppContext
from aggregator.errors import Forbidden, Unauthorized
from aggregator.openadr import PREFIX
from aggregator.openadr.models import AuthServerInfo, TokenResponse
from aggregator.openadr.tokens import Client, TokenBook, TokenError, basic_credentials, same

router = APIRouter(tags=["Auth"])
MAX_FORM_BYTES = 16_384


def _ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


def _tokens(request: Request) -> TokenBook:
    book: TokenBook = request.app.state.tokens
    return book


@router.get("/auth/server", response_model=AuthServerInfo, response_model_by_alias=True)
def auth_server(request: Request) -> AuthServerInfo:
    """Where the token endpoint is (OpenADR 3.1 discovery)."""
    url = request.url.replace(path=f"{PREFIX}/auth/token", query="", fragment="")
    return AuthServerInfo(token_url=str(url))


@router.post("/auth/token", response_model=TokenResponse)
async def fetch_token(request: Request) -> JSONResponse:
    """OAuth2 client credentials: HTTP Basic or `client_id` / `client_secret` in the form body."""
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        raise TokenError("the token request is too large", "invalid_request", 400)
    try:
        form = {k: v[-1] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
    except UnicodeDecodeError:
        raise TokenError("the token request is not form-encoded text", "invalid_request", 400) from None
    grant = form.get("grant_type")
    if grant is None:
        raise TokenError("grant_type is missing: send grant_type=client_credentials", "invalid_request", 400)
    if grant != "client_credentials":
        raise TokenError(
            f"grant_type {grant!r} is not supported: use client_credentials", "unsupported_grant_type", 400
        )
    creds = basic_credentials(request.headers.get("authorization"))
    if creds is None:
        if not form.get("client_id") or not form.get("client_secret"):
            raise TokenError(
                "no client credentials: send HTTP Basic (client_id:client_secret) or client_id and "
                "client_secret in the form",
                "invalid_request",
                400,
            )
        creds = (form["client_id"], form["client_secret"])
    ctx = _ctx(request)
    client = authenticate(ctx, creds[0], creds[1], client_of(request))
    token = _tokens(request).issue(client)
    ttl = int(_tokens(request).ttl_s)
    body = TokenResponse(access_token=token, expires_in=ttl, scope=form.get("scope") or None)
    return JSONResponse(
        body.model_dump(exclude_none=True), headers={"Cache-Control": "no-store", "Pragma": "no-cache"}
    )


def authenticate(ctx: AppContext, client_id: str, secret: str, peer: str) -> Client:
    """The business-logic client (the grid operator) or a VEN (a prosumer and its login token)."""
    grid = ctx.settings.grid_token
    if client_id == ctx.settings.openadr_client_id:
        if grid is not None and same(secret, grid.get_secret_value()):
            return Client("bl", client_id)
        raise TokenError(f"wrong client secret for {client_id}: it is AGGREGATOR_GRID_TOKEN")
    if client_id.lower().startswith("0x") and len(client_id) == 42:
        try:
            session = ctx.auth.principal(secret, peer).session
        except Unauthorized:
            session = None
        if session is not None and session.address.lower() == client_id.lower():
            return Client("ven", session.key)
        raise TokenError(
            f"client {client_id} is a prosumer: its secret is a bearer token from POST /auth/login, "
            "signed by that address"
        )
    raise TokenError(
        f"unknown client id {client_id!r}: the business-logic client is {ctx.settings.openadr_client_id!r}, "
        "a VEN is a prosumer's address"
    )


def caller(request: Request) -> Client:
    """The client behind the bearer token: an issued OpenADR token, or a native credential."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("missing bearer token: get one from POST /auth/token (client credentials)")
    found = _tokens(request).lookup(token)
    if found is not None:
        return found
    ctx = _ctx(request)
    principal = ctx.auth.principal(token, client_of(request))
    if principal.session is not None:
        return Client("ven", principal.session.key)
    return Client("bl", ctx.settings.openadr_client_id)


def business_logic(client: Annotated[Client, Depends(caller)]) -> Client:
    if client.role != "bl":
        raise Forbidden("only the business-logic client (the grid operator) may do this")
    return client


def ven(client: Annotated[Client, Depends(caller)]) -> Client:
    if client.role != "ven":
        raise Forbidden("only a VEN (a prosumer) may do this")
    return client


Caller = Annotated[Client, Depends(caller)]
BusinessLogic = Annotated[Client, Depends(business_logic)]
Ven = Annotated[Client, Depends(ven)]
