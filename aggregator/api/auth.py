"""Prosumer login: a one-time nonce to sign (EIP-191 personal_sign), then a bearer token."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from aggregator.api.body import documented, json_body
from aggregator.api.deps import Ctx, client_of
from aggregator.api.responses import errors
from aggregator.wire import ChallengeIn, ChallengeOut, LoginIn, TokenOut

router = APIRouter(prefix="/auth", tags=["auth"])


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@router.post(
    "/challenge",
    response_model=ChallengeOut,
    responses=errors(422, 429),
    openapi_extra=documented(ChallengeIn),
)
async def challenge(
    body: Annotated[ChallengeIn, json_body(ChallengeIn)], request: Request, ctx: Ctx
) -> ChallengeOut:
    """A one-time nonce for `address`, inside the message to sign. It expires after `nonce_ttl_s`.
    Pending challenges are bounded per client and per address (429 with Retry-After beyond)."""
    ch = ctx.auth.challenge(body.address, client_of(request))
    return ChallengeOut(
        address=ch.address, nonce=ch.nonce, message=ch.message, expires_at=_utc(ch.expires_at)
    )


@router.post(
    "/login", response_model=TokenOut, responses=errors(401, 403, 422, 503), openapi_extra=documented(LoginIn)
)
async def login(body: Annotated[LoginIn, json_body(LoginIn)], ctx: Ctx) -> TokenOut:
    """Exchanges a signed challenge for a bearer token. The nonce is consumed whatever the outcome;
    only prosumers active on the chain registry get a token (403 otherwise)."""
    session = await run_in_threadpool(ctx.auth.login, body.address, body.nonce, body.signature)
    return TokenOut(access_token=session.token, expires_at=_utc(session.expires_at), address=session.address)
