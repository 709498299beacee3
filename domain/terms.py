"""Contract terms a prosumer registers on chain (R2), in the integer units the chain uses.

Powers in W, energy in Wh (signed: > 0 production, < 0 consumption), durations in s, tariffs in token
base units (18 decimals) per kWh. No floats reach the money path: tariffs are built from whole
milli-tokens.
"""

from dataclasses import dataclass, fields
from decimal import Decimal

from domain.errors import ParameterError

TOKEN_DECIMALS = 18
TOKEN_UNIT = 10**TOKEN_DECIMALS


@dataclass(frozen=True)
class ContractTerms:
    """Terms of one DER contract; every field is a Python int."""

    capacity_w: int
    expected_wh_per_day: int
    flex_up_w: int
    flex_down_w: int
    max_duration_s: int
    tariff_up: int
    tariff_down: int

    def __post_init__(self) -> None:
        for f in fields(self):
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


def tokens_to_base_units(tokens: str | int | Decimal) -> int:
    """Exact conversion of a token amount (e.g. "0.125") to base units; rejects sub-unit precision."""
    value = Decimal(tokens) * TOKEN_UNIT
    if value != value.to_integral_value():
        raise ParameterError(f"{tokens} tokens is not a whole number of base units (18 decimals)")
    return int(value)


def milli_tokens(count: int) -> int:
    """`count` thousandths of a token, in base units."""
    return int(count) * (TOKEN_UNIT // 1000)
