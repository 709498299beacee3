"""The relayed answer's fallback end to end: the aggregator takes the signed answer but does not relay
it in time (its relay runs once an hour here), so the prosumer process answers with its own
transaction `PROSUMER_RELAY_FALLBACK_S` before the deadline, and the request settles with it."""

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
(INDEX,) = indices_of(SourceKind.BATTERY, 1, start=4_000)


@pytest.fixture(scope="module")
def clock() -> SimClock:
    return SimClock(datetime(2025, 6, 1, 10, tzinfo=UTC), SPEED, time.time())


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, market: Market, clock: SimClock
) -> Iterator[AggregatorService]:
    svc = AggregatorService(tmp_path_factory.mktemp("aggregator"), market, chain_services=True, clock=clock)
    svc.env["AGGREGATOR_RELAY_EVERY_S"] = "3600"  # takes answers, relays none during the test
    svc.start()
    yield svc
    svc.stop()


def test_an_answer_not_relayed_in_time_is_sent_directly(
    tmp_path: Path, market: Market, service: AggregatorService, clock: SimClock
) -> None:
    p = ProsumerProcess(tmp_path, market, service, INDEX, clock, answers="relayed", relay_fallback_s="4")
    try:
        p.start()
        registry = market.d.registry
        wait_for(partial(registry.is_active, p.address), 60, "the registration")
        wait_for(partial(service.readings, p.address), 30, "readings")
        w3 = market.d.chain.w3
        nonce = w3.eth.get_transaction_count(p.address)
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
        c = market.d.market.commitment_of(req["chain_request_id"], p.address)
        assert c.response in (Response.COMPLIANT, Response.PENALISED), c
        assert w3.eth.get_transaction_count(p.address) == nonce + 1  # its own acceptance
        text = p.text()
        assert "signed and relayed (queued)" in text and "answering directly" in text
    finally:
        p.kill()
