"""The meter: readings on the simulated clock, modulation inside the window only, window edges that make
the aggregator's own measurement of the delivery exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.baseline import Sample, measure
from contracts.types import Direction
from domain.clock import SimClock
from domain.der import make_der
from domain.outages import Outage
from domain.population import Stream, sample_entry
from domain.profiles import Profiles
from domain.vocabulary import SourceKind
from prosumer.meter import MIN_GAP_S, Meter, Reading, next_reading_time
from tests.prosumer.factories import SEED, indices_of

SPEED = 60.0
REAL0 = 1_000_000.0
SIM0 = datetime(2025, 6, 1, 10, tzinfo=UTC)


def battery_meter(tmp_path: Path, outages: list[Outage] | None = None) -> Meter:
    entry = sample_entry(SEED, indices_of(SourceKind.BATTERY, 1)[0])
    der = make_der(entry, Profiles(tmp_path), outages or [])
    return Meter(der, SimClock(SIM0, SPEED, REAL0), entry.rng(Stream.RUNTIME))


def run(meter: Meter, seconds: float, interval: float = 1.0) -> list[Reading]:
    """The agent's loop without waiting: readings from REAL0 for `seconds` real seconds."""
    out, planned = [], REAL0
    while planned < REAL0 + seconds:
        nxt = next_reading_time(planned, planned, interval, meter.edges())
        out.append(meter.read(planned, nxt))
        planned = nxt
    return out


@pytest.mark.parametrize(
    ("planned", "now", "edges", "expected"),
    [
        (10.0, 10.0, (), 11.0),
        (10.0, 10.3, (), 11.0),  # a little late: keep the schedule
        (10.0, 12.5, (), 12.5),  # more than an interval late: the step covers the gap
        (10.0, 10.0, (10.4,), 10.4),  # a window edge comes first
        (10.0, 10.0, (10.7, 10.4), 10.4),
        (10.0, 10.0, (10.0,), 11.0),  # the edge is this reading
        (10.0, 10.0, (11.0,), 11.0),  # the edge is the next regular reading
        (10.0, 10.0, (10.0 + MIN_GAP_S / 2,), 11.0),  # too close to share a millisecond seq
        (10.0, 10.0, (9.0, 20.0), 11.0),  # edges in the past or beyond the next reading
    ],
)
def test_next_reading_time(planned: float, now: float, edges: tuple[float, ...], expected: float) -> None:
    assert next_reading_time(planned, now, 1.0, edges) == pytest.approx(expected)


def test_a_committed_window_is_delivered_exactly_as_the_aggregator_measures_it(tmp_path: Path) -> None:
    meter = battery_meter(tmp_path)
    start, end = REAL0 + 20.4, REAL0 + 35.7  # not on the reading ticks
    window = meter.commit(7, Direction.UP, 600, int(start), int(end))
    assert meter.edges() == (float(int(start)), float(int(end)))
    readings = run(meter, 60)
    s0, s1 = window.commitment.start.timestamp(), window.commitment.end.timestamp()
    samples = [Sample(r.timestamp.timestamp(), r.power_w) for r in readings]
    delivery = measure(samples, int(Direction.UP), s0, s1, margin_s=900)
    committed_wh = 600 * (s1 - s0) / 3600
    assert delivery.delivered_wh == pytest.approx(committed_wh, rel=1e-6)
    inside = [r for r in readings if s0 <= r.timestamp.timestamp() < s1]
    outside = [r for r in readings if not s0 <= r.timestamp.timestamp() < s1]
    assert {r.status for r in inside} == {"modulating"} and {r.power_w for r in inside} == {600.0}
    assert {r.status for r in outside} == {"ok"} and {r.power_w for r in outside} == {0.0}
    assert inside[0].timestamp.timestamp() == s0  # a reading on each edge
    assert any(r.timestamp.timestamp() == s1 for r in outside)


def test_readings_carry_sequence_energy_and_state_of_charge(tmp_path: Path) -> None:
    meter = battery_meter(tmp_path)
    meter.commit(1, Direction.DOWN, 500, int(REAL0), int(REAL0 + 10))  # charge 500 W for 10 real s
    readings = run(meter, 12)
    assert [r.seq for r in readings] == [round(r.taken_at * 1000) for r in readings]
    assert all(b.seq > a.seq for a, b in zip(readings, readings[1:], strict=False))
    assert readings[0].timestamp == SIM0
    assert readings[1].timestamp == SIM0 + timedelta(seconds=SPEED)
    charged_wh = 500 * 10 * SPEED / 3600
    assert readings[-1].energy_wh == pytest.approx(-charged_wh)  # drawn from the grid: negative
    socs = [r.soc for r in readings]
    assert all(s is not None and 0 <= s <= 1 for s in socs)
    assert socs[10] > socs[0]  # type: ignore[operator]


def test_outage_readings_and_cancel(tmp_path: Path) -> None:
    outage = Outage(SIM0 + timedelta(seconds=5 * SPEED), SIM0 + timedelta(seconds=8 * SPEED))
    meter = battery_meter(tmp_path, [outage])
    meter.commit(3, Direction.UP, 400, int(REAL0), int(REAL0 + 100))
    readings = run(meter, 10)
    statuses = [r.status for r in readings]
    assert statuses[5:8] == ["outage"] * 3 and {r.power_w for r in readings[5:8]} == {0.0}
    assert statuses[:5] == ["modulating"] * 5
    assert meter.in_outage(REAL0 + 6) and not meter.in_outage(REAL0 + 9)
    assert not meter.cancel(99) and meter.cancel(3) and meter.edges() == ()
    assert meter.read(REAL0 + 10, REAL0 + 11).power_w == 0.0


def test_feasibility_and_renegotiated_limits(tmp_path: Path) -> None:
    from dataclasses import replace

    meter = battery_meter(tmp_path)
    entry = sample_entry(SEED, indices_of(SourceKind.BATTERY, 1)[0])
    terms = entry.terms
    limit = min(terms.flex_up_w, terms.capacity_w / 4)
    assert meter.feasible_w(Direction.UP, 900) == pytest.approx(limit)
    meter.set_terms(replace(terms, flex_up_w=100))
    assert meter.feasible_w(Direction.UP, 900) == pytest.approx(100)


def test_the_energy_counter_survives_a_restart_of_the_same_contract_only(tmp_path: Path) -> None:
    from prosumer.agent import load_energy, save_energy

    path = tmp_path / "p.meter.json"
    assert load_energy(path, "0xA@0xR") == 0.0  # first start
    save_energy(path, 1234.5, "0xA@0xR")
    assert load_energy(path, "0xA@0xR") == 1234.5
    assert load_energy(path, "0xA@0xOther") == 0.0  # a new deployment starts a new meter
    path.write_text("not json")
    assert load_energy(path, "0xA@0xR") == 0.0


def test_a_producer_reports_what_the_weather_allowed_and_others_do_not(tmp_path: Path) -> None:
    entry = sample_entry(SEED, indices_of(SourceKind.SOLAR, 1)[0])
    outage = Outage(SIM0 + timedelta(minutes=30), SIM0 + timedelta(minutes=50))
    der = make_der(entry, Profiles(tmp_path), [outage])
    readings = run(Meter(der, SimClock(SIM0, SPEED, REAL0), entry.rng(Stream.RUNTIME)), 60)
    assert all(r.available_w is not None and 0 <= r.power_w <= r.available_w for r in readings)
    assert any(r.available_w and r.available_w > r.power_w for r in readings)  # it keeps headroom
    offline = [r for r in readings if r.status == "outage"]
    assert offline and all(r.available_w == 0 for r in offline)  # nothing to curtail while offline
    assert "available_w" in readings[0].wire()
    battery = run(battery_meter(tmp_path), 5)
    assert all(r.available_w is None and "available_w" not in r.wire() for r in battery)
