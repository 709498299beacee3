"""Multi-step scenarios the market tests share: register many, open a request, join, settle."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from contracts.anchor import merkle_root, settlement_leaves
from contracts.deployment import Deployment
from contracts.sender import Receipt, Sender
from contracts.types import Direction, Strategy, Terms
from tests.contracts.clock import Clock
from tests.contracts.consent import grant
from tests.contracts.factories import DAY_S, Schedule, make_schedule, make_terms


def transact_all(calls: Iterable[tuple[Sender, Any]]) -> list[Receipt]:
    """Submits every (sender, contract function) first, then waits for all receipts.

    Each sender is its own account, so the submissions need no coordination; a thread pool overlaps
    the gas estimates.
    """
    calls = list(calls)
    with ThreadPoolExecutor(max_workers=8) as pool:
        hashes = list(pool.map(lambda c: c[0].submit(c[1]), calls))
    return [sender.wait(h) for (sender, _), h in zip(calls, hashes, strict=True)]


def register(
    d: Deployment,
    clock: Clock,
    senders: Sequence[Sender],
    terms: Terms | Sequence[Terms] | None = None,
    expiry_in: int = 30 * DAY_S,
) -> int:
    """Registers every sender with `terms` (one for all, or one each); returns the expiry."""
    expiry = clock.now() + expiry_in
    if terms is None or isinstance(terms, Terms):
        terms = [terms or make_terms()] * len(senders)
    fn = d.registry.contract.functions.register
    transact_all(
        (s, fn(t.as_tuple(), expiry, grant(d.registry, s.address, t, expiry).as_tuple()))
        for s, t in zip(senders, terms, strict=True)
    )
    return expiry


def open_request(
    d: Deployment,
    aggregator: Sender,
    clock: Clock,
    power_w: int,
    direction: Direction = Direction.UP,
    strategy: Strategy = Strategy.FAIR,
    **schedule: Any,
) -> tuple[int, Schedule]:
    s = make_schedule(clock.now(), **schedule)
    rid, _ = d.market.open_request(
        aggregator, direction, power_w, s.duration_s, s.start, s.end, s.deadline, strategy
    )
    return rid, s


def accept_all(d: Deployment, senders: Sequence[Sender], rid: int) -> list[Receipt]:
    return transact_all((s, d.market.contract.functions.accept(rid)) for s in senders)


def apply_all(d: Deployment, senders: Sequence[Sender], rid: int) -> list[Receipt]:
    return transact_all((s, d.market.contract.functions.applyFor(rid)) for s in senders)


def settle(
    d: Deployment,
    aggregator: Sender,
    clock: Clock,
    rid: int,
    schedule: Schedule,
    deliveries: Mapping[str, int],
) -> tuple[Receipt, Receipt]:
    """Moves past the window, records all deliveries in one batch and finalises, anchored."""
    recorded = record(d, aggregator, clock, rid, schedule, deliveries)
    finalised = finalise_anchored(d, aggregator, rid, deliveries)
    return recorded, finalised


def finalise_anchored(d: Deployment, aggregator: Sender, rid: int, deliveries: Mapping[str, int]) -> Receipt:
    """Finalises a request whose `deliveries` (prosumer -> Wh, as recorded) are all recorded, anchoring
    the settlement root over them (no signed readings roots: zero), as the aggregator does: plain
    `finalise` refuses a request with recorded deliveries (AnchorRequired)."""
    leaves = settlement_leaves(rid, deliveries)
    return d.market.finalise_anchored(aggregator, rid, merkle_root(leaves), len(leaves))


def record(
    d: Deployment,
    aggregator: Sender,
    clock: Clock,
    rid: int,
    schedule: Schedule,
    deliveries: Mapping[str, int],
) -> Receipt:
    """Moves past the window and records all deliveries in one batch (not finalised)."""
    if clock.now() < schedule.end:
        clock.advance_to(schedule.end)
    return d.market.record_deliveries(aggregator, rid, list(deliveries), list(deliveries.values()))


def run_fair_request(
    d: Deployment,
    aggregator: Sender,
    clock: Clock,
    participants: Sequence[Sender],
    delivered_wh: Mapping[str, int] | None = None,
    power_w: int = 2_000,
    duration_s: int = 3_600,
    finalise: bool = True,
) -> int:
    """One fair request from open to finalise (or, with `finalise=False`, to its recorded deliveries);
    each participant delivers its commitment unless told."""
    rid, s = open_request(d, aggregator, clock, power_w, duration_s=duration_s)
    accept_all(d, participants, rid)
    if delivered_wh is None:
        delivered_wh = {
            p.address: d.market.commitment_of(rid, p.address).power_w * duration_s // 3600
            for p in participants
        }
    if finalise:
        settle(d, aggregator, clock, rid, s, delivered_wh)
    else:
        record(d, aggregator, clock, rid, s, delivered_wh)
    return rid
