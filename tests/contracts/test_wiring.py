"""Roles and wiring of the three contracts: ownership, connect, aggregator, constructor checks."""

from __future__ import annotations

import pytest

from contracts import errors
from contracts.types import Direction, Strategy
from tests.contracts.factories import make_schedule
from tests.contracts.flows import register
from tests.contracts.reverts import ZERO_ADDRESS, reverts

pytestmark = pytest.mark.chain

BINDINGS = ["registry", "token", "market"]


def deploy_fresh(chain, artifacts, owner, name: str, *args):
    """Deploys one more instance of a contract (reverted with the test's snapshot)."""
    art = artifacts[name]
    factory = chain.w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
    receipt = owner.transact(factory.constructor(*args))
    return chain.w3.eth.contract(address=receipt.contract_address, abi=art.abi)


@pytest.mark.parametrize("binding", BINDINGS)
def test_the_deployer_owns_every_contract(deployment, owner, binding):
    contract = getattr(deployment, binding).contract
    assert contract.functions.owner().call() == owner.address


@pytest.mark.parametrize("binding", BINDINGS)
def test_transfer_ownership(deployment, owner, stranger, aggregator, binding):
    b = getattr(deployment, binding)
    receipt = owner.transact(b.contract.functions.transferOwnership(stranger.address))

    (event,) = b.events(receipt, "OwnershipTransferred")
    assert (event["args"]["previousOwner"], event["args"]["newOwner"]) == (owner.address, stranger.address)
    assert b.contract.functions.owner().call() == stranger.address
    with reverts(errors.NotOwner, owner.address):
        owner.transact(b.contract.functions.transferOwnership(owner.address))


@pytest.mark.parametrize("binding", BINDINGS)
def test_transfer_ownership_reverts(deployment, owner, stranger, binding):
    fn = getattr(deployment, binding).contract.functions.transferOwnership
    with reverts(errors.NotOwner, stranger.address):
        stranger.transact(fn(stranger.address))
    with reverts(errors.ZeroAddress):
        owner.transact(fn(ZERO_ADDRESS))


def test_contracts_are_wired_together(deployment, aggregator):
    d = deployment
    r, t, m = d.registry.contract.functions, d.token.contract.functions, d.market.contract.functions
    assert r.market().call() == d.market.address
    assert r.token().call() == d.token.address
    assert r.aggregator().call() == aggregator.address
    assert t.market().call() == d.market.address
    assert t.registry().call() == d.registry.address
    assert m.registry().call() == d.registry.address
    assert m.token().call() == d.token.address
    assert m.aggregator().call() == aggregator.address


@pytest.mark.parametrize("binding", ["registry", "token"])
def test_connect_only_once_and_only_by_the_owner(deployment, owner, stranger, binding):
    b = getattr(deployment, binding)
    with reverts(errors.NotOwner, stranger.address):
        stranger.transact(b.contract.functions.connect(stranger.address, stranger.address))
    with reverts(errors.AlreadyConnected):
        owner.transact(b.contract.functions.connect(stranger.address, stranger.address))


@pytest.mark.parametrize("name", ["Registry", "FlexToken"])
def test_connect_a_fresh_contract(chain, artifacts, owner, aggregator, stranger, deployment, name):
    args = (aggregator.address,) if name == "Registry" else ("T", "T")
    contract = deploy_fresh(chain, artifacts, owner, name, *args)
    other = deployment.token.address if name == "Registry" else deployment.registry.address
    for zero_args in [(ZERO_ADDRESS, other), (deployment.market.address, ZERO_ADDRESS)]:
        with reverts(errors.ZeroAddress):
            owner.transact(contract.functions.connect(*zero_args))

    receipt = owner.transact(contract.functions.connect(deployment.market.address, other))

    (event,) = contract.events.Connected().process_receipt(receipt.raw)
    assert event["args"]["market"] == deployment.market.address
    assert contract.functions.market().call() == deployment.market.address


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("Registry", (ZERO_ADDRESS,)),
        ("FlexibilityMarket", ("registry", ZERO_ADDRESS, "aggregator")),
        ("FlexibilityMarket", (ZERO_ADDRESS, "token", "aggregator")),
        ("FlexibilityMarket", ("registry", "token", ZERO_ADDRESS)),
    ],
    ids=["registry-aggregator", "market-token", "market-registry", "market-aggregator"],
)
def test_constructors_reject_the_zero_address(chain, artifacts, owner, aggregator, deployment, name, args):
    known = {
        "registry": deployment.registry.address,
        "token": deployment.token.address,
        "aggregator": aggregator.address,
    }
    with reverts(errors.ZeroAddress):
        deploy_fresh(chain, artifacts, owner, name, *(known.get(a, a) for a in args))


def test_fresh_token_metadata(chain, artifacts, owner):
    token = deploy_fresh(chain, artifacts, owner, "FlexToken", "Some Name", "SYM")
    assert (token.functions.name().call(), token.functions.symbol().call()) == ("Some Name", "SYM")
    assert token.functions.totalSupply().call() == 0


@pytest.mark.parametrize("binding", ["registry", "market"])
def test_set_aggregator(deployment, owner, stranger, binding):
    b = getattr(deployment, binding)
    receipt = b.set_aggregator(owner, stranger.address)
    (event,) = b.events(receipt, "AggregatorChanged")
    assert event["args"]["aggregator"] == stranger.address
    assert b.contract.functions.aggregator().call() == stranger.address


@pytest.mark.parametrize("binding", ["registry", "market"])
def test_set_aggregator_reverts(deployment, aggregator, stranger, owner, binding):
    b = getattr(deployment, binding)
    with reverts(errors.NotOwner, aggregator.address):
        b.set_aggregator(aggregator, stranger.address)
    with reverts(errors.ZeroAddress):
        b.set_aggregator(owner, ZERO_ADDRESS)
    assert b.contract.functions.aggregator().call() == aggregator.address


def test_a_new_aggregator_takes_over_the_roles(deployment, owner, aggregator, stranger, prosumer, clock):
    d = deployment
    register(d, clock, [prosumer])
    d.registry.set_aggregator(owner, stranger.address)
    d.market.set_aggregator(owner, stranger.address)
    s = make_schedule(clock.now())
    args = (Direction.UP, 100, s.duration_s, s.start, s.end, s.deadline, Strategy.FAIR)

    with reverts(errors.NotAggregator, aggregator.address):
        d.market.open_request(aggregator, *args)
    with reverts(errors.NotAggregator, aggregator.address):
        d.registry.terminate(aggregator, prosumer.address)
    rid, _ = d.market.open_request(stranger, *args)
    d.registry.terminate(stranger, prosumer.address)
    assert d.market.current_request_id() == rid
    assert not d.registry.is_active(prosumer.address)
