"""The aggregator's consent to a prosumer's contract terms (rule R2), before it registers on chain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from aggregator.api.body import documented, json_body
from aggregator.api.deps import Ctx
from aggregator.api.responses import errors
from aggregator.consent import GrantedConsent
from aggregator.wire_consent import ConsentIn, ConsentOut, TermsIn

router = APIRouter(tags=["consent"])


@router.post(
    "/consent",
    response_model=ConsentOut,
    responses=errors(401, 403, 409, 422, 503),
    openapi_extra=documented(ConsentIn),
)
async def consent(body: Annotated[ConsentIn, json_body(ConsentIn)], ctx: Ctx) -> ConsentOut:
    """Signs the aggregator's consent to `terms` until `expiry` for `address`, under the aggregator's
    policy (`AGGREGATOR_CONSENT_*`). The caller shows the enrolment credential and proves it holds the
    address's key with a challenge from `POST /auth/challenge`, signed (its nonce is consumed)."""
    ctx.consent.check_enrolment(body.enrolment_token)
    address = ctx.auth.prove(body.address, body.nonce, body.signature)
    granted = await run_in_threadpool(ctx.consent.grant, address, body.terms.to_terms(), body.expiry)
    return _out(granted)


def _out(g: GrantedConsent) -> ConsentOut:
    c = g.consent
    return ConsentOut(
        prosumer=g.prosumer,
        terms=TermsIn.of(g.terms),
        expiry=g.expiry,
        nonce=g.nonce,
        deadline=c.deadline,
        v=c.v,
        r="0x" + c.r.hex(),
        s="0x" + c.s.hex(),
        registry=g.registry,
        chain_id=g.chain_id,
    )
