"""The prosumer process end to end: anvil, the real aggregator (with its dispatcher) and `python -m prosumer`.

The simulated clock runs 150x real time, shared by the aggregator and the prosumers: a request's
15-minute lead, window and return-to-baseline period each last 6 real seconds. Delivery is checked
the way the aggregator settles it: `aggregator.baseline.measure` over the stored readings.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from aggregator.baseline import Sample, measure
from contracts.types import Direction, Response
from domain.clock import SimClock
from domain.population import sample_entry
from domain.vocabulary import SourceKind
from tests.prosumer.conftest import AggregatorService, Market, ProsumerProcess, wait_for
from tests.prosumer.factories import SEED, indices_of

pytestmark = [pytest.mark.chain, pytest.mark.e2e, pytest.mark.slow]

SPEED = 150.0
MARGIN_S = 900.0
BATTERIES = indices_of(SourceKind.BATTERY, 4)
DIRECTIONS = {"up": Direction.UP, "down": Direction.DOWN}


@pytest.fixture(scope="module")
def clock() -> SimClock:
    return SimClock(datetime(2025, 6, 1, 10, tzinfo=UTC), SPEED, time.time())


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, market: Market, clock: SimClock
) -> Iterator[AggregatorService]:
    svc = AggregatorService(tmp_path_factory.mktemp("aggregator"), market, chain_services=True, clock=clock)
    svc.start()
    yield svc
    svc.stop()


@pytest.fixture
def processes() -> Iterator[list[ProsumerProcess]]:
    started: list[ProsumerProcess] = []
    yield started
    for p in started:
        p.kill()


def start(processes: list[ProsumerProcess], p: ProsumerProcess) -> ProsumerProcess:
    processes.append(p.start())
    return p


def streaming(service: AggregatorService, p: ProsumerProcess, n: int = 4) -> list[dict[str, Any]]:
    rows = wait_for(lambda: len(rows := service.readings(p.address)) >= n and rows, 30, "readings")
    assert isinstance(rows, list)
    return rows


def run_request(service: AggregatorService, direction: str, power_w: int, strategy: str) -> dict[str, Any]:
    body = {"direction": direction, "power_w": power_w, "duration_s": 900, "lead_time_s": 900}
    rid = service.post("/requests", {**body, "strategy": strategy})["id"]
    return wait_for(
        lambda: (r := service.get(f"/requests/{rid}"))["status"] in ("settled", "failed", "cancelled") and r,
        90,
        f"request {rid} to settle",
        every=0.5,
    )


def wait_open(service: AggregatorService, rid: int) -> dict[str, Any]:
    return wait_for(
        lambda: (r := service.get(f"/requests/{rid}"))["start"] is not None and r, 30, "the request to open"
    )


def measured(
    service: AggregatorService, clock: SimClock, address: str, req: dict[str, Any]
) -> tuple[float, list]:
    """Delivered Wh by the aggregator's own method over the stored readings, and the window's readings."""
    s0, s1 = clock.sim_time(req["start"]).timestamp(), clock.sim_time(req["end"]).timestamp()
    rows = service.readings(address)
    samples = [Sample(datetime.fromisoformat(r["timestamp"]).timestamp(), r["power_w"]) for r in rows]
    delivery = measure(samples, int(DIRECTIONS[req["direction"]]), s0, s1, MARGIN_S)
    inside = [r for r in rows if s0 <= datetime.fromisoformat(r["timestamp"]).timestamp() < s1]
    return delivery.delivered_wh, inside


def assert_delivered(
    market: Market, service: AggregatorService, clock: SimClock, p: ProsumerProcess, req: dict[str, Any]
) -> float:
    assert req["status"] == "settled", req
    c = market.d.market.commitment_of(req["chain_request_id"], p.address)
    assert c.response == Response.COMPLIANT, c
    committed_wh = c.power_w * req["duration_s"] / 3600
    delivered, inside = measured(service, clock, p.address, req)
    assert abs(delivered - committed_wh) <= 0.1 * committed_wh, (delivered, committed_wh)
    assert c.delivered_wh == round(delivered)  # what the aggregator recorded on chain
    # a restart mid-window leaves a gap of a few readings (how many depends on how busy the machine is);
    # every reading inside the window, before and after the gap, is modulated
    assert inside and {r["status"] for r in inside} == {"modulating"}
    return delivered


def test_a_prosumer_registers_streams_delivers_and_stops_cleanly(
    tmp_path: Path,
    market: Market,
    service: AggregatorService,
    clock: SimClock,
    processes: list[ProsumerProcess],
) -> None:
    index = BATTERIES[0]
    p = start(processes, ProsumerProcess(tmp_path, market, service, index, clock))
    registry = market.d.registry
    wait_for(lambda: registry.is_active(p.address), 30, "the registration")
    reg = registry.registration_of(p.address)
    entry = sample_entry(SEED, index)
    model = entry.terms
    assert reg.terms == model  # the terms on chain are the model's (R2)
    assert reg.expiry == pytest.approx(time.time() + 30 * 86_400 / SPEED, abs=15)

    rows = streaming(service, p, 8)
    assert {r["kind"] for r in rows} == {"battery"} and {r["status"] for r in rows} == {"ok"}
    assert all(r["soc"] is not None and 0 < r["soc"] < 1 for r in rows)
    steps = [
        datetime.fromisoformat(b["timestamp"]).timestamp()
        - datetime.fromisoformat(a["timestamp"]).timestamp()
        for a, b in zip(rows, rows[1:], strict=False)
    ]
    assert sorted(steps)[len(steps) // 2] == pytest.approx(0.25 * SPEED, rel=0.01)  # 0.25 real s

    # fair (R7): the request asks for all the flexibility registered, so the share is the whole
    # contracted flexibility, capped at 25 % of the capacity
    up_total = registry.totals()[0]
    fair = run_request(service, "up", up_total, "fair")
    assert market.d.market.commitment_of(fair["chain_request_id"], p.address).power_w == min(
        model.flex_up_w, model.capacity_w // 4
    )
    assert_delivered(market, service, clock, p, fair)
    # tamper evidence (issue 16): the settlement is anchored with the prosumer's signed readings root in
    # its leaf, and the prosumer checked its leaf against the chain itself
    chain_rid = fair["chain_request_id"]
    leaf = wait_for(
        lambda: (
            market.d.anchor.root_of(chain_rid) != bytes(32)
            and service.get(f"/anchors/{chain_rid}/proof", prosumer=p.address)
        ),
        30,
        "the settlement anchor",
    )
    assert leaf["readings_root"] != "0x" + "00" * 32 and leaf["delivered_wh"] == round(
        market.d.market.commitment_of(chain_rid, p.address).delivered_wh
    )
    wait_for(lambda: f"request {chain_rid}: settlement leaf checked" in p.text(), 30, "the prosumer's check")

    # reputation (R8): it applies, is selected (the only candidate) and charges
    offer = min(model.flex_down_w, model.capacity_w // 4)
    rep = run_request(service, "down", offer, "reputation")
    selected = market.d.market.request_events("Selected", rep["chain_request_id"], 0)
    assert [(e["prosumer"], e["powerW"]) for e in selected] == [(p.address, offer)]
    assert_delivered(market, service, clock, p, rep)

    assert p.signal(signal.SIGTERM, timeout=15) == 0
    assert not p.running()
    last = p.text().strip().splitlines()[-1]
    assert "stopped:" in last and "0 unsent" in last


def test_a_restarted_prosumer_resumes_its_commitment_mid_window(
    tmp_path: Path,
    market: Market,
    service: AggregatorService,
    clock: SimClock,
    processes: list[ProsumerProcess],
) -> None:
    p = start(processes, ProsumerProcess(tmp_path, market, service, BATTERIES[1], clock))
    unwilling = start(
        processes, ProsumerProcess(tmp_path, market, service, BATTERIES[2], clock, willingness="0")
    )
    for q in (p, unwilling):
        wait_for(lambda q=q: market.d.registry.is_active(q.address), 30, "the registrations")  # type: ignore[misc]
        streaming(service, q)
    rid = service.post(
        "/requests",
        {"direction": "up", "power_w": market.d.registry.totals()[0], "duration_s": 900, "lead_time_s": 900,
         "strategy": "fair"},
    )["id"]  # fmt: skip
    req = wait_open(service, rid)
    wait_for(lambda: time.time() >= req["start"] + 2.0, 30, "the window to be under way")
    assert p.proc is not None
    p.proc.kill()  # SIGKILL mid-window: no flush, no goodbye
    p.proc.wait()
    p.start()  # same key file: same account

    req = wait_for(
        lambda: (r := service.get(f"/requests/{rid}"))["status"] in ("settled", "failed") and r,
        60,
        "the request to settle",
        every=0.5,
    )
    assert "resumed the commitment" in p.text()
    assert_delivered(market, service, clock, p, req)
    declined = market.d.market.request_events("Declined", req["chain_request_id"], 0)
    assert [(e["prosumer"], e["reason"]) for e in declined] == [(unwilling.address, 5)]  # UNWILLING
    assert p.signal(signal.SIGTERM, timeout=15) == 0
    assert unwilling.signal(signal.SIGTERM, timeout=15) == 0


def test_sigusr1_removes_the_contract_then_stops(
    tmp_path: Path, market: Market, service: AggregatorService, processes: list[ProsumerProcess]
) -> None:
    p = start(processes, ProsumerProcess(tmp_path, market, service, BATTERIES[3]))
    wait_for(lambda: market.d.registry.is_active(p.address), 30, "the registration")
    assert p.signal(signal.SIGUSR1, timeout=30) == 0
    assert not market.d.registry.is_active(p.address)
    assert market.d.registry.registration_of(p.address).terms.capacity_w == 0
    assert "removed the DER contract" in p.text()


def test_an_unfunded_account_fails_with_one_line_that_names_the_fix(
    tmp_path: Path, market: Market, service: AggregatorService
) -> None:
    p = ProsumerProcess(tmp_path, market, service, BATTERIES[0], fund=False).start()
    assert p.proc is not None and p.proc.wait(30) == 1
    lines = [line for line in p.text().splitlines() if line.strip()]
    assert lines[-1].startswith(f"prosumer: error: account {p.address} has 0.000000 native tokens")
    assert "CHAIN_FUNDER_KEY" in lines[-1] and "faucet" in lines[-1]
    assert "Traceback" not in p.text()
    assert not market.d.registry.is_active(p.address)
