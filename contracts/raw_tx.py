"""A transaction signed without eth_account's transaction classes: RLP and keccak by hand, the
signature by eth_keys (the same deterministic ECDSA eth_account ends in, so the bytes are identical).

eth_account's `sign_transaction` validates and normalises the dictionary through its typed-transaction
machinery (field formatters, rlp sedes classes) before it signs; in a forked prosumer that path
dirtied about 0.8 MB of memory shared with its parent. A `Sender` on raw JSON-RPC
(`Chain.use_plain_http`) signs here instead: an EIP-1559 transaction (type 2) or a legacy one with
EIP-155 replay protection, from the fields `Sender` builds. Tests compare the bytes with eth_account's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_keys.datatypes import PrivateKey
from eth_utils import keccak

RlpItem = bytes | int | Sequence["RlpItem"]


@dataclass(frozen=True)
class SignedRaw:
    raw_transaction: bytes
    hash: bytes


def rlp_encode(item: RlpItem) -> bytes:
    """Recursive length prefix: ints as minimal big-endian bytes (0 as the empty string)."""
    if isinstance(item, int):
        if item < 0:
            raise ValueError(f"RLP encodes no negative integer ({item})")
        item = item.to_bytes((item.bit_length() + 7) // 8, "big")
    if isinstance(item, (bytes, bytearray)):
        data = bytes(item)
        if len(data) == 1 and data[0] < 0x80:
            return data
        return _prefix(len(data), 0x80) + data
    body = b"".join(rlp_encode(x) for x in item)
    return _prefix(len(body), 0xC0) + body


def _prefix(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes([offset + length])
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(size)]) + size


def sign_transaction(key: PrivateKey, tx: Mapping[str, Any]) -> SignedRaw:
    """Signs `tx` (`to`, `data`, `value`, `gas`, `nonce`, `chainId`, and either `maxFeePerGas` with
    `maxPriorityFeePerGas` or `gasPrice`). No `from`: the key says who sends it."""
    to = _address(tx.get("to"))
    data = _bytes(tx.get("data", b""))
    common = (int(tx["nonce"]),)
    chain_id = int(tx["chainId"])
    if "maxFeePerGas" in tx:
        fields: list[RlpItem] = [
            chain_id,
            *common,
            int(tx["maxPriorityFeePerGas"]),
            int(tx["maxFeePerGas"]),
            int(tx["gas"]),
            to,
            int(tx.get("value", 0)),
            data,
            [],  # no access list
        ]
        sig = key.sign_msg_hash(keccak(b"\x02" + rlp_encode(fields)))
        raw = b"\x02" + rlp_encode([*fields, sig.v, sig.r, sig.s])
    else:
        fields = [*common, int(tx["gasPrice"]), int(tx["gas"]), to, int(tx.get("value", 0)), data]
        sig = key.sign_msg_hash(keccak(rlp_encode([*fields, chain_id, 0, 0])))
        raw = rlp_encode([*fields, sig.v + 35 + 2 * chain_id, sig.r, sig.s])
    return SignedRaw(raw, keccak(raw))


def _address(value: Any) -> bytes:
    if value is None:
        return b""  # contract creation
    raw = _bytes(value)
    if len(raw) != 20:
        raise ValueError(f"{value!r} is not a 20-byte address")
    return raw


def _bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return bytes.fromhex(value.removeprefix("0x"))
    return bytes(value)
