"""A contract function encoded and decoded with eth_abi directly: selector and types computed once.

web3's `contract.functions[name](*args)` finds the ABI entry matching the arguments, validates them
and runs its formatters on every call; a binding that knows which function it calls needs none of
that. `functions_of(abi)` is built once per binding (a fleet's parent builds it before it forks);
`EncodedCall` is what `Sender` signs and sends, and `Chain.call_encoded` calls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address


def abi_type(param: Mapping[str, Any]) -> str:
    """The canonical type of an ABI parameter (`(uint8,uint256)[]` for a struct array)."""
    t = str(param["type"])
    if t.startswith("tuple"):
        return "(" + ",".join(abi_type(c) for c in param["components"]) + ")" + t[len("tuple") :]
    return t


def selector(name: str, types: Sequence[str]) -> bytes:
    """The 4-byte selector of a function or custom error `name(types...)`."""
    return keccak(text=f"{name}({','.join(types)})")[:4]


@dataclass(frozen=True)
class EncodedCall:
    """A call to `to` with its calldata; `fn_name` names it in errors and logs."""

    to: str
    data: bytes
    fn_name: str


@dataclass(frozen=True)
class AbiFunction:
    name: str
    selector: bytes
    input_types: tuple[str, ...]
    output_types: tuple[str, ...]

    @classmethod
    def of(cls, entry: Mapping[str, Any]) -> AbiFunction:
        inputs = tuple(abi_type(p) for p in entry.get("inputs", ()))
        outputs = tuple(abi_type(p) for p in entry.get("outputs", ()))
        return cls(str(entry["name"]), selector(str(entry["name"]), inputs), inputs, outputs)

    def encode(self, to: str, args: Sequence[Any]) -> EncodedCall:
        if len(args) != len(self.input_types):
            raise TypeError(
                f"{self.name} takes {len(self.input_types)} arguments ({', '.join(self.input_types)}), "
                f"got {len(args)}: fix the binding that calls it"
            )
        return EncodedCall(to, self.selector + abi_encode(list(self.input_types), list(args)), self.name)

    def decode(self, raw: bytes) -> Any:
        """The result as web3 returns it: one value unwrapped, several as a tuple; addresses
        checksummed."""
        decoded = abi_decode(list(self.output_types), raw)
        values = tuple(_checksummed(t, v) for t, v in zip(self.output_types, decoded, strict=True))
        return values[0] if len(values) == 1 else values


def functions_of(abi: Sequence[Mapping[str, Any]]) -> dict[str, AbiFunction]:
    """Name -> function for every function of `abi` (an overloaded name keeps its first entry: the
    bindings call none)."""
    out: dict[str, AbiFunction] = {}
    for entry in abi:
        if entry.get("type") == "function" and entry["name"] not in out:
            out[str(entry["name"])] = AbiFunction.of(entry)
    return out


def _checksummed(t: str, value: Any) -> Any:
    if t == "address":
        return to_checksum_address(value)
    if t.startswith("(") and t.endswith(")"):
        return tuple(_checksummed(s, v) for s, v in zip(_split(t[1:-1]), value, strict=True))
    if t.endswith("[]") and ("address" in t):
        return tuple(_checksummed(t[:-2], v) for v in value)
    return value


def _split(inner: str) -> list[str]:
    """The component types of a tuple type's inside (`uint8,(address,uint256)[]` -> two types)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    if inner:
        parts.append(inner[start:])
    return parts
