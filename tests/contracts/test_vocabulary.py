"""One vocabulary: the Solidity enums and the Python ones agree value by value, and the wire's names are
the domain's labels."""

from __future__ import annotations

import re
from enum import Enum, IntEnum

import pytest

from aggregator.wire_consent import KindName
from aggregator.wire_market import DirectionName, StrategyName
from contracts.compiler import SOURCES_DIR
from contracts.types import RequestStatus, Response
from domain.vocabulary import AnswerAction, DeclineReason, Direction, SourceKind, Strategy

ENUM = re.compile(r"\benum\s+(\w+)\s*\{([^}]*)\}")


def solidity_enums() -> dict[str, list[str]]:
    """Every `enum Name { A, B }` declared in the contract sources, comments stripped."""
    found: dict[str, list[str]] = {}
    for path in SOURCES_DIR.glob("*.sol"):
        text = re.sub(r"//[^\n]*|/\*.*?\*/", "", path.read_text(), flags=re.S)
        for name, body in ENUM.findall(text):
            assert name not in found, f"enum {name} is declared twice"
            found[name] = [m.strip() for m in body.split(",") if m.strip()]
    return found


def upper_snake(camel: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).upper()


PAIRS: list[tuple[str, type[IntEnum]]] = [
    ("SourceKind", SourceKind),
    ("Direction", Direction),
    ("Strategy", Strategy),
    ("DeclineReason", DeclineReason),
    ("AnswerAction", AnswerAction),
    ("Status", RequestStatus),
    ("Response", Response),
]


@pytest.mark.parametrize(("solidity", "python"), PAIRS, ids=[p[0] for p in PAIRS])
def test_solidity_and_python_enums_agree_value_by_value(solidity: str, python: type[IntEnum]) -> None:
    members = solidity_enums()[solidity]
    assert [(upper_snake(m), code) for code, m in enumerate(members)] == [(m.name, m.value) for m in python]


def test_every_solidity_enum_has_a_python_twin() -> None:
    assert set(solidity_enums()) == {name for name, _ in PAIRS}


@pytest.mark.parametrize(
    ("wire", "domain"), [(KindName, SourceKind), (DirectionName, Direction), (StrategyName, Strategy)]
)
def test_the_wire_names_are_the_domain_labels(wire: type[Enum], domain: type[IntEnum]) -> None:
    assert [(w.name, w.value) for w in wire] == [(d.name, d.name.lower()) for d in domain]
    assert [w.code for w in wire] == list(domain)  # type: ignore[attr-defined]
