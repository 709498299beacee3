"""Every signature the market makes or checks (transactions, logins, consents, relayed answers) goes
through eth-keys; with coincurve installed it runs secp256k1 in C instead of pure Python (signing
~25 times, recovery ~50 times faster), which is what lets one aggregator check the answers of 1,000
prosumers without stalling its event loop (docs/scale.md). A fresh install must pick it up."""

from __future__ import annotations

import eth_keys
from eth_account import Account
from eth_account.messages import encode_defunct


def test_eth_keys_signs_with_the_c_backend() -> None:
    assert type(eth_keys.KeyAPI().backend).__name__ == "CoinCurveECCBackend"


def test_the_c_backend_recovers_what_it_signed() -> None:
    account = Account.from_key("0x" + "11" * 32)
    message = encode_defunct(text="flexsim")
    signed = account.sign_message(message)
    assert Account.recover_message(message, signature=signed.signature) == account.address
    other = encode_defunct(text="other")
    assert Account.recover_message(other, signature=signed.signature) != account.address
