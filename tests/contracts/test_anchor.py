"""Anchored settlements (issue 16): the root anchored by `FlexibilityMarket.finaliseAnchored`, delivery
and readings-root disputes in SettlementAnchor, and the Python tree and EIP-712 digest equal to the
contract's."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_account import Account

from contracts import errors
from contracts.anchor import (
    merkle_proof,
    merkle_root,
    settlement_leaf,
    sign_root,
    typed_data_digest,
)
from contracts.anchor_binding import AnchorBinding
from contracts.types import RequestStatus
from tests.contracts.factories import new_key
from tests.contracts.flows import accept_all, open_request, record, register, run_fair_request
from tests.contracts.reverts import reverts

pytestmark = pytest.mark.chain

HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
ORDER = 2 * HALF_ORDER + 1
SIGNED = b"\x11" * 32


def settlement_tree(rid: int, entries: list[tuple[str, int, bytes]]) -> list[bytes]:
    return [settlement_leaf(rid, p, wh, root) for p, wh, root in sorted(entries, key=lambda e: e[0].lower())]


def recorded(deployment, rid, prosumers) -> dict[str, int]:
    return {p.address: deployment.market.commitment_of(rid, p.address).delivered_wh for p in prosumers}


@pytest.fixture
def settled(deployment, aggregator, clock, prosumers):
    """A fair request of three prosumers whose deliveries (each its commitment) are recorded; the tests
    finalise it, anchored."""
    three = prosumers[:3]
    register(deployment, clock, three)
    rid = run_fair_request(deployment, aggregator, clock, three, finalise=False)
    return rid, three, recorded(deployment, rid, three)


def anchor_tree(deployment, aggregator, rid, entries):
    """The aggregator finalises the request with the root of `entries` anchored."""
    leaves = settlement_tree(rid, entries)
    deployment.market.finalise_anchored(aggregator, rid, merkle_root(leaves), len(leaves))
    return leaves


def test_the_python_digest_and_leaf_are_the_contracts(deployment, prosumer):
    anchor: AnchorBinding = deployment.anchor
    chain_id = deployment.chain.chain_id
    signed = sign_root(prosumer.account.key, chain_id, anchor.address, 7, -5, 1_700_000_000_123, 42, SIGNED)
    assert anchor.readings_root_digest(signed) == typed_data_digest(
        chain_id, anchor.address, prosumer.address, 7, -5, 1_700_000_000_123, 42, SIGNED
    )
    assert anchor.leaf_hash(9, prosumer.address, -123, SIGNED) == settlement_leaf(
        9, prosumer.address, -123, SIGNED
    )


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8, 13, 17])
def test_python_proofs_verify_on_chain(deployment, count):
    leaves = [
        settlement_leaf(1, Account.create().address, i * 10 - 40, bytes([i]) * 32) for i in range(count)
    ]
    root = merkle_root(leaves)
    for i, leaf in enumerate(leaves):
        assert deployment.anchor.verify_proof(root, leaf, merkle_proof(leaves, i))
    # a leaf with another delivery is refused by the same proof
    forged = settlement_leaf(1, Account.create().address, 999, bytes(32))
    assert not deployment.anchor.verify_proof(root, forged, merkle_proof(leaves, 0))


def test_the_root_is_anchored_as_the_request_is_finalised(deployment, aggregator, stranger, settled):
    rid, three, delivered = settled
    leaves = settlement_tree(rid, [(p.address, delivered[p.address], SIGNED) for p in three])
    root = merkle_root(leaves)
    market = deployment.market
    with reverts(errors.NotAggregator, stranger.address):
        market.finalise_anchored(stranger, rid, root, 3)
    with reverts(errors.LeafCountMismatch, rid, 2, 3):
        market.finalise_anchored(aggregator, rid, root, 2)
    with reverts(errors.EmptyAnchor, rid):
        market.finalise_anchored(aggregator, rid, bytes(32), 3)
    with reverts(errors.EmptyAnchor, rid):
        market.finalise_anchored(aggregator, rid, root, 0)
    receipt = market.finalise_anchored(aggregator, rid, root, 3)
    assert market.request(rid).status == RequestStatus.SETTLED
    (settled_event,) = market.events(receipt, "RequestSettled")
    assert settled_event["args"]["participants"] == 3
    (event,) = market.events(receipt, "SettlementAnchored")
    assert (event["args"]["requestId"], bytes(event["args"]["root"]), event["args"]["leafCount"]) == (
        rid,
        root,
        3,
    )
    # the root is in the event's data, not a topic: only the request id is indexed
    (raw,) = [x for x in receipt.logs if len(x["topics"]) == 2 and bytes(x["data"])[:32] == root]
    assert bytes(raw["data"]) == root + (3).to_bytes(32, "big")
    assert market.settlement_root(rid) == root == deployment.anchor.root_of(rid)
    with reverts(errors.RequestNotOpen, rid, RequestStatus.SETTLED):  # once: the request is settled
        market.finalise_anchored(aggregator, rid, root, 3)


def test_a_request_not_fully_recorded_cannot_be_finalised_anchored(deployment, aggregator, clock, prosumers):
    register(deployment, clock, prosumers[:2])
    rid, schedule = open_request(deployment, aggregator, clock, 1_000)
    accept_all(deployment, prosumers[:2], rid)
    with reverts(errors.WindowNotOver, rid, schedule.end):
        deployment.market.finalise_anchored(aggregator, rid, SIGNED, 1)
    record(deployment, aggregator, clock, rid, schedule, {prosumers[0].address: 100})
    with reverts(errors.UnsettledParticipants, rid, 1, 2):
        deployment.market.finalise_anchored(aggregator, rid, SIGNED, 1)
    assert deployment.market.settlement_root(rid) == bytes(32)


def test_a_request_with_recorded_deliveries_cannot_be_finalised_without_its_anchor(
    deployment, aggregator, settled
):
    """Plain `finalise` would settle deliveries nobody can verify or dispute: it reverts, the request
    stays open, and `finaliseAnchored` settles it."""
    rid, three, delivered = settled
    market = deployment.market
    with reverts(errors.AnchorRequired, rid, 3):
        market.finalise(aggregator, rid)
    assert market.request(rid).status == RequestStatus.OPEN
    assert market.current_request_id() == rid
    assert market.settlement_root(rid) == bytes(32)
    anchor_tree(deployment, aggregator, rid, [(p.address, delivered[p.address], SIGNED) for p in three])
    assert market.request(rid).status == RequestStatus.SETTLED
    assert market.settlement_root(rid) != bytes(32)


def test_a_request_without_participants_still_finalises_plainly(deployment, aggregator, clock, prosumers):
    """Nothing to anchor (`finaliseAnchored` refuses zero leaves): plain `finalise` settles it."""
    register(deployment, clock, prosumers[:2])
    rid, schedule = open_request(deployment, aggregator, clock, 1_000)
    clock.advance_to(schedule.end)
    market = deployment.market
    with reverts(errors.EmptyAnchor, rid):
        market.finalise_anchored(aggregator, rid, SIGNED, 0)
    receipt = market.finalise(aggregator, rid)
    assert market.request(rid).status == RequestStatus.SETTLED
    assert market.events(receipt, "SettlementAnchored") == []
    assert market.result(rid).participants == 0
    assert deployment.anchor.root_of(rid) == bytes(32)


def test_a_recorded_delivery_that_differs_from_its_leaf_is_disputed(
    deployment, aggregator, stranger, settled
):
    rid, three, delivered = settled
    victim = three[1].address
    # the aggregator anchors a leaf saying the victim delivered 100 Wh more than it recorded on chain
    entries = [(p.address, delivered[p.address] + (100 if p.address == victim else 0), SIGNED) for p in three]
    leaves = anchor_tree(deployment, aggregator, rid, entries)
    index = sorted(p.address.lower() for p in three).index(victim.lower())
    proof = merkle_proof(leaves, index)
    receipt = deployment.anchor.dispute_delivery(
        stranger, rid, victim, delivered[victim] + 100, SIGNED, proof
    )
    (upheld,) = deployment.anchor.upheld_events(receipt)
    assert (upheld.request_id, upheld.prosumer, upheld.fault) == (rid, victim, 0)
    assert (upheld.leaf, upheld.recorded) == (delivered[victim] + 100, delivered[victim])
    assert deployment.anchor.faults() == 1
    assert deployment.anchor.is_upheld(rid, victim)
    with reverts(errors.AlreadyUpheld, rid, victim):
        deployment.anchor.dispute_delivery(stranger, rid, victim, delivered[victim] + 100, SIGNED, proof)


def test_false_delivery_disputes_revert(deployment, aggregator, stranger, settled):
    rid, three, delivered = settled
    outsider = Account.create().address
    entries = [(p.address, delivered[p.address], SIGNED) for p in three] + [(outsider, 5, SIGNED)]
    leaves = settlement_tree(rid, entries)
    order = sorted(a.lower() for a, _, _ in entries)
    honest = three[0].address
    proof = merkle_proof(leaves, order.index(honest.lower()))
    with reverts(errors.NotAnchored, rid):
        deployment.anchor.dispute_delivery(stranger, rid, honest, delivered[honest], SIGNED, proof)
    # four leaves for three recorded deliveries cannot be anchored; anchor the three honest ones
    with reverts(errors.LeafCountMismatch, rid, 4, 3):
        deployment.market.finalise_anchored(aggregator, rid, merkle_root(leaves), 4)
    leaves = anchor_tree(deployment, aggregator, rid, entries[:3])
    proof = merkle_proof(leaves, sorted(p.address.lower() for p in three).index(honest.lower()))
    with reverts(errors.DeliveryMatches, rid, honest, delivered[honest]):
        deployment.anchor.dispute_delivery(stranger, rid, honest, delivered[honest], SIGNED, proof)
    with reverts(errors.InvalidProof, rid, honest):  # a made-up leaf value
        deployment.anchor.dispute_delivery(stranger, rid, honest, delivered[honest] + 1, SIGNED, proof)
    assert deployment.anchor.faults() == 0


def test_a_commitment_that_reads_as_none_is_not_a_delivery_of_zero(deployment, aggregator, stranger, settled):
    """The market reuses a prosumer's slot once it answers a newer request: zeros must never count as a
    recorded delivery of 0. A leaf for an account that holds no settled commitment is refused."""
    rid, three, delivered = settled
    nobody = Account.create().address
    # a malicious leaf set: the three real ones with their honest deliveries, a fourth for `nobody`,
    # anchored as a three-leaf tree over (two honest, nobody) to pass the count check
    entries = [(three[0].address, delivered[three[0].address], SIGNED), (three[1].address, 0, SIGNED)]
    entries.append((nobody, 7, SIGNED))
    leaves = anchor_tree(deployment, aggregator, rid, entries)
    order = sorted(a.lower() for a, _, _ in entries)
    with reverts(errors.NoRecordedDelivery, rid, nobody, 0):
        deployment.anchor.dispute_delivery(
            stranger, rid, nobody, 7, SIGNED, merkle_proof(leaves, order.index(nobody.lower()))
        )


def test_a_leaf_without_the_signed_readings_root_is_disputed(deployment, aggregator, stranger, settled):
    rid, three, delivered = settled
    victim = three[2]
    chain_id, anchor = deployment.chain.chain_id, deployment.anchor
    signed = sign_root(victim.account.key, chain_id, anchor.address, rid, 0, 10_000, 4, SIGNED)
    swapped = b"\x22" * 32  # the aggregator anchors another readings root for the victim
    entries = [(p.address, delivered[p.address], swapped if p is victim else SIGNED) for p in three]
    leaves = anchor_tree(deployment, aggregator, rid, entries)
    order = sorted(p.address.lower() for p in three)
    proof = merkle_proof(leaves, order.index(victim.address.lower()))
    wh = delivered[victim.address]

    forged = sign_root(new_key(), chain_id, anchor.address, rid, 0, 10_000, 4, SIGNED)
    forged_for_victim = replace(forged, prosumer=victim.address)
    with pytest.raises(errors.NotSignedByProsumer):  # another key signed the victim's fields
        anchor.dispute_readings_root(stranger, rid, victim.address, wh, swapped, proof, forged_for_victim)
    twin_s = (ORDER - int.from_bytes(signed.s, "big")).to_bytes(32, "big")
    high_s = replace(signed, s=twin_s, v=55 - signed.v)  # the malleable twin of a valid signature
    with reverts(errors.InvalidSignature):
        anchor.dispute_readings_root(stranger, rid, victim.address, wh, swapped, proof, high_s)
    other_request = sign_root(victim.account.key, chain_id, anchor.address, rid + 1, 0, 10_000, 4, SIGNED)
    with pytest.raises(errors.NotSignedByProsumer):  # signed for another request: recovers to another
        anchor.dispute_readings_root(stranger, rid, victim.address, wh, swapped, proof, other_request)

    receipt = anchor.dispute_readings_root(stranger, rid, victim.address, wh, swapped, proof, signed)
    (upheld,) = anchor.upheld_events(receipt)
    assert (upheld.prosumer, upheld.fault) == (victim.address, 1)
    assert (upheld.leaf, upheld.recorded) == (swapped, SIGNED)

    honest = three[0]
    honest_signed = sign_root(honest.account.key, chain_id, anchor.address, rid, 0, 10_000, 4, SIGNED)
    honest_proof = merkle_proof(leaves, order.index(honest.address.lower()))
    with reverts(errors.ReadingsRootMatches, rid, honest.address, SIGNED):
        anchor.dispute_readings_root(
            stranger, rid, honest.address, delivered[honest.address], SIGNED, honest_proof, honest_signed
        )
    assert anchor.faults() == 1 and anchor.is_upheld(rid, victim.address)
