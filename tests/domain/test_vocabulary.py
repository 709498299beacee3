"""Kinds and directions keep the integer codes the chain uses."""

import pytest

from domain.errors import ParameterError
from domain.vocabulary import Direction, SourceKind


def test_kind_codes_are_stable() -> None:
    assert [(k.label, int(k)) for k in SourceKind] == [
        ("solar", 0),
        ("wind", 1),
        ("consumer", 2),
        ("battery", 3),
    ]
    assert [k for k in SourceKind if k.is_producer] == [SourceKind.SOLAR, SourceKind.WIND]


def test_direction_codes_and_signs() -> None:
    assert (int(Direction.UP), int(Direction.DOWN)) == (0, 1)
    assert (Direction.UP.sign, Direction.DOWN.sign) == (1, -1)


@pytest.mark.parametrize(
    ("value", "expected"), [("solar", SourceKind.SOLAR), (" Wind ", SourceKind.WIND), (3, SourceKind.BATTERY)]
)
def test_kind_parse(value: str | int, expected: SourceKind) -> None:
    assert SourceKind.parse(value) is expected


@pytest.mark.parametrize("value", ["nuclear", 4, -1])
def test_unknown_kinds_are_rejected(value: str | int) -> None:
    with pytest.raises(ParameterError):
        SourceKind.parse(value)


def test_direction_parse() -> None:
    assert Direction.parse("down") is Direction.DOWN and Direction.parse(0) is Direction.UP
    with pytest.raises(ParameterError):
        Direction.parse("sideways")
