"""DERs added by hand (the console): a chosen kind and capacity, the rest drawn from the seed."""

from __future__ import annotations

import pytest

from domain.errors import ParameterError
from domain.population import entry_of_kind
from domain.vocabulary import SourceKind


@pytest.mark.parametrize("kind", list(SourceKind))
def test_the_registered_capacity_is_the_one_asked_for(kind: SourceKind) -> None:
    e = entry_of_kind(11, 5, kind, 8_000)
    assert e.kind == kind and e.terms.kind == kind
    assert abs(e.terms.capacity_w - 8_000) <= 8_000 * 0.02  # consumers: the peak draw, nearly exact
    assert 0 < e.terms.flex_up_w <= e.terms.capacity_w and 0 < e.terms.flex_down_w <= e.terms.capacity_w
    assert entry_of_kind(11, 5, kind, 8_000) == e  # reproducible from seed and index
    assert entry_of_kind(11, 6, kind, 8_000).terms != e.terms


def test_a_capacity_out_of_range_is_refused() -> None:
    with pytest.raises(ParameterError, match="capacity_w must be 100 W to 1 MW"):
        entry_of_kind(1, 0, SourceKind.SOLAR, 10)
