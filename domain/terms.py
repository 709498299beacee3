"""Contract terms a prosumer registers on chain (R2), in the integer units the chain uses.

Powers in W, energy in Wh (signed: > 0 production, < 0 consumption), durations in s, tariffs in token
base units (18 decimals) per kWh. No floats reach the money path: tariffs are built from whole
milli-tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from domain.errors import ParameterError
from domain.vocabulary import SourceKind

TOKEN_DECIMALS = 18
TOKEN_UNIT = 10**TOKEN_DECIMALS


@dataclass(frozen=True)
class Terms:
    """A DER's contract with its aggregator (R2), exactly as the Registry stores it (`Terms` in
    `contracts/src/FlexTypes.sol`, same field order). Every field is a Python int."""

    kind: SourceKind
    capacity_w: int
    expected_wh_per_day: int  # signed: production positive, consumption negative
    flex_up_w: int
    flex_down_w: int
    max_duration_s: int  # the longest request the prosumer guarantees to hold
    tariff_up: int  # token base units per kWh
    tariff_down: int

    def check(self) -> Terms:
        """The terms a DER model may offer (positive capacity, duration and tariffs, flexibility within
        capacity); `ParameterError` otherwise. Returns the terms, so `Terms(...).check()` chains."""
        for f in fields(self)[1:]:
            value = getattr(self, f.name)
            if type(value) is not int:
                raise ParameterError(f"contract term {f.name} must be an int, got {value!r}")
        if self.capacity_w <= 0 or self.max_duration_s <= 0:
            raise ParameterError(f"capacity_w and max_duration_s must be > 0, got {self}")
        for name in ("flex_up_w", "flex_down_w"):
            if not 0 <= getattr(self, name) <= self.capacity_w:
                raise ParameterError(
                    f"{name} must be in [0, capacity_w={self.capacity_w}], got {getattr(self, name)}"
                )
        if self.tariff_up <= 0 or self.tariff_down <= 0:
            raise ParameterError(
                f"tariffs must be > 0 base units per kWh, got {self.tariff_up}, {self.tariff_down}"
            )
        return self

    def as_tuple(self) -> tuple[int, ...]:
        """As the contracts' ABI takes the struct."""
        return (int(self.kind), *(int(getattr(self, f.name)) for f in fields(self)[1:]))

    @classmethod
    def from_tuple(cls, t: Any) -> Terms:
        """From a call result (tuple) or a decoded event struct (dict in ABI field order)."""
        values = list(t.values()) if isinstance(t, Mapping) else list(t)
        return cls(SourceKind(values[0]), *(int(x) for x in values[1:]))


def tokens_to_base_units(tokens: str | int | Decimal) -> int:
    """Exact conversion of a token amount (e.g. "0.125") to base units; rejects sub-unit precision."""
    value = Decimal(tokens) * TOKEN_UNIT
    if value != value.to_integral_value():
        raise ParameterError(f"{tokens} tokens is not a whole number of base units (18 decimals)")
    return int(value)


def milli_tokens(count: int) -> int:
    """`count` thousandths of a token, in base units."""
    return int(count) * (TOKEN_UNIT // 1000)
