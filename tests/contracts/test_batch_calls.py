"""Commitments read in JSON-RPC batches (`contracts.batch_calls`): the same answers as one call each,
in the order asked, whatever the chunk size; a failing batch is read again call by call."""

from __future__ import annotations

import pytest

from contracts import errors
from contracts.batch_calls import call_many
from contracts.types import DeclineReason, Response
from tests.contracts.factories import make_terms
from tests.contracts.flows import accept_all, open_request, register

pytestmark = pytest.mark.chain


@pytest.fixture
def answered(deployment, aggregator, clock, prosumers):
    members = prosumers[:4]
    register(
        deployment, clock, members, [make_terms(flex_up_w=f, flex_down_w=0) for f in (800, 600, 400, 300)]
    )
    rid, _ = open_request(deployment, aggregator, clock, 1_000)
    accept_all(deployment, members[:3], rid)
    deployment.market.decline(members[3], rid, DeclineReason.UNWILLING)
    return rid, [m.address for m in members]


@pytest.mark.parametrize("chunk", [1, 3, 200])
def test_a_batch_reads_what_single_calls_read(deployment, answered, chunk):
    rid, addresses = answered
    market = deployment.market
    asked = [*reversed(addresses), addresses[0]]  # any order, repeats allowed
    fns = [market.contract.functions.commitmentOf(rid, a) for a in asked]
    batched = call_many(deployment.chain, fns, chunk=chunk)
    single = [market.contract.functions.commitmentOf(rid, a).call() for a in asked]
    assert [tuple(b) for b in batched] == [tuple(s) for s in single]


def test_commitments_are_keyed_by_the_addresses_given(deployment, answered):
    rid, addresses = answered
    lower = [a.lower() for a in addresses]
    got = deployment.market.commitments_of(rid, lower)
    assert list(got) == lower
    assert [c.response for c in got.values()] == [Response.ACCEPTED] * 3 + [Response.DECLINED]
    assert got == {a: deployment.market.commitment_of(rid, a) for a in lower}
    assert deployment.market.commitments_of(rid, []) == {}


def test_a_batch_with_a_revert_is_read_call_by_call_and_the_revert_decoded(deployment, answered):
    rid, addresses = answered
    market = deployment.market
    fns = [
        market.contract.functions.commitmentOf(rid, addresses[0]),
        market.contract.functions.decline(rid + 99, 0),  # called, not sent: it reverts
    ]
    with pytest.raises(errors.ContractRevert):
        call_many(deployment.chain, fns)


def test_a_chunk_under_one_is_refused(deployment):
    with pytest.raises(ValueError, match="chunk must be at least 1"):
        call_many(deployment.chain, [], chunk=0)
