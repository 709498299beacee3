"""The errors of a run's results: a run folder that cannot be read, and totals that disagree."""

from __future__ import annotations

from base.errors import FlexsimError


class RunFolderError(FlexsimError, ValueError):
    """A run folder lacks what re-rendering its report needs, or holds something unreadable."""


class TotalsMismatch(FlexsimError, RuntimeError):
    """The chain's settled totals differ from the aggregator database's: the report would not be true."""
