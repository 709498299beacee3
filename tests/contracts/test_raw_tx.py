"""`contracts.raw_tx`: RLP by the specification's examples, and signed transactions byte for byte as
eth_account signs them (both sign deterministically), EIP-1559 and legacy."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_keys import keys

from contracts.raw_tx import rlp_encode, sign_transaction

KEY = "0x" + "11" * 32
TO = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


@pytest.mark.parametrize(
    ("item", "encoded"),
    [
        (b"dog", "83646f67"),
        ([b"cat", b"dog"], "c88363617483646f67"),
        (b"", "80"),
        ([], "c0"),
        (0, "80"),
        (15, "0f"),
        (1024, "820400"),
        ([[], [[]], [[], [[]]]], "c7c0c1c0c3c0c1c0"),
        (
            b"Lorem ipsum dolor sit amet, consectetur adipisicing elit",
            "b838" + b"Lorem ipsum dolor sit amet, consectetur adipisicing elit".hex(),
        ),
    ],
)
def test_rlp_matches_the_specification_examples(item, encoded):
    assert rlp_encode(item).hex() == encoded


@pytest.mark.parametrize(
    "tx",
    [
        {"to": TO, "data": bytes.fromhex("a9059cbb") + bytes(64), "value": 0, "gas": 123_456,
         "chainId": 31337, "nonce": 5, "maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 10**8},
        {"to": TO, "data": b"", "value": 10**15 + 7, "gas": 21_000, "chainId": 73799, "nonce": 0,
         "gasPrice": 10**9},
        {"to": TO, "data": bytes(300), "value": 0, "gas": 90_000, "chainId": 1, "nonce": 300,
         "maxFeePerGas": 0, "maxPriorityFeePerGas": 0},
    ],
)  # fmt: skip
def test_a_transaction_is_signed_byte_for_byte_as_eth_account_signs_it(tx):
    expected = Account.from_key(KEY).sign_transaction(tx)

    signed = sign_transaction(keys.PrivateKey(bytes.fromhex(KEY[2:])), tx)

    assert signed.raw_transaction == bytes(expected.raw_transaction)
    assert signed.hash == bytes(expected.hash)


def test_a_short_address_is_refused():
    tx = {"to": "0x1234", "value": 0, "gas": 21_000, "chainId": 1, "nonce": 0, "gasPrice": 1}
    with pytest.raises(ValueError, match="20-byte address"):
        sign_transaction(keys.PrivateKey(bytes.fromhex(KEY[2:])), tx)
