"""The uplink against the real aggregator service, stopped and started again: nothing is lost within the
buffer's bound; past it the oldest readings go, and one log line says how many."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest
from eth_account import Account

from contracts.sender import Sender
from contracts.types import SourceKind, Terms
from prosumer.uplink import ReadingBuffer, Uplink
from tests.contracts.consent import register as consented_register
from tests.prosumer.conftest import AggregatorService, Market, wait_for
from tests.prosumer.factories import make_reading

pytestmark = pytest.mark.chain

TERMS = Terms(SourceKind.CONSUMER, 5_000, -10_000, 500, 500, 3_600, 2 * 10**17, 10**17)


@pytest.fixture
def key(market: Market) -> str:
    """A funded account registered as an active consumer."""
    key = "0x" + Account.create().key.hex().removeprefix("0x")
    market.fund(key)
    expiry = int(time.time()) + 86_400
    consented_register(market.d.registry, Sender(market.d.chain, key), TERMS, expiry)
    return key


def stored_seqs(service: AggregatorService, key: str) -> list[int]:
    return [r["seq"] for r in service.readings(Account.from_key(key).address)]


def test_readings_wait_for_the_aggregator_and_none_is_lost(
    aggregator_factory: Callable[..., AggregatorService], key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="prosumer.uplink")
    service = aggregator_factory()
    buffer = ReadingBuffer(1_000)
    uplink = Uplink(service.url, key, buffer, batch=8, timeout_s=2.0)
    uplink.start()
    try:
        for seq in range(1, 21):
            buffer.put(make_reading(seq))
        wait_for(lambda: len(buffer) == 0, 10, "the first readings to be acknowledged")
        assert stored_seqs(service, key) == list(range(1, 21))

        service.stop()
        for seq in range(21, 51):
            buffer.put(make_reading(seq))
            time.sleep(0.03)
        time.sleep(1.0)
        assert len(buffer) == 30  # kept, not acknowledged
        assert any("aggregator unreachable" in m for m in caplog.messages)

        service.start()  # a restarted aggregator forgot the token: 401, log in again, resend
        wait_for(lambda: len(buffer) == 0, 20, "the buffered readings to be sent")
        assert stored_seqs(service, key) == list(range(1, 51))
        assert sum("logged in to the aggregator" in m for m in caplog.messages) == 2
        assert any("reachable again" in m for m in caplog.messages)
        assert buffer.dropped_total == 0
    finally:
        assert uplink.stop(2.0) == 0


def test_past_the_bound_the_oldest_are_dropped_and_counted(
    aggregator_factory: Callable[..., AggregatorService], key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="prosumer.uplink")
    service = aggregator_factory()
    buffer = ReadingBuffer(10)
    uplink = Uplink(service.url, key, buffer, batch=4, timeout_s=2.0)
    uplink.start()
    try:
        for seq in range(1, 6):
            buffer.put(make_reading(seq))
        wait_for(lambda: len(buffer) == 0, 10, "the first readings to be acknowledged")
        service.stop()
        for seq in range(6, 31):
            buffer.put(make_reading(seq))
        assert len(buffer) == 10 and buffer.dropped_total == 15
        full = [m for m in caplog.messages if "buffer full" in m]
        assert len(full) == 1 and "10 readings" in full[0]

        service.start()
        wait_for(lambda: len(buffer) == 0, 20, "the buffered readings to be sent")
        assert stored_seqs(service, key) == [*range(1, 6), *range(21, 31)]  # the 15 oldest went
        dropped = [m for m in caplog.messages if "dropped 15 readings" in m]
        assert len(dropped) == 1 and "bound 10" in dropped[0]
    finally:
        uplink.stop(2.0)
