"""When a request's phases happen on the chain clock: pure functions (rules R6, R8).

The grid operator speaks simulated time (lead time and duration, e.g. 15 and 30 simulated minutes);
the chain speaks real seconds (`block.timestamp`). At clock speed `speed` a simulated second lasts
1/speed real seconds. Phases, in real time from the moment the request is opened:

    now ── acceptance ── deadline ── selection ── start ── window ── end ── return to baseline ──
         (share of lead)            (reputation)         (duration)       (margin, then settlement)

Every phase lasts at least a few blocks, so the transactions it needs fit in it on a 5 s chain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from aggregator.booking import BookingPolicy
from domain.delivery import BASELINE_MARGIN_S


@dataclass(frozen=True)
class DispatchPolicy:
    """How the dispatcher times and batches a request. Real seconds unless named simulated."""

    acceptance_share: float = 0.6  # share of the lead time during which prosumers answer
    min_acceptance_blocks: int = 3  # the acceptance window lasts at least this many blocks
    min_selection_blocks: int = 2  # between deadline and start, for the reputation selection
    # ... and never less than these real seconds: on an automining chain (1 s "blocks") with a fast
    # clock, prosumers on a busy machine need a few seconds to answer, and the fair top-up round (sent
    # a block after the deadline) must land a block before the start
    min_acceptance_s: float = 6.0
    min_selection_s: float = 8.0
    baseline_margin_s: float = BASELINE_MARGIN_S  # simulated s before and after the window (R6: 15 min)
    reading_grace_s: float = 3.0  # real seconds to wait for readings after the margin
    root_wait_s: float = 10.0  # real s to wait, before finaliseAnchored, for participants' signed roots
    reading_wait_s: float = 30.0  # then at most this long for every participant's readings to cover it
    settle_batch: int = 200  # deliveries per recordDeliveries transaction (233 fit 80% of 8M gas)
    select_batch: int = 400  # candidates per select transaction (~9.4k gas each)
    top_up_batch: int = 400  # accepters per topUp transaction (fair; see `flexsim bench gas`)
    booking: BookingPolicy = field(default_factory=BookingPolicy)  # fair over-booking (aggregator/booking.py)
    poll_s: float = 0.25


@dataclass(frozen=True)
class Plan:
    deadline: int
    start: int
    end: int


def plan(
    now: float, lead_time_s: float, duration_s: float, speed: float, block_time_s: float, p: DispatchPolicy
) -> Plan:
    """Deadline, start and end (epoch seconds on the chain clock) for a request opened at `now`."""
    min_accept = max(p.min_acceptance_blocks * block_time_s, p.min_acceptance_s)
    min_select = max(p.min_selection_blocks * block_time_s, p.min_selection_s)
    lead = max(lead_time_s / speed, min_accept + min_select)
    deadline = math.ceil(now + max(min_accept, lead * p.acceptance_share))
    start = max(math.ceil(now + lead), deadline + math.ceil(min_select))
    end = start + max(1, math.ceil(duration_s / speed))
    return Plan(deadline=deadline, start=start, end=end)


def settle_after(end: int, speed: float, p: DispatchPolicy) -> float:
    """Real epoch after which every reading of the return-to-baseline period should be stored."""
    return end + p.baseline_margin_s / speed + p.reading_grace_s


def batches(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
