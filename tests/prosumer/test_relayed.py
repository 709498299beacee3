"""Relayed answers end to end: two prosumer processes sign their answers and the aggregator relays them
on chain (`PROSUMER_ANSWERS=relayed`), a third answers with its own transaction, and the request settles
with all three. A relayed prosumer sends no transaction of its own after its registration."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest

from contracts.types import Response
from domain.clock import SimClock
from domain.vocabulary import SourceKind
from tests.prosumer.conftest import AggregatorService, Market, ProsumerProcess, wait_for
from tests.prosumer.factories import indices_of

pytestmark = [pytest.mark.chain, pytest.mark.e2e, pytest.mark.slow]

SPEED = 150.0
# The batteries after those test_process.py uses, so the two files can share the session's market.
RELAYED, DIRECT = (
    indices_of(SourceKind.BATTERY, 2, start=2_000),
    indices_of(SourceKind.BATTERY, 1, start=3_000),
)


@pytest.fixture(scope="module")
def clock() -> SimClock:
    return SimClock(datetime(2025, 6, 1, 10, tzinfo=UTC), SPEED, time.time())


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, market: Market, clock: SimClock
) -> Iterator[AggregatorService]:
    svc = AggregatorService(tmp_path_factory.mktemp("aggregator"), market, chain_services=True, clock=clock)
    svc.env["AGGREGATOR_RELAY_EVERY_S"] = "0.3"
    svc.start()
    yield svc
    svc.stop()


def test_relayed_and_direct_prosumers_settle_one_request(
    tmp_path: Path, market: Market, service: AggregatorService, clock: SimClock
) -> None:
    relayed = [
        ProsumerProcess(tmp_path, market, service, i, clock, answers="relayed", relay_fallback_s="2")
        for i in RELAYED
    ]
    direct = ProsumerProcess(tmp_path, market, service, DIRECT[0], clock)
    everyone = [*relayed, direct]
    try:
        for p in everyone:
            p.start()
        registry = market.d.registry
        for address in [p.address for p in everyone]:
            wait_for(partial(registry.is_active, address), 60, f"{address} to register")
            wait_for(partial(service.readings, address), 30, f"readings of {address}")
        w3 = market.d.chain.w3
        nonces = {p.address: w3.eth.get_transaction_count(p.address) for p in everyone}

        # a lead time of 24 real seconds leaves the relay ample time before the fallback
        body = {"direction": "up", "power_w": registry.totals()[0], "duration_s": 900, "lead_time_s": 3_600}
        rid = service.post("/requests", {**body, "strategy": "fair"})["id"]
        req = wait_for(
            lambda: (
                (r := service.get(f"/requests/{rid}"))["status"]
                in ("settled", "failed", "cancelled", "closed")
                and r
            ),
            180,
            f"request {rid} to settle",
            every=0.5,
        )

        assert req["status"] == "settled", req
        chain_id = req["chain_request_id"]
        accepted = {e["prosumer"] for e in market.d.market.request_events("Accepted", chain_id, 0)}
        assert {p.address for p in everyone} <= accepted
        for p in everyone:
            c = market.d.market.commitment_of(chain_id, p.address)
            assert c.response in (Response.COMPLIANT, Response.PENALISED), (p.address, c)
        # relayed: no transaction of their own (the aggregator sent relayAnswers); direct: one
        for p in relayed:
            assert w3.eth.get_transaction_count(p.address) == nonces[p.address], p.text()
            assert "signed and relayed" in p.text() and "answering directly" not in p.text()
        assert w3.eth.get_transaction_count(direct.address) == nonces[direct.address] + 1
        assert "signed and relayed" not in direct.text()
    finally:
        for p in everyone:
            p.kill()
