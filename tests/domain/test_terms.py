"""Contract terms: integer units, exact token conversion, validation."""

from decimal import Decimal
from typing import Any

import pytest

from domain.errors import ParameterError
from domain.terms import Terms, milli_tokens, tokens_to_base_units
from domain.vocabulary import SourceKind

VALID: dict[str, Any] = dict(
    kind=SourceKind.SOLAR,
    capacity_w=7000,
    expected_wh_per_day=19000,
    flex_up_w=300,
    flex_down_w=1500,
    max_duration_s=1800,
    tariff_up=milli_tokens(220),
    tariff_down=milli_tokens(120),
)


def test_token_conversion_is_exact() -> None:
    assert tokens_to_base_units("0.125") == 125 * 10**15
    assert tokens_to_base_units(Decimal("1")) == 10**18
    assert milli_tokens(220) == tokens_to_base_units("0.22")
    with pytest.raises(ParameterError):
        tokens_to_base_units("0.0000000000000000001")


def test_valid_terms() -> None:
    assert Terms(**VALID).check().tariff_up == 220 * 10**15


@pytest.mark.parametrize(
    "override",
    [
        dict(capacity_w=7000.0),
        dict(flex_up_w=8000),
        dict(flex_down_w=-1),
        dict(max_duration_s=0),
        dict(tariff_up=0),
    ],
)
def test_invalid_terms_are_rejected(override: dict) -> None:
    with pytest.raises(ParameterError):
        Terms(**(VALID | override)).check()
