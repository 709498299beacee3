"""Under load the aggregator sheds readings, not control: while the writer cannot commit (its store is
held), readings beyond the queue bound are answered 503 with Retry-After at once, and health, login and
the grid operator's requests keep answering; once the store moves again every queued reading is
committed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient

from aggregator.app import create_app
from aggregator.db import Database
from aggregator.store import ReadingStore, Row
from tests.aggregator.conftest import Fleet
from tests.aggregator.factories import GRID, bearer, login, make_reading, make_settings


class HeldStore(ReadingStore):
    """Every commit waits until `release` is set: a store that stopped keeping up."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.release = threading.Event()
        self.entered = threading.Event()

    def insert(self, rows: Sequence[Row]) -> list[bool]:
        self.entered.set()
        assert self.release.wait(30), "the test never released the store"
        return super().insert(rows)


def wait_until(check: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@contextmanager
def _released_at_exit(store: HeldStore) -> Iterator[None]:
    try:
        yield
    finally:
        store.release.set()  # a failing assertion must not leave the writer held


def test_readings_are_shed_with_503_while_control_endpoints_answer(tmp_path: Path, fleet: Fleet) -> None:
    s = make_settings(tmp_path, writer_queue_rows=4, batch_max_items=4)
    store = HeldStore(Database.connect(s.database_url))
    with TestClient(create_app(s, registry_view=fleet.registry, store=store)) as client:
        headers = login(client, fleet.solar)
        with ThreadPoolExecutor(8) as pool, _released_at_exit(store):
            first = pool.submit(client.post, "/readings", json=make_reading(0), headers=headers)
            assert store.entered.wait(10)  # the writer holds reading 0 and cannot commit it
            queued = [
                pool.submit(client.post, "/readings", json=make_reading(i), headers=headers)
                for i in (1, 2, 3)
            ]
            writer = client.app.state.ctx.writer  # type: ignore[attr-defined]
            wait_until(lambda: writer.pending_rows == 4, "the queue to fill")
            shed = [client.post("/readings", json=make_reading(i), headers=headers) for i in range(4, 10)]
            assert [r.status_code for r in shed] == [503] * 6, [r.text for r in shed]
            assert all(r.json()["error"] == "queue_full" for r in shed)
            assert all(int(r.headers["Retry-After"]) >= 1 for r in shed)

            # control stays responsive while the store is held (nothing of it waits for the writer)
            assert client.get("/health").status_code == 200
            assert client.post("/auth/challenge", json={"address": fleet.consumer.address}).status_code == 200
            body = {"direction": "up", "power_w": 1_000, "duration_s": 600, "lead_time_s": 900}
            created = client.post("/requests", json=body, headers=bearer(GRID))
            assert created.status_code in (200, 201), created.text
            listed = client.get("/requests", headers=bearer(GRID)).json()["requests"]
            assert [r["id"] for r in listed] == [created.json()["id"]]
            assert not first.done() and not any(f.done() for f in queued) and not store.release.is_set()

            store.release.set()
            answers = [first.result(10), *(f.result(10) for f in queued)]
        assert [r.json()["status"] for r in answers] == ["stored"] * 4
        stored = client.get("/readings", headers=bearer(GRID)).json()["readings"]
        assert sorted(r["seq"] for r in stored) == [0, 1, 2, 3]
