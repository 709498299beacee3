"""The market's vocabulary, defined once: source kinds, directions, strategies, decline reasons and answers.

Each is an `IntEnum` whose value is the code the contracts use (`contracts/src/FlexTypes.sol` declares
the same enums, and `tests/contracts/test_vocabulary.py` checks them value by value) and whose
`label` is the lower-case name scenarios, the API, logs and reports use. The codes are part of the
on-chain interface: never renumber them. `parse` accepts a label, a code or a member.
"""

from enum import IntEnum
from typing import TypeVar

from domain.errors import ParameterError

E = TypeVar("E", bound="Vocabulary")


class Vocabulary(IntEnum):
    """An on-chain code with a lower-case label."""

    @property
    def label(self) -> str:
        """Lower-case name used in scenarios, logs and the API (`solar`, `up`, `fair`, ...)."""
        return self.name.lower()

    @classmethod
    def labels(cls) -> list[str]:
        return [m.label for m in cls]

    @classmethod
    def parse(cls: type[E], value: "str | int | E") -> E:
        """A label (`"solar"`), a code (`0`) or a member; `ParameterError` otherwise."""
        noun = cls.__name__
        if isinstance(value, str):
            try:
                return cls[value.strip().upper()]
            except KeyError:
                raise ParameterError(f"unknown {noun} {value!r}: use one of {cls.labels()}") from None
        try:
            return cls(value)
        except ValueError:
            raise ParameterError(f"unknown {noun} code {value!r}: use 0..{len(cls) - 1}") from None


class SourceKind(Vocabulary):
    """The energy source of a DER (R1)."""

    SOLAR = 0
    WIND = 1
    CONSUMER = 2
    BATTERY = 3

    @property
    def is_producer(self) -> bool:
        """True for sources whose baseline power is >= 0 (solar, wind)."""
        return self in (SourceKind.SOLAR, SourceKind.WIND)


class Direction(Vocabulary):
    """Direction of a flexibility request (R2, R6).

    UP means more power to the grid: producers produce more, consumers consume less, batteries
    discharge. DOWN is the opposite.
    """

    UP = 0
    DOWN = 1

    @property
    def sign(self) -> int:
        """+1 for UP, -1 for DOWN: the sign of the power change it asks for."""
        return 1 if self is Direction.UP else -1


class Strategy(Vocabulary):
    """How a request is shared among prosumers: in proportion to their flexibility (R7), or by
    reputation (R8)."""

    FAIR = 0
    REPUTATION = 1


class DeclineReason(Vocabulary):
    """Why a prosumer says no to a request (R8): every opt-out carries one."""

    UNSPECIFIED = 0
    OUTAGE = 1
    INSUFFICIENT_FORECAST = 2
    STATE_OF_CHARGE = 3
    DURATION_BEYOND_CONTRACT = 4
    UNWILLING = 5


class AnswerAction(Vocabulary):
    """A prosumer's answer to a request, as it signs it for the aggregator to relay (EIP-712 `Answer`):
    the same four answers it can send directly. `value` is the limit for ACCEPT_UP_TO, the
    `DeclineReason` code for DECLINE, 0 otherwise."""

    ACCEPT = 0
    ACCEPT_UP_TO = 1
    APPLY = 2
    DECLINE = 3
