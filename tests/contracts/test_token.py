"""FlexToken: ERC20 behaviour, minting only by the market, redeeming."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_utils import keccak

from contracts import errors
from contracts.sender import Sender
from tests.contracts.factories import TARIFF_UP
from tests.contracts.flows import register, run_fair_request
from tests.contracts.reference import payment
from tests.contracts.reverts import ZERO_ADDRESS, reverts

pytestmark = pytest.mark.chain

MAX_UINT256 = 2**256 - 1
PAY = payment(TARIFF_UP, 2_000, 3_600)  # one hour at 2 kW: 2 kWh at 0.2 token/kWh


@pytest.fixture
def holders(deployment, aggregator, prosumers, clock) -> tuple[Sender, Sender]:
    """Two prosumers paid PAY each by the market for a compliant delivery."""
    a, b = prosumers[:2]
    register(deployment, clock, [a, b])
    run_fair_request(deployment, aggregator, clock, [a, b], power_w=4_000)
    assert deployment.token.balance_of(a.address) == deployment.token.balance_of(b.address) == PAY
    return a, b


def transfers(token, receipt) -> list[tuple[str, str, int]]:
    return [
        (e["args"]["from"], e["args"]["to"], e["args"]["value"]) for e in token.events(receipt, "Transfer")
    ]


def test_metadata(token, deployment):
    fns = token.contract.functions
    assert fns.name().call() == "Flexibility Token"
    assert fns.symbol().call() == "FLEX"
    assert fns.decimals().call() == 18
    assert token.total_supply() == 0
    assert token.balance_of(deployment.market.address) == 0


def test_market_payments_are_minted(token, holders):
    a, b = holders
    assert PAY == 4 * 10**17
    assert token.total_supply() == 2 * PAY


def test_transfer(token, holders, stranger):
    a, _ = holders
    assert token.contract.functions.transfer(stranger.address, 1).call({"from": a.address}) is True

    receipt = token.transfer(a, stranger.address, 10**17)

    assert transfers(token, receipt) == [(a.address, stranger.address, 10**17)]
    assert token.balance_of(a.address) == PAY - 10**17
    assert token.balance_of(stranger.address) == 10**17
    assert token.total_supply() == 2 * PAY


def test_transfer_of_zero_and_to_oneself(token, holders):
    a, _ = holders
    assert transfers(token, token.transfer(a, a.address, PAY)) == [(a.address, a.address, PAY)]
    assert transfers(token, token.transfer(a, a.address, 0)) == [(a.address, a.address, 0)]
    assert token.balance_of(a.address) == PAY


def test_transfer_reverts(token, holders, stranger):
    a, _ = holders
    with reverts(errors.ERC20InsufficientBalance, a.address, PAY, PAY + 1):
        token.transfer(a, stranger.address, PAY + 1)
    with reverts(errors.ERC20InsufficientBalance, stranger.address, 0, 1):
        token.transfer(stranger, a.address, 1)
    with reverts(errors.ERC20InvalidReceiver, ZERO_ADDRESS):
        token.transfer(a, ZERO_ADDRESS, 1)
    assert token.balance_of(a.address) == PAY


def test_approve(token, prosumer, stranger):
    assert token.contract.functions.approve(stranger.address, 5).call({"from": prosumer.address}) is True
    receipt = token.approve(prosumer, stranger.address, 12_345)

    (event,) = token.events(receipt, "Approval")
    assert dict(event["args"]) == dict(owner=prosumer.address, spender=stranger.address, value=12_345)
    assert token.allowance(prosumer.address, stranger.address) == 12_345
    token.approve(prosumer, stranger.address, 7)  # overwrites, does not add
    assert token.allowance(prosumer.address, stranger.address) == 7


def test_approve_the_zero_address(token, prosumer):
    with reverts(errors.ERC20InvalidSpender, ZERO_ADDRESS):
        token.approve(prosumer, ZERO_ADDRESS, 1)


def test_transfer_from_spends_the_allowance(token, holders, stranger, owner):
    a, b = holders
    token.approve(a, stranger.address, 3 * 10**17)
    assert token.contract.functions.transferFrom(a.address, owner.address, 1).call({"from": stranger.address})

    receipt = token.transfer_from(stranger, a.address, owner.address, 10**17)

    assert transfers(token, receipt) == [(a.address, owner.address, 10**17)]
    assert token.events(receipt, "Approval") == []
    assert token.allowance(a.address, stranger.address) == 2 * 10**17
    assert token.balance_of(a.address) == PAY - 10**17
    assert token.balance_of(owner.address) == 10**17


def test_an_infinite_allowance_does_not_decrease(token, holders, stranger):
    a, b = holders
    token.approve(a, stranger.address, MAX_UINT256)
    token.transfer_from(stranger, a.address, b.address, PAY // 2)
    token.transfer_from(stranger, a.address, b.address, PAY // 2)
    assert token.allowance(a.address, stranger.address) == MAX_UINT256
    assert token.balance_of(b.address) == 2 * PAY


def test_transfer_from_reverts(token, holders, stranger):
    a, b = holders
    with reverts(errors.ERC20InsufficientAllowance, stranger.address, 0, 1):
        token.transfer_from(stranger, a.address, b.address, 1)
    token.approve(a, stranger.address, 100)
    with reverts(errors.ERC20InsufficientAllowance, stranger.address, 100, 101):
        token.transfer_from(stranger, a.address, b.address, 101)
    with reverts(errors.ERC20InvalidReceiver, ZERO_ADDRESS):
        token.transfer_from(stranger, a.address, ZERO_ADDRESS, 1)
    with reverts(errors.ERC20InvalidSender, ZERO_ADDRESS):
        token.transfer_from(stranger, ZERO_ADDRESS, b.address, 1)
    token.approve(a, stranger.address, MAX_UINT256)
    with reverts(errors.ERC20InsufficientBalance, a.address, PAY, PAY + 1):
        token.transfer_from(stranger, a.address, b.address, PAY + 1)
    assert token.balance_of(a.address) == PAY


@pytest.mark.parametrize("caller", ["stranger", "owner", "aggregator"])
def test_only_the_market_mints(token, prosumer, request, caller):
    sender = request.getfixturevalue(caller)
    with reverts(errors.NotMarket, sender.address):
        sender.transact(token.contract.functions.mint([prosumer.address], [10**18]))
    assert token.total_supply() == 0


@pytest.mark.parametrize("caller", ["stranger", "owner", "aggregator"])
def test_only_the_registry_opens_accounts(token, prosumer, request, caller):
    sender = request.getfixturevalue(caller)
    with reverts(errors.NotRegistry, sender.address):
        sender.transact(token.contract.functions.openAccount(prosumer.address))


def test_redeem_burns_and_reports_the_running_total(token, holders):
    a, b = holders
    first = token.redeem(a, 10**17)
    second = token.redeem(a, 5 * 10**16)

    assert transfers(token, first) == [(a.address, ZERO_ADDRESS, 10**17)]
    (e1,) = token.events(first, "Redeemed")
    (e2,) = token.events(second, "Redeemed")
    assert dict(e1["args"]) == dict(account=a.address, amount=10**17, totalRedeemed=10**17)
    assert dict(e2["args"]) == dict(account=a.address, amount=5 * 10**16, totalRedeemed=15 * 10**16)
    assert token.redeemed_by(a.address) == 15 * 10**16
    assert token.redeemed_by(b.address) == 0
    assert token.balance_of(a.address) == PAY - 15 * 10**16
    assert token.total_supply() == 2 * PAY - 15 * 10**16


def test_redeem_reverts(token, holders, stranger):
    a, _ = holders
    with reverts(errors.ZeroAmount):
        token.redeem(a, 0)
    with reverts(errors.ERC20InsufficientBalance, a.address, PAY, PAY + 1):
        token.redeem(a, PAY + 1)
    with reverts(errors.ERC20InsufficientBalance, stranger.address, 0, 1):
        token.redeem(stranger, 1)
    assert token.redeemed_by(a.address) == 0
    assert token.total_supply() == 2 * PAY


BALANCES_SLOT = 6  # owner, name, symbol, totalSupply, market, registry, then _balances


def balance_slot(account: str) -> int:
    return int.from_bytes(keccak(encode(["address", "uint256"], [account, BALANCES_SLOT])), "big")


def test_balances_share_a_slot_with_the_opened_flag(token, chain, holders, stranger):
    a, _ = holders
    raw = int.from_bytes(chain.w3.eth.get_storage_at(token.address, balance_slot(a.address)), "big")
    assert raw == (1 << 248) | PAY  # opened by the registry at registration, then paid
    assert (
        int.from_bytes(chain.w3.eth.get_storage_at(token.address, balance_slot(stranger.address)), "big") == 0
    )


def test_a_balance_cannot_overflow_248_bits(token, chain, holders, stranger, clock):
    """Unreachable through payments; the storage is set directly to reach the check."""
    a, _ = holders
    full = (1 << 248) - 1
    clock.rpc(
        "anvil_setStorageAt",
        token.address,
        hex(balance_slot(stranger.address)),
        "0x" + full.to_bytes(32, "big").hex(),
    )
    assert token.balance_of(stranger.address) == full
    with reverts(errors.BalanceOverflow, stranger.address):
        token.transfer(a, stranger.address, 1)
    token.transfer(a, stranger.address, 0)
    assert token.balance_of(stranger.address) == full
