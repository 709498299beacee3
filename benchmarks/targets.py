"""A benchmark's targets: a measured figure against the bound it should stay within."""

from __future__ import annotations

from pydantic import Field

from base.published import Number, Part


class AtMost(Part):
    """A figure that should stay at or below `target_max`."""

    measured: Number = Field(description="The measured figure.")
    target_max: Number = Field(description="The most it should be.")
    met: bool = Field(description="measured <= target_max.")

    @classmethod
    def of(cls, measured: Number, target_max: Number) -> AtMost:
        return cls(measured=measured, target_max=target_max, met=measured <= target_max)


class AtLeast(Part):
    """A figure that should reach `target_min`."""

    measured: Number = Field(description="The measured figure.")
    target_min: Number = Field(description="The least it should be.")
    met: bool = Field(description="measured >= target_min.")

    @classmethod
    def of(cls, measured: Number, target_min: Number) -> AtLeast:
        return cls(measured=measured, target_min=target_min, met=measured >= target_min)
