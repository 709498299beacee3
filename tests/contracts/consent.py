"""Registering in tests: the aggregator's consent signed with its development key, then the call.

The Registry accepts a registration only with the aggregator's EIP-712 consent. Tests that are not
about consent register through these helpers, which find the registry's aggregator among anvil's
development accounts and sign with its key; `tests/contracts/test_consent.py` exercises consent itself.
"""

from __future__ import annotations

from functools import cache

from contracts.anvil import dev_keys
from contracts.bindings import RegistryBinding
from contracts.consent import Consent, ConsentSigner
from contracts.sender import Receipt, Sender
from contracts.types import Terms

CONSENT_VALID_S = 3_600


@cache
def _dev_keys_by_address() -> dict[str, str]:
    from eth_account import Account

    return {Account.from_key(k).address: k for k in dev_keys(10)}


def signer_for(registry: RegistryBinding, key: str | None = None) -> ConsentSigner:
    """A signer with `key`, or with the development key of the registry's aggregator."""
    if key is None:
        key = _dev_keys_by_address()[registry.aggregator()]
    return ConsentSigner(key, registry.address, registry.chain.w3.eth.chain_id)


def grant(
    registry: RegistryBinding,
    prosumer: str,
    terms: Terms,
    expiry: int,
    key: str | None = None,
    deadline: int | None = None,
    nonce: int | None = None,
) -> Consent:
    """The aggregator's consent for `prosumer`'s next registration or renegotiation."""
    if nonce is None:
        nonce = registry.consent_nonce(prosumer)
    if deadline is None:
        deadline = int(registry.chain.w3.eth.get_block("latest")["timestamp"]) + CONSENT_VALID_S
    return signer_for(registry, key).sign(prosumer, terms, expiry, nonce, deadline)


def register(registry: RegistryBinding, sender: Sender, terms: Terms, expiry: int) -> Receipt:
    return registry.register(sender, terms, expiry, grant(registry, sender.address, terms, expiry))


def renegotiate(registry: RegistryBinding, sender: Sender, terms: Terms, expiry: int) -> Receipt:
    consent = grant(registry, sender.address, terms, expiry)
    return registry.renegotiate(sender, terms, expiry, consent)
