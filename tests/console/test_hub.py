"""The hub sends a page only what changed since it last heard: fragments whose HTML changed, the
prosumers' rows that changed (their order only when it changed), and wakes a stream when it publishes."""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import replace

from console import view
from console.hub import Hub


def row(address: str, index: int, seq: int) -> view.ProsumerRow:
    return view.ProsumerRow(
        index, address, "solar", 8000, 400, 1600, True, "online", 500, None, 4000.0, seq, None
    )


class Feed:
    def __init__(self) -> None:
        self.state = view.State(head=7)
        self.table: list[view.ProsumerRow] = []
        self.polls = 0
        self.closed = False

    def close(self) -> None:
        self.closed = True

    def poll(self, force: bool = False) -> view.State:
        self.polls += 1
        return self.state

    def rows(self, indices: dict[str, int]) -> list[view.ProsumerRow]:
        return list(self.table)


def test_a_page_gets_the_rows_that_changed_and_their_order_only_when_it_changed() -> None:
    feed = Feed()
    hub = Hub(feed, lambda: {})  # type: ignore[arg-type]
    hub.step()
    v0, first = hub.since(0)
    assert json.loads(first["prosumers"]) == {"order": [], "rows": view.NO_PROSUMER}
    assert {"clock", "chain", "request", "settlements", "errors", "power"} <= set(first)

    feed.table = [row("0xa", 0, 1), row("0xb", 1, 1)]
    hub.step()
    v1, out = hub.since(v0)
    assert set(out) == {"prosumers"}  # nothing else changed: no other fragment is sent again
    table = json.loads(out["prosumers"])
    assert table["order"] == ["0xa", "0xb"] and table["rows"].count("<tr") == 2

    feed.table = [feed.table[0], replace(feed.table[1], seq=2)]
    hub.step()
    v2, out = hub.since(v1)
    table = json.loads(out["prosumers"])
    assert table["order"] is None and table["rows"].count("<tr") == 1
    assert 'data-address="0xb"' in table["rows"]

    hub.step()  # nothing new: no version, nothing to send
    assert hub.since(v2) == (v2, {})

    feed.table = [feed.table[1]]  # 0xa left the table
    feed.state.head = 8  # and a block arrived
    hub.step()
    v3, out = hub.since(v2)
    assert json.loads(out["prosumers"]) == {"order": ["0xb"], "rows": ""}
    assert 'data-head="8"' in out["chain"]

    _, late = hub.since(0)  # a page opened now gets the whole table
    assert json.loads(late["prosumers"])["order"] == ["0xb"]
    assert json.loads(late["prosumers"])["rows"].count("<tr") == 1


def test_a_stream_wakes_when_the_hub_publishes() -> None:
    feed = Feed()
    hub = Hub(feed, lambda: {})  # type: ignore[arg-type]
    hub.step()
    version, _ = hub.since(0)

    async def waits() -> bool:
        waiting = asyncio.ensure_future(hub.wait(version, 30.0))
        await asyncio.sleep(0.05)
        feed.table = [row("0xa", 0, 1)]
        threading.Thread(target=hub.step).start()  # the feed's thread publishes
        await asyncio.wait_for(waiting, 10.0)
        return hub.version > version

    assert asyncio.run(waits())


def test_stopping_the_hub_closes_the_feed_it_polled() -> None:
    feed = Feed()
    hub = Hub(feed, lambda: {})  # type: ignore[arg-type]
    hub.start()
    hub.stop()
    assert feed.closed
