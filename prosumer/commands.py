"""Commands a driver gives one running prosumer through a file (the console's incidents and
renegotiations, R15).

The driver appends one JSON object per line to `<state_dir>/prosumer-<seed>-<index>.commands.jsonl`
(`ProsumerSettings.commands_file()`); the prosumer reads the lines it has not read yet once per reading
(so within a reading interval) and applies them:

- `{"outage_s": S}`: an outage from now for S simulated seconds, added to the DER's own outage schedule
  (the same schedule its Poisson outages come from, R12): it delivers 0 W and reports `outage`.
- `{"renegotiate": {"flex_up_w": .., "flex_down_w": .., "tariff_up": .., "tariff_down": ..}}` (any of
  them): new terms, registered on chain by the chain worker as its own renegotiations are (with the
  aggregator's consent when a term goes up, after the open request).
- `{"clock": {"sim_start": ISO time, "speed": X, "real_start": epoch s}}`: the run's simulated clock
  from now on (the console's sandbox changes the aggregator's and every prosumer's together). A clock
  is state, not an event: at start the prosumer takes the last one already in the file.

A line that is not such an object is logged and skipped; nothing else is read from the file.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from domain.clock import SimClock
from domain.errors import DomainError
from domain.outages import Outage
from domain.terms import Terms

log = logging.getLogger(__name__)

TERM_FIELDS = ("flex_up_w", "flex_down_w", "tariff_up", "tariff_down")


@dataclass
class CommandInbox:
    """The unread lines of a commands file."""

    path: Path
    offset: int = 0
    _partial: bytes = field(default=b"", repr=False)

    def poll(self) -> list[dict[str, Any]]:
        try:
            if self.path.stat().st_size <= self.offset:
                return []
            with self.path.open("rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except OSError:
            return []
        self.offset += len(chunk)
        *lines, self._partial = (self._partial + chunk).split(b"\n")
        out: list[dict[str, Any]] = []
        for line in lines:
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError:
                value = None
            if isinstance(value, dict):
                out.append(value)
            else:
                log.warning("commands file %s: skipping %r (not a JSON object)", self.path, line[:80])
        return out


def outage_from(command: dict[str, Any], now: datetime) -> Outage | None:
    """The outage an `outage_s` command asks for, from `now` (simulated), or None."""
    seconds = command.get("outage_s")
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not 0 < seconds <= 7 * 86_400:
        return None
    return Outage(now, now + timedelta(seconds=float(seconds)))


def terms_from(command: dict[str, Any], current: Terms) -> Terms | None:
    """The terms a `renegotiate` command asks for (the current ones with the fields given), or None
    when it names none or gives an invalid value (checked by `Terms.check`)."""
    changes = command.get("renegotiate")
    if not isinstance(changes, dict):
        return None
    update = {k: v for k, v in changes.items() if k in TERM_FIELDS and type(v) is int}
    if not update:
        return None
    new = replace(current, **update)  # type: ignore[arg-type]
    try:
        return new.check()
    except ValueError as exc:
        log.warning("renegotiation command %s refused: %s", changes, exc)
        return None


def clock_from(command: dict[str, Any]) -> SimClock | None:
    """The simulated clock a `clock` command sets, or None."""
    c = command.get("clock")
    if not isinstance(c, dict):
        return None
    try:
        start = datetime.fromisoformat(str(c["sim_start"]).replace("Z", "+00:00"))
        return SimClock(start, float(c["speed"]), float(c["real_start"]))
    except (KeyError, TypeError, ValueError, DomainError) as exc:
        log.warning("clock command %s refused: %s", c, exc)
        return None


def last_clock(path: Path) -> SimClock | None:
    """The last clock command already in the file (a prosumer started after a clock change)."""
    clock = None
    for command in CommandInbox(path).poll():
        clock = clock_from(command) or clock
    return clock
