"""Group commit and backpressure: 503 + Retry-After when the writer cannot keep up, and nothing lost."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi.testclient import TestClient

from aggregator.app import create_app
from aggregator.db import Database
from aggregator.store import ReadingStore, Row
from tests.aggregator.conftest import Fleet
from tests.aggregator.factories import GRID, bearer, login, make_reading, make_settings


class SlowStore(ReadingStore):
    """Takes `delay_s` per group commit; `fail` makes the next commits raise."""

    def __init__(self, db: Database, delay_s: float) -> None:
        super().__init__(db)
        self.delay_s = delay_s
        self.fail = False
        self.groups: list[int] = []
        self.lock = threading.Lock()

    def insert(self, rows: Sequence[Row]) -> list[bool]:
        time.sleep(self.delay_s)
        if self.fail:
            raise OSError("disk on fire")
        with self.lock:
            self.groups.append(len(rows))
        return super().insert(rows)


def slow_app(
    tmp_path: Path, fleet: Fleet, delay_s: float, **settings: object
) -> tuple[TestClient, SlowStore]:
    s = make_settings(tmp_path, **settings)
    store = SlowStore(Database.connect(s.database_url), delay_s)
    return TestClient(create_app(s, registry_view=fleet.registry, store=store)), store


def test_a_full_queue_answers_503_with_retry_after_and_loses_nothing(tmp_path: Path, fleet: Fleet) -> None:
    client, store = slow_app(tmp_path, fleet, 0.15, writer_queue_rows=3, batch_max_items=3)
    with client:
        headers = login(client, fleet.solar)
        with ThreadPoolExecutor(24) as pool:
            replies = list(
                pool.map(lambda i: client.post("/readings", json=make_reading(i), headers=headers), range(48))
            )
        ok = [i for i, r in enumerate(replies) if r.status_code == 200]
        busy = [r for r in replies if r.status_code == 503]
        assert len(ok) + len(busy) == 48, {r.status_code for r in replies}
        assert ok and busy
        assert all(r.json()["error"] == "queue_full" and int(r.headers["Retry-After"]) >= 1 for r in busy)
        in_db = {r["seq"] for r in client.get("/readings", headers=bearer(GRID)).json()["readings"]}
        assert in_db == set(ok)  # every acknowledged reading is stored, and only those
        assert max(store.groups) <= 3
        metrics = client.get("/metrics").text
        assert f"flexsim_aggregator_writer_queue_full_total {len(busy)}" in metrics


def test_a_batch_larger_than_the_free_queue_waits_its_turn(tmp_path: Path, fleet: Fleet) -> None:
    client, _ = slow_app(tmp_path, fleet, 0.2, writer_queue_rows=10, batch_max_items=10)
    with client:
        headers = login(client, fleet.solar)
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(
                client.post,
                "/readings/batch",
                json={"readings": [make_reading(i) for i in range(8)]},
                headers=headers,
            )
            time.sleep(0.05)
            second = client.post(
                "/readings/batch", json={"readings": [make_reading(i) for i in range(8, 16)]}, headers=headers
            )
            assert first.result().json()["stored"] == 8
        assert second.status_code == 503 and "nothing was stored" in second.json()["detail"]
        assert client.get("/readings", headers=bearer(GRID)).json()["count"] == 8


def test_concurrent_requests_share_a_commit(tmp_path: Path, fleet: Fleet) -> None:
    client, store = slow_app(tmp_path, fleet, 0.05)
    with client:
        headers = [login(client, m) for m in fleet.members]
        with ThreadPoolExecutor(30) as pool:
            replies = list(
                pool.map(
                    lambda i: client.post(
                        "/readings",
                        json=make_reading(i, power_w=-1.0 if i % 3 else 1.0),
                        headers=headers[i % 3],
                    ),
                    range(90),
                )
            )
        assert all(r.status_code == 200 for r in replies)
        assert sum(store.groups) == 90 and len(store.groups) < 90  # some commits held several requests
        assert client.get("/readings", headers=bearer(GRID)).json()["count"] == 90


def test_a_failing_commit_acknowledges_nothing(tmp_path: Path, fleet: Fleet) -> None:
    client, store = slow_app(tmp_path, fleet, 0.0)
    with client:
        headers = login(client, fleet.solar)
        store.fail = True
        reply = client.post("/readings", json=make_reading(1), headers=headers)
        assert reply.status_code == 503 and reply.json()["error"] == "store_unavailable"
        assert "Retry-After" in reply.headers
        store.fail = False  # the writer survived; the client retries and succeeds
        assert client.post("/readings", json=make_reading(1), headers=headers).json()["status"] == "stored"
        assert client.get("/health").json()["writer_alive"] is True


def test_acknowledged_readings_survive_a_restart(tmp_path: Path, fleet: Fleet) -> None:
    client, store = slow_app(tmp_path, fleet, 0.1)
    with client:
        headers = login(client, fleet.solar)
        with ThreadPoolExecutor(8) as pool:
            replies = list(
                pool.map(lambda i: client.post("/readings", json=make_reading(i), headers=headers), range(8))
            )
    assert all(r.status_code == 200 for r in replies)
    assert ReadingStore(Database.connect(make_settings(tmp_path).database_url)).count() == 8


def test_stop_commits_what_is_queued(tmp_path: Path) -> None:
    import asyncio

    from aggregator.metrics import Metrics
    from aggregator.writer import Writer

    db = Database.connect(f"sqlite:///{tmp_path / 'w.db'}")
    store = SlowStore(db, 0.05)
    writer = Writer(store.insert, Metrics(), batch_rows=2, queue_rows=100)

    async def scenario() -> list[list[bool]]:
        writer.start()
        futures = [
            writer.submit([("0x" + "aa" * 20, i, 1.0, 0, 0.0, 0.0, None, 0, 0.0, None)]) for i in range(10)
        ]
        await asyncio.to_thread(writer.stop)  # returns once the queue is drained
        assert not writer.alive
        return list(await asyncio.gather(*futures))

    assert asyncio.run(scenario()) == [[True]] * 10
    assert sum(store.groups) == 10 and max(store.groups) == 2  # grouped, up to batch_rows
    assert ReadingStore(db).count() == 10
    db.dispose()
