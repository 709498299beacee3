"""The aggregator's consent to a prosumer's terms: EIP-712 typed data, signed by the aggregator account.

The Registry accepts a registration (and a renegotiation that raises any term or the expiry) only with
a `Consent` whose signature recovers to its aggregator (rule R2: the contract is *with* the
aggregator). The typed data is

    EIP712Domain(name="flexsim Registry", version="1", chainId, verifyingContract=<registry>)
    RegistrationConsent(address prosumer, uint8 kind, uint32 capacityW, int40 expectedWhPerDay,
                        uint32 flexUpW, uint32 flexDownW, uint32 maxDurationS, uint88 tariffUp,
                        uint88 tariffDown, uint40 expiry, uint32 nonce, uint40 deadline)

`nonce` is the prosumer's `consentNonce` on the registry (each use raises it by one, so a consent is
single use); `deadline` is the last chain second at which it may be used. `tests/contracts` checks that
`typed_data_digest` equals the contract's own `consentDigest`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address

from contracts.types import Terms

DOMAIN_NAME = "flexsim Registry"
DOMAIN_VERSION = "1"
CONSENT_FIELDS: list[dict[str, str]] = [
    {"name": "prosumer", "type": "address"},
    {"name": "kind", "type": "uint8"},
    {"name": "capacityW", "type": "uint32"},
    {"name": "expectedWhPerDay", "type": "int40"},
    {"name": "flexUpW", "type": "uint32"},
    {"name": "flexDownW", "type": "uint32"},
    {"name": "maxDurationS", "type": "uint32"},
    {"name": "tariffUp", "type": "uint88"},
    {"name": "tariffDown", "type": "uint88"},
    {"name": "expiry", "type": "uint40"},
    {"name": "nonce", "type": "uint32"},
    {"name": "deadline", "type": "uint40"},
]


@dataclass(frozen=True)
class Consent:
    """A signed consent as the Registry takes it: deadline (chain epoch s) and the signature's v, r, s."""

    deadline: int
    v: int
    r: bytes
    s: bytes

    NONE: ClassVar[Consent]

    def as_tuple(self) -> tuple[int, int, bytes, bytes]:
        return (self.deadline, self.v, self.r, self.s)

    def to_json(self) -> dict[str, Any]:
        return {"deadline": self.deadline, "v": self.v, "r": "0x" + self.r.hex(), "s": "0x" + self.s.hex()}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Consent:
        return cls(int(doc["deadline"]), int(doc["v"]), _bytes32(doc["r"]), _bytes32(doc["s"]))


Consent.NONE = Consent(0, 0, bytes(32), bytes(32))


def typed_data(
    chain_id: int, registry: str, prosumer: str, terms: Terms, expiry: int, nonce: int, deadline: int
) -> dict[str, Any]:
    """The full EIP-712 message (as `eth_account.messages.encode_typed_data` and wallets take it)."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "RegistrationConsent": CONSENT_FIELDS,
        },
        "primaryType": "RegistrationConsent",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": to_checksum_address(registry),
        },
        "message": {
            "prosumer": to_checksum_address(prosumer),
            "kind": int(terms.kind),
            "capacityW": terms.capacity_w,
            "expectedWhPerDay": terms.expected_wh_per_day,
            "flexUpW": terms.flex_up_w,
            "flexDownW": terms.flex_down_w,
            "maxDurationS": terms.max_duration_s,
            "tariffUp": terms.tariff_up,
            "tariffDown": terms.tariff_down,
            "expiry": expiry,
            "nonce": nonce,
            "deadline": deadline,
        },
    }


def typed_data_digest(
    chain_id: int, registry: str, prosumer: str, terms: Terms, expiry: int, nonce: int, deadline: int
) -> bytes:
    """keccak256(0x1901 || domainSeparator || structHash): what the aggregator's key signs."""
    signable = encode_typed_data(
        full_message=typed_data(chain_id, registry, prosumer, terms, expiry, nonce, deadline)
    )
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


@dataclass(frozen=True)
class ConsentSigner:
    """Signs consents with the aggregator's key for one registry on one chain."""

    key: str | bytes  # the aggregator's private key
    registry: str
    chain_id: int

    @property
    def address(self) -> str:
        return str(Account.from_key(self.key).address)

    def sign(self, prosumer: str, terms: Terms, expiry: int, nonce: int, deadline: int) -> Consent:
        message = typed_data(self.chain_id, self.registry, prosumer, terms, expiry, nonce, deadline)
        signed = Account.sign_message(encode_typed_data(full_message=message), self.key)
        r, s = (int(x).to_bytes(32, "big") for x in (signed.r, signed.s))
        return Consent(deadline, int(signed.v), r, s)


def raises(current: Terms, current_expiry: int, new: Terms, new_expiry: int) -> bool:
    """True when a renegotiation from `current` to `new` needs consent (mirrors `Registry._raises`)."""
    return (
        new.kind != current.kind
        or new.capacity_w > current.capacity_w
        or new.flex_up_w > current.flex_up_w
        or new.flex_down_w > current.flex_down_w
        or new.max_duration_s > current.max_duration_s
        or new.tariff_up > current.tariff_up
        or new.tariff_down > current.tariff_down
        or abs(new.expected_wh_per_day) > abs(current.expected_wh_per_day)
        or new_expiry > current_expiry
    )


def _bytes32(value: str | bytes) -> bytes:
    raw = value if isinstance(value, bytes) else bytes.fromhex(value.removeprefix("0x"))
    if len(raw) != 32:
        raise ValueError(f"expected 32 bytes, got {len(raw)}")
    return raw
