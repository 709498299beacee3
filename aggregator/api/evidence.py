"""Tamper evidence (docs/tamper-evidence.md): prosumers send their signed readings roots; anyone entitled
reads a prosumer's settlement leaf and its Merkle proof for an anchored request."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from aggregator.api.body import documented, json_body
from aggregator.api.deps import Caller, Prosumer, own_or_privileged
from aggregator.api.responses import errors
from aggregator.errors import InvalidInput
from aggregator.evidence import AnchorSite, EvidenceRepo, hex32, unhex
from aggregator.wire import EXAMPLE_ADDRESS
from aggregator.wire_evidence import LeafProofOut, SignedRootAck, SignedRootIn
from contracts.anchor import SignedRoot

router = APIRouter(tags=["evidence"])
ChainRequestId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The chain request id", examples=[7])]


def repo(request: Request) -> EvidenceRepo:
    ctx = request.app.state.ctx
    found: EvidenceRepo | None = getattr(request.app.state, "evidence", None)
    if found is None:
        found = request.app.state.evidence = EvidenceRepo(ctx.db, ctx.store)
    return found


def site(request: Request) -> AnchorSite:
    found: AnchorSite | None = getattr(request.app.state, "anchor_site", None)
    if found is None:
        found = request.app.state.anchor_site = AnchorSite.from_manifest(
            request.app.state.ctx.settings.manifest
        )
    return found


@router.post(
    "/readings/roots",
    response_model=SignedRootAck,
    responses=errors(401, 403, 409, 422, 503),
    openapi_extra=documented(SignedRootIn),
)
def post_root(
    session: Prosumer, body: Annotated[SignedRootIn, json_body(SignedRootIn)], request: Request
) -> SignedRootAck:
    """Takes the logged-in prosumer's signed readings root for a request (EIP-712 `ReadingsRoot` on the
    SettlementAnchor's domain). It is checked before it is stored: the signature must recover to the
    prosumer and the readings stored for it in [from_ms, to_ms] must hash to the root; 409 says what the
    store holds otherwise (readings missing or altered). Sending the same root again answers `duplicate`."""
    sig = unhex(body.signature)
    if sig[64] not in (27, 28):
        raise InvalidInput("the signature's v must be 27 or 28")
    signed = SignedRoot(
        session.address, body.request_id, body.from_ms, body.to_ms, body.count, unhex(body.root),
        sig[64], sig[:32], sig[32:64],
    )  # fmt: skip
    stored = repo(request).accept_root(signed, site(request))
    return SignedRootAck(
        request_id=body.request_id,
        prosumer=session.address,
        root=hex32(signed.root),
        count=body.count,
        status="stored" if stored else "duplicate",
    )


@router.get("/anchors/{request_id}/proof", response_model=LeafProofOut, responses=errors(401, 403, 404, 422))
def get_proof(
    caller: Caller,
    request_id: ChainRequestId,
    request: Request,
    prosumer: Annotated[
        str | None,
        Query(description="Whose leaf (a prosumer: its own, the default)", examples=[EXAMPLE_ADDRESS]),
    ] = None,
) -> LeafProofOut:
    """A prosumer's leaf in an anchored request and its Merkle proof to the anchored root, for any
    request it took part in (a prosumer reads its own; the grid operator and the admin anyone's)."""
    who = own_or_privileged(caller, prosumer)
    if who is None:
        raise InvalidInput("name the prosumer: ?prosumer=0x…")
    record, leaf, position, proof = repo(request).proof(request_id, who)
    return LeafProofOut(
        request_id=request_id,
        prosumer=leaf.prosumer,
        delivered_wh=leaf.delivered_wh,
        readings_root=hex32(leaf.readings_root),
        position=position,
        leaf_count=record.leaf_count,
        root=record.root,
        proof=[hex32(p) for p in proof],
        anchor_tx=record.tx_hash,
    )
