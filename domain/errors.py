"""Exceptions of the domain layer.

`DomainError` is the domain layer's subtree under the project's root (`base.errors.FlexsimError`); it
also inherits `ValueError` because every domain error is a bad value: a parameter out of range, a naive
datetime, a commitment above what the contract allows.
"""

from base.errors import FlexsimError


class DomainError(FlexsimError, ValueError):
    """Root of every error raised by the `domain` package."""


class ClockError(DomainError):
    """A simulation clock was given an invalid start, speed or duration."""


class ParameterError(DomainError):
    """A DER model, population or outage parameter is out of its valid range."""


class FlexibilityError(DomainError):
    """A flexibility commitment is malformed or exceeds what the DER may be asked for."""


class ProfileError(DomainError):
    """A yearly profile could not be built, read from or written to the cache."""
