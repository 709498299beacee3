"""Relayed answers: prosumers sign EIP-712 answers, the aggregator submits them in one transaction, and
the market records each exactly as the signer's direct answer (`FlexibilityMarket.relayAnswers`)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_account import Account
from eth_utils import keccak

from contracts import errors
from contracts.answers import (
    HALF_ORDER,
    SECP256K1_N,
    InvalidAnswerSignature,
    SignedAnswer,
    sign_answer,
    signer_of,
    typed_data_digest,
)
from contracts.types import Commitment, DeclineReason, Response, Strategy
from domain.vocabulary import AnswerAction
from tests.contracts import reference
from tests.contracts.factories import TARIFF_UP
from tests.contracts.flows import accept_all, apply_all, open_request, register
from tests.contracts.reverts import reverts

pytestmark = pytest.mark.chain

ACCEPT, UP_TO, APPLY, DECLINE = AnswerAction


def selector(name: str) -> bytes:
    return keccak(text=name)[:4]


@pytest.fixture
def members(deployment, prosumers, clock):
    """Five registered prosumers with the default terms (8 kW, 2 kW flexibility each way)."""
    register(deployment, clock, prosumers[:5])
    return prosumers[:5]


def signed(chain, market, sender, rid: int, action: AnswerAction, value: int = 0) -> SignedAnswer:
    return sign_answer(sender.account.key, chain.chain_id, market.address, rid, action, value)


# ---------------------------------------------------------------- the typed data


@pytest.mark.parametrize(
    ("rid", "action", "value"), [(1, ACCEPT, 0), (7, UP_TO, 1_900), (2**24 - 1, APPLY, 0), (3, DECLINE, 5)]
)
def test_the_python_digest_is_the_contracts(chain, market, rid, action, value):
    assert market.answer_digest(rid, action, value) == typed_data_digest(
        chain.chain_id, market.address, rid, action, value
    )


def test_the_digest_binds_every_field_and_the_market(chain, market, registry):
    base = typed_data_digest(chain.chain_id, market.address, 1, UP_TO, 1_000)
    others = {
        typed_data_digest(chain.chain_id, market.address, 2, UP_TO, 1_000),
        typed_data_digest(chain.chain_id, market.address, 1, ACCEPT, 1_000),
        typed_data_digest(chain.chain_id, market.address, 1, UP_TO, 1_001),
        typed_data_digest(chain.chain_id + 1, market.address, 1, UP_TO, 1_000),
        typed_data_digest(chain.chain_id, registry.address, 1, UP_TO, 1_000),
    }
    assert base not in others and len(others) == 5
    assert market.domain_separator() != registry.domain_separator()


def test_signer_of_recovers_and_checks_like_the_contract(chain, market, prosumer):
    a = signed(chain, market, prosumer, 4, DECLINE, 2)
    assert signer_of(chain.chain_id, market.address, a) == prosumer.address
    assert int.from_bytes(a.s, "big") <= HALF_ORDER and a.v in (27, 28)
    high = replace(a, s=(SECP256K1_N - int.from_bytes(a.s, "big")).to_bytes(32, "big"), v=55 - a.v)
    for bad in (high, replace(a, v=29), replace(a, r=bytes(32), s=bytes(32))):
        with pytest.raises(InvalidAnswerSignature):
            signer_of(chain.chain_id, market.address, bad)
    # the same signature over another answer recovers to somebody else
    assert signer_of(chain.chain_id, market.address, replace(a, value=3)) != prosumer.address


# ---------------------------------------------------------------- recorded as direct answers


def test_relayed_fair_answers_are_recorded_like_direct_ones(deployment, chain, aggregator, clock, members):
    market = deployment.market
    rid, _ = open_request(deployment, aggregator, clock, 3_000)
    direct, relayed = members[0], members[1:4]
    (direct_receipt,) = accept_all(deployment, [direct], rid)
    batch = [
        signed(chain, market, relayed[0], rid, ACCEPT),
        signed(chain, market, relayed[1], rid, UP_TO, 1_000),
        signed(chain, market, relayed[2], rid, DECLINE, int(DeclineReason.OUTAGE)),
    ]

    receipt = market.relay_answers(aggregator, rid, batch)

    assert market.refused_answers(receipt) == {}
    share = reference.fair_share(3_000, 2_000, 5 * 2_000, 8_000)
    accepted = [dict(e["args"]) for e in market.events(receipt, "Accepted")]
    assert accepted == [
        dict(requestId=rid, prosumer=relayed[0].address, powerW=share),
        dict(requestId=rid, prosumer=relayed[1].address, powerW=share),
    ]
    (declined,) = market.events(receipt, "Declined")
    assert dict(declined["args"]) == dict(requestId=rid, prosumer=relayed[2].address, reason=1)
    (direct_event,) = market.events(direct_receipt, "Accepted")
    assert direct_event["args"]["powerW"] == share
    same = market.commitment_of(rid, direct.address)
    assert market.commitment_of(rid, relayed[0].address) == same
    assert same == Commitment(Response.ACCEPTED, share, TARIFF_UP, 0, 0, reference.room(share, 2_000, 8_000))
    limited = market.commitment_of(rid, relayed[1].address)
    assert (limited.response, limited.power_w, limited.room_w) == (Response.ACCEPTED, share, 1_000 - share)
    assert market.commitment_of(rid, relayed[2].address) == Commitment(Response.DECLINED, 0, 0, 0)
    info = market.request(rid)
    assert (info.joined, info.committed_w) == (3, 3 * share)


def test_a_relayed_application_is_recorded_like_a_direct_one(deployment, chain, aggregator, clock, members):
    market = deployment.market
    rid, _ = open_request(deployment, aggregator, clock, 3_000, strategy=Strategy.REPUTATION)
    apply_all(deployment, [members[0]], rid)
    receipt = market.relay_answers(aggregator, rid, [signed(chain, market, members[1], rid, APPLY)])
    (event,) = market.events(receipt, "Applied")
    assert event["args"]["prosumer"] == members[1].address
    assert market.commitment_of(rid, members[1].address) == market.commitment_of(rid, members[0].address)
    assert market.request(rid).joined == 2


def test_refused_answers_are_reported_and_the_others_recorded(
    deployment, chain, aggregator, clock, members, stranger
):
    market = deployment.market
    rid, _ = open_request(deployment, aggregator, clock, 3_000)
    p, q = members[:2]
    good = signed(chain, market, p, rid, ACCEPT)
    batch = [
        good,
        good,  # the same answer again: AlreadyResponded
        signed(chain, market, stranger, rid, ACCEPT),  # not registered
        signed(chain, market, q, rid, APPLY),  # a fair request
        signed(chain, market, q, rid, DECLINE, 6),  # no such reason
        signed(chain, market, q, rid, DECLINE, 300),  # > 255: refused, not truncated
        signed(chain, market, q, rid, UP_TO, 1),  # below its share
        signed(chain, market, q, rid + 1, ACCEPT),  # signed for another request
        signed(chain, market, q, rid, ACCEPT),
    ]

    receipt = market.relay_answers(aggregator, rid, batch)

    assert market.refused_answers(receipt) == {
        1: selector("AlreadyResponded(uint256,address,uint8)"),
        2: selector("NotActive(address)"),
        3: selector("WrongStrategy(uint256,uint8)"),
        4: selector("UnknownDeclineReason(uint8)"),
        5: selector("UnknownDeclineReason(uint8)"),
        6: selector("LimitBelowShare(uint256,uint256,uint256)"),
        7: selector("NotActive(address)"),  # recovers to another, unregistered account
    }
    assert [e["args"]["prosumer"] for e in market.events(receipt, "Accepted")] == [p.address, q.address]
    assert market.request(rid).joined == 2


def test_an_unknown_action_is_refused_for_that_answer(deployment, chain, aggregator, clock, members):
    market = deployment.market
    rid, _ = open_request(deployment, aggregator, clock, 3_000)
    digest = typed_data_digest(chain.chain_id, market.address, rid, 9, 0)  # type: ignore[arg-type]
    sig = Account.unsafe_sign_hash(digest, members[0].account.key)
    answer = SignedAnswer(rid, 9, 0, sig.v, sig.r.to_bytes(32, "big"), sig.s.to_bytes(32, "big"))  # type: ignore[arg-type]
    receipt = market.relay_answers(aggregator, rid, [answer, signed(chain, market, members[1], rid, ACCEPT)])
    assert market.refused_answers(receipt) == {0: selector("UnknownAnswerAction(uint8)")}
    assert market.request(rid).joined == 1


# ---------------------------------------------------------------- signatures the contract refuses


def test_malformed_signatures_are_refused(deployment, chain, aggregator, clock, members):
    market = deployment.market
    rid, _ = open_request(deployment, aggregator, clock, 3_000)
    a = signed(chain, market, members[0], rid, ACCEPT)
    high_s = replace(a, s=(SECP256K1_N - int.from_bytes(a.s, "big")).to_bytes(32, "big"), v=55 - a.v)
    tampered = replace(a, r=(int.from_bytes(a.r, "big") ^ 1).to_bytes(32, "big"))
    batch = [high_s, replace(a, v=29), replace(a, v=0), replace(a, r=bytes(32), s=bytes(32)), tampered]

    receipt = market.relay_answers(aggregator, rid, batch)

    invalid, inactive = selector("InvalidSignature()"), selector("NotActive(address)")
    refused = market.refused_answers(receipt)
    assert [refused[i] for i in range(4)] == [invalid] * 4
    # a tampered r recovers to another (unregistered) account, or to none
    assert refused[4] in (invalid, inactive)
    assert market.request(rid).joined == 0
    assert market.commitment_of(rid, members[0].address).response == Response.NONE


def test_only_the_aggregator_relays(deployment, chain, aggregator, clock, members, stranger):
    market = deployment.market
    rid, _ = open_request(deployment, aggregator, clock, 3_000)
    with reverts(errors.NotAggregator, members[0].address):
        market.relay_answers(members[0], rid, [signed(chain, market, members[0], rid, ACCEPT)])


def test_answer_as_is_for_the_market_itself(deployment, chain, aggregator, clock, members):
    market = deployment.market
    rid, _ = open_request(deployment, aggregator, clock, 3_000)
    a = signed(chain, market, members[0], rid, ACCEPT)
    for caller in (members[0], aggregator):
        with reverts(errors.NotSelf, caller.address):
            caller.transact(market.contract.functions.answerAs(rid, a.as_tuple()))


def test_an_answer_out_of_gas_reverts_the_whole_batch(deployment, chain, aggregator, clock, members):
    """Whatever the gas limit, the batch either records every answer or reverts: an answer is never
    dropped as refused because the relayer sent too little gas."""
    market = deployment.market
    rid, _ = open_request(deployment, aggregator, clock, 3_000)
    batch = [signed(chain, market, m, rid, ACCEPT) for m in members[:3]]
    call = market.relay_answers_call(rid, batch)
    need = call.estimate_gas({"from": aggregator.address})
    outcomes = set()
    for gas in range(need - 60_000, need + 1, 1_500):
        try:
            recorded = call.call({"from": aggregator.address, "gas": gas})
        except Exception as exc:  # noqa: BLE001 - classified below
            data = getattr(exc, "data", None)
            decoded = chain.decoder.decode(data) if isinstance(data, str) else None
            outcomes.add(type(decoded).__name__ if decoded else "out of gas")
        else:
            assert recorded == 3, f"{gas} gas recorded {recorded} of 3 answers"
            outcomes.add("recorded")
    assert "AnswerOutOfGas" in outcomes and "recorded" in outcomes
    assert outcomes <= {"AnswerOutOfGas", "recorded", "out of gas", "UnknownRevert"}


# ---------------------------------------------------------------- the reused answer slot


def test_a_newer_answer_reuses_the_slot_and_hides_the_older_one(
    deployment, chain, aggregator, clock, members
):
    market = deployment.market
    p = members[0]
    first, _ = open_request(deployment, aggregator, clock, 3_000)
    market.relay_answers(aggregator, first, [signed(chain, market, p, first, ACCEPT)])
    assert market.commitment_of(first, p.address).response == Response.ACCEPTED
    market.cancel_request(aggregator, first)
    second, _ = open_request(deployment, aggregator, clock, 3_000)
    assert market.commitment_of(second, p.address).response == Response.NONE
    market.relay_answers(aggregator, second, [signed(chain, market, p, second, DECLINE, 5)])
    assert market.commitment_of(second, p.address) == Commitment(Response.DECLINED, 0, 0, 0)
    assert market.commitment_of(first, p.address) == Commitment(Response.NONE, 0, 0, 0)
    # the old signature cannot be replayed into the new request
    receipt = market.relay_answers(aggregator, second, [signed(chain, market, p, first, ACCEPT)])
    assert market.refused_answers(receipt) == {0: selector("NotActive(address)")}  # another signer


def test_request_ids_stop_at_24_bits(deployment, chain, aggregator, clock, members):
    """The answer slot stores the request id in 24 bits, so the market opens no request beyond it."""
    market, w3 = deployment.market, chain.w3
    word = next(
        (slot, int.from_bytes(w3.eth.get_storage_at(market.address, slot), "big"))
        for slot in range(8)
        if int.from_bytes(w3.eth.get_storage_at(market.address, slot), "big") & (2**160 - 1)
        == int(aggregator.address, 16)
    )
    slot, value = word
    assert (value >> 160) & (2**64 - 1) == market.request_count()
    raised = (value & ~((2**64 - 1) << 160)) | ((2**24 - 2) << 160)
    clock.rpc("anvil_setStorageAt", market.address, hex(slot), "0x" + raised.to_bytes(32, "big").hex())
    assert market.request_count() == 2**24 - 2
    last, _ = open_request(deployment, aggregator, clock, 3_000)
    assert last == 2**24 - 1
    market.relay_answers(aggregator, last, [signed(chain, market, members[0], last, ACCEPT)])
    assert market.commitment_of(last, members[0].address).response == Response.ACCEPTED
    market.cancel_request(aggregator, last)
    with reverts(errors.RequestLimitReached, 2**24 - 1):
        open_request(deployment, aggregator, clock, 3_000)
