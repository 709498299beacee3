"""Source kinds and flexibility directions, with the integer codes the chain uses.

The codes are part of the on-chain interface: never renumber them.
"""

from enum import IntEnum

from domain.errors import ParameterError


class Kind(IntEnum):
    """The energy source of a DER (R1). The value is the on-chain code."""

    SOLAR = 0
    WIND = 1
    CONSUMER = 2
    BATTERY = 3

    @property
    def label(self) -> str:
        """Lower-case name used in scenarios, logs and the API (`solar`, `wind`, ...)."""
        return self.name.lower()

    @property
    def is_producer(self) -> bool:
        """True for sources whose baseline power is >= 0 (solar, wind)."""
        return self in (Kind.SOLAR, Kind.WIND)

    @classmethod
    def parse(cls, value: "str | int | Kind") -> "Kind":
        """Accept a label (`"solar"`), a code (`0`) or a `Kind`; raise `ParameterError` otherwise."""
        if isinstance(value, str):
            try:
                return cls[value.strip().upper()]
            except KeyError:
                raise ParameterError(f"unknown kind {value!r}: use one of {[k.label for k in cls]}") from None
        try:
            return cls(value)
        except ValueError:
            raise ParameterError(f"unknown kind code {value!r}: use 0..{len(cls) - 1}") from None


class Direction(IntEnum):
    """Direction of a flexibility request (R2, R6). The value is the on-chain code.

    UP means more power to the grid: producers produce more, consumers consume less, batteries
    discharge. DOWN is the opposite.
    """

    UP = 0
    DOWN = 1

    @property
    def label(self) -> str:
        """Lower-case name (`up`, `down`)."""
        return self.name.lower()

    @property
    def sign(self) -> int:
        """+1 for UP, -1 for DOWN: the sign of the power change it asks for."""
        return 1 if self is Direction.UP else -1

    @classmethod
    def parse(cls, value: "str | int | Direction") -> "Direction":
        """Accept `"up"`/`"down"`, `0`/`1` or a `Direction`; raise `ParameterError` otherwise."""
        if isinstance(value, str):
            try:
                return cls[value.strip().upper()]
            except KeyError:
                raise ParameterError(f"unknown direction {value!r}: use 'up' or 'down'") from None
        try:
            return cls(value)
        except ValueError:
            raise ParameterError(f"unknown direction code {value!r}: use 0 (up) or 1 (down)") from None
