"""Tamper evidence: Merkle trees over readings and settlements, and the prosumer's EIP-712 readings root.

Both trees (docs/tamper-evidence.md) hash **sorted pairs**: a parent is `keccak256(min(a, b) ++ max(a, b))`
(the smaller 32-byte word first), a level with an odd count moves its last node up unchanged, and a
proof is the list of siblings from the leaf up (levels where the node moved up add none). A single
leaf is its own root. `SettlementAnchor._processProof` verifies the same on chain.

Readings leaf (one per reading, in `seq` order), integers in milli-units so that the leaf does not
depend on how a float is printed:

    keccak256(abi.encode(address prosumer, uint64 seq, int64 timestampMs, int64 powerMilliW,
                         int64 energyMilliWh, int64 availableMilliW))

with `timestampMs = round(t * 1000)` (t: simulated epoch seconds), `powerMilliW = round(power_w *
1000)`, `energyMilliWh = round(energy_wh * 1000)`, `availableMilliW = round(available_w * 1000)` or
`NO_AVAILABLE` (int64 min) when the reading carries none. Settlement leaf (one per recorded delivery,
ordered by prosumer address):

    keccak256(abi.encode(uint256 requestId, address prosumer, int64 deliveredWh, bytes32 readingsRoot))

The prosumer signs its readings root as EIP-712 typed data on the anchor contract's domain:

    EIP712Domain(name="flexsim SettlementAnchor", version="1", chainId, verifyingContract=<anchor>)
    ReadingsRoot(address prosumer, uint256 requestId, int64 fromMs, int64 toMs, uint32 count, bytes32 root)

meaning "my `count` readings with timestampMs in [fromMs, toMs] hash to `root`". Pure functions; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address

DOMAIN_NAME = "flexsim SettlementAnchor"
DOMAIN_VERSION = "1"
NO_AVAILABLE = -(2**63)
"""`availableMilliW` of a reading without available power."""

READINGS_ROOT_FIELDS: list[dict[str, str]] = [
    {"name": "prosumer", "type": "address"},
    {"name": "requestId", "type": "uint256"},
    {"name": "fromMs", "type": "int64"},
    {"name": "toMs", "type": "int64"},
    {"name": "count", "type": "uint32"},
    {"name": "root", "type": "bytes32"},
]


def milli(value: float) -> int:
    """A float in base units as an integer number of thousandths (round half to even, as Python)."""
    return int(round(value * 1000))


@dataclass(frozen=True)
class LeafReading:
    """The signed fields of one reading (what the readings leaf encodes)."""

    seq: int
    t: float  # simulated epoch seconds
    power_w: float
    energy_wh: float
    available_w: float | None = None

    @property
    def timestamp_ms(self) -> int:
        return milli(self.t)


def reading_leaf(prosumer: str, r: LeafReading) -> bytes:
    available = NO_AVAILABLE if r.available_w is None else milli(r.available_w)
    return keccak(
        encode(
            ["address", "uint64", "int64", "int64", "int64", "int64"],
            [
                to_checksum_address(prosumer),
                r.seq,
                r.timestamp_ms,
                milli(r.power_w),
                milli(r.energy_wh),
                available,
            ],
        )
    )


def settlement_leaf(request_id: int, prosumer: str, delivered_wh: int, readings_root: bytes) -> bytes:
    return keccak(
        encode(
            ["uint256", "address", "int64", "bytes32"],
            [request_id, to_checksum_address(prosumer), delivered_wh, readings_root],
        )
    )


def settlement_leaves(
    request_id: int, deliveries: Mapping[str, int], readings_roots: Mapping[str, bytes] | None = None
) -> list[bytes]:
    """The leaves `finaliseAnchored` anchors: one per recorded delivery (prosumer -> Wh, as the market
    recorded it), ordered by prosumer address in lower case, each carrying the prosumer's signed
    readings root (zero for a prosumer without one in `readings_roots`)."""
    roots = {p.lower(): r for p, r in (readings_roots or {}).items()}
    ordered = sorted(deliveries.items(), key=lambda e: e[0].lower())
    return [settlement_leaf(request_id, p, wh, roots.get(p.lower(), bytes(32))) for p, wh in ordered]


def hash_pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a <= b else keccak(b + a)


def merkle_levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """Every level of the tree, leaves first, root last. Needs at least one leaf."""
    if not leaves:
        raise ValueError("a Merkle tree needs at least one leaf")
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        level = levels[-1]
        up = [hash_pair(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            up.append(level[-1])
        levels.append(up)
    return levels


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    return merkle_levels(leaves)[-1][0]


def merkle_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The siblings of leaf `index` from the bottom up."""
    return proof_from_levels(merkle_levels(leaves), index)


def proof_from_levels(levels: Sequence[Sequence[bytes]], index: int) -> list[bytes]:
    """`merkle_proof` from a tree's levels built once (`merkle_levels`): a server answering every
    participant's proof hashes the tree once, not once per participant."""
    proof: list[bytes] = []
    for level in levels[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            proof.append(level[sibling])
        index //= 2
    return proof


def process_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    h = leaf
    for p in proof:
        h = hash_pair(h, p)
    return h


def readings_root(prosumer: str, readings: Sequence[LeafReading]) -> bytes:
    """The Merkle root over `readings` in `seq` order (zero bytes for none)."""
    ordered = sorted(readings, key=lambda r: r.seq)
    return merkle_root([reading_leaf(prosumer, r) for r in ordered]) if ordered else bytes(32)


@dataclass(frozen=True)
class SignedRoot:
    """A prosumer's signed readings root for one request (the contract's `SignedRoot`)."""

    prosumer: str
    request_id: int
    from_ms: int
    to_ms: int
    count: int
    root: bytes
    v: int
    r: bytes
    s: bytes

    def as_tuple(self) -> tuple[int, int, int, bytes, int, bytes, bytes]:
        return (self.from_ms, self.to_ms, self.count, self.root, self.v, self.r, self.s)

    def signature(self) -> bytes:
        return self.r + self.s + bytes([self.v])


def typed_data(
    chain_id: int,
    anchor: str,
    prosumer: str,
    request_id: int,
    from_ms: int,
    to_ms: int,
    count: int,
    root: bytes,
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
            "ReadingsRoot": READINGS_ROOT_FIELDS,
        },
        "primaryType": "ReadingsRoot",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": to_checksum_address(anchor),
        },
        "message": {
            "prosumer": to_checksum_address(prosumer),
            "requestId": request_id,
            "fromMs": from_ms,
            "toMs": to_ms,
            "count": count,
            "root": root,
        },
    }


def typed_data_digest(
    chain_id: int,
    anchor: str,
    prosumer: str,
    request_id: int,
    from_ms: int,
    to_ms: int,
    count: int,
    root: bytes,
) -> bytes:
    """keccak256(0x1901 || domainSeparator || structHash): what the prosumer's key signs."""
    signable = encode_typed_data(
        full_message=typed_data(chain_id, anchor, prosumer, request_id, from_ms, to_ms, count, root)
    )
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def sign_root(
    key: str | bytes,
    chain_id: int,
    anchor: str,
    request_id: int,
    from_ms: int,
    to_ms: int,
    count: int,
    root: bytes,
) -> SignedRoot:
    account = Account.from_key(key)
    message = typed_data(chain_id, anchor, account.address, request_id, from_ms, to_ms, count, root)
    signed = Account.sign_message(encode_typed_data(full_message=message), key)
    r, s = (int(x).to_bytes(32, "big") for x in (signed.r, signed.s))
    return SignedRoot(str(account.address), request_id, from_ms, to_ms, count, root, int(signed.v), r, s)


HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
"""secp256k1n / 2: a larger `s` is the malleable twin of a valid signature (EIP-2), refused."""


def recover_signer(chain_id: int, anchor: str, signed: SignedRoot) -> str:
    """The account that signed `signed` (whatever its `prosumer` field says). Refuses, as the contract
    does, a high `s`, a `v` other than 27 or 28 and a signature that recovers to nobody (ValueError)."""
    if int.from_bytes(signed.s, "big") > HALF_ORDER or signed.v not in (27, 28):
        raise ValueError("malleable signature (high s) or v not 27/28")
    message = typed_data(
        chain_id,
        anchor,
        signed.prosumer,
        signed.request_id,
        signed.from_ms,
        signed.to_ms,
        signed.count,
        signed.root,
    )
    return str(Account.recover_message(encode_typed_data(full_message=message), signature=signed.signature()))
