"""Every undelivered Wh has a reason: the shortfall split of simulation.shortfall, by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.outages import Outage
from domain.realism import Traits
from simulation.shortfall import Prosumer, by_reason, shortfalls

T = datetime(2025, 6, 21, 12, tzinfo=UTC)


def terms(cap: int, up: int) -> dict[str, int]:
    return {"capacityW": cap, "flexUpW": up, "flexDownW": 0}


def events() -> list[tuple[str, dict[str, object]]]:
    reg: list[tuple[str, dict[str, object]]] = [
        ("Registered", {"prosumer": p, "terms": terms(8000, 2000)}) for p in "ABCDEF"
    ]
    return [
        *reg,
        ("FlexibilityRequested", {"requestId": 1, "direction": 0, "powerW": 6000, "durationS": 3600,
                                  "start": 100, "end": 3700}),
        ("Declined", {"requestId": 1, "prosumer": "E", "reason": 2}),  # could have offered 2000 W
        ("Declined", {"requestId": 1, "prosumer": "F", "reason": 1}),  # outage: 2000 W too
        ("DeliveryRecorded", {"requestId": 1, "prosumer": "A", "committedW": 1000, "deliveredWh": 1000}),
        ("DeliveryRecorded", {"requestId": 1, "prosumer": "B", "committedW": 1000, "deliveredWh": 600}),
        ("DeliveryRecorded", {"requestId": 1, "prosumer": "C", "committedW": 1000, "deliveredWh": 900}),
        ("DeliveryRecorded", {"requestId": 1, "prosumer": "D", "committedW": 1000, "deliveredWh": 1100}),
        ("RequestSettled", {"requestId": 1, "requestedWh": 6000, "committedWh": 4000, "deliveredWh": 3600}),
        ("FlexibilityRequested", {"requestId": 2, "direction": 0, "powerW": 1000, "durationS": 1800,
                                  "start": 5000, "end": 6800}),
        ("RequestClosed", {"requestId": 2, "recorded": 0, "participants": 0}),
    ]  # fmt: skip


def known(address: str) -> Prosumer:
    if address == "b":
        return Prosumer(Traits(care=0.6))
    if address == "c":  # an outage during request 1's window (simulated = chain epoch here)
        at = datetime.fromtimestamp(1000, UTC)
        return Prosumer(Traits(), (Outage(at, at + timedelta(seconds=600)),))
    return Prosumer()


def test_requested_minus_delivered_is_split_exactly_by_reason() -> None:
    one, two = shortfalls(events(), known, lambda epoch: datetime.fromtimestamp(epoch, UTC))
    # gap 2000 Wh: the two declines could have offered 2000 Wh each -> 1000 each
    assert one.undelivered_wh == {
        "declined: insufficient_forecast": 1000.0,
        "declined: outage": 1000.0,
        "careless": 400.0,  # B
        "outage in the window": 100.0,  # C
        "over-delivered": -100.0,  # D
    }
    assert sum(one.undelivered_wh.values()) == pytest.approx(one.requested_wh - one.delivered_wh)
    assert (two.requested_wh, two.undelivered_wh) == (500.0, {"not settled": 500.0})
    assert by_reason([one, two])["not settled"] == 500.0


def test_a_gap_the_declines_cannot_explain_is_not_covered() -> None:
    few = [e for e in events() if not (e[0] == "Declined" and e[1]["prosumer"] == "F")]
    one, _ = shortfalls(few, known, lambda epoch: datetime.fromtimestamp(epoch, UTC))
    assert one.undelivered_wh["declined: insufficient_forecast"] == 2000.0
    assert "not covered" not in one.undelivered_wh
    fewer = [e for e in few if e[0] != "Declined"]
    one, _ = shortfalls(fewer, known, lambda epoch: datetime.fromtimestamp(epoch, UTC))
    assert one.undelivered_wh["not covered"] == 2000.0


def test_an_over_booked_commitment_counts_negative_and_the_split_stays_exact() -> None:
    """Over-booking (aggregator/booking.py): 1200 Wh committed for 1000 requested, 950 delivered."""
    booked: list[tuple[str, dict[str, object]]] = [
        ("Registered", {"prosumer": "A", "terms": terms(8000, 2000)}),
        ("Registered", {"prosumer": "B", "terms": terms(8000, 2000)}),
        ("FlexibilityRequested", {"requestId": 1, "direction": 0, "powerW": 1000, "durationS": 3600,
                                  "start": 100, "end": 3700}),
        ("DeliveryRecorded", {"requestId": 1, "prosumer": "A", "committedW": 600, "deliveredWh": 600}),
        ("DeliveryRecorded", {"requestId": 1, "prosumer": "B", "committedW": 600, "deliveredWh": 350}),
        ("RequestSettled", {"requestId": 1, "requestedWh": 1000, "committedWh": 1200, "deliveredWh": 950}),
    ]  # fmt: skip
    (one,) = shortfalls(booked, known, lambda epoch: datetime.fromtimestamp(epoch, UTC))
    assert one.undelivered_wh == {"over-booked": -200.0, "careless": 250.0}
    assert sum(one.undelivered_wh.values()) == pytest.approx(one.requested_wh - one.delivered_wh)
