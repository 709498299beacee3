"""The console's heartbeat: a thread polls the `Feed`, renders the fragments and keeps the ones that
changed with a version number; each page's event stream sends what is newer than what it sent.

It polls only while a page is open (`attach` / `detach`): with none, the console costs the aggregator
and the chain nothing. What an open page costs is kept small (docs/console.md, "What the page
costs"):

- a fragment is published only when its HTML changed, and an event stream wakes only then (`wait`),
  not on a timer;
- the prosumers' table is kept row by row (a version per row): a page gets the rows that changed since
  it last heard, and their order only when that changed (`rows_since`);
- a row is rendered only when what it shows changed (rendered rows are kept by their content);
- the chain's fragment is rendered when a new block arrives (its pending transactions and reading lag
  are those of that moment), the chart's point once a second, the requests when they were read.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable

from console import view
from console.feed import Feed

log = logging.getLogger(__name__)

Indices = Callable[[], dict[str, int]]
ROWS = "prosumers"


class Hub:
    def __init__(self, feed: Feed, indices: Indices, poll_s: float = 0.5) -> None:
        self.feed = feed
        self.indices = indices
        self.poll_s = poll_s
        self.version = 0
        self.fragments: dict[str, tuple[int, str]] = {}  # name -> (version, payload)
        self.rows: dict[str, tuple[int, str]] = {}  # address -> (version, <tr> HTML)
        self.order: tuple[int, list[str]] = (0, [])  # (version, addresses in the table's order)
        self._rendered: dict[view.ProsumerRow, str] = {}  # a row's content -> its HTML
        self._chain_key: object = None
        self._requests: object = None
        self._lock = threading.Lock()
        self._poll_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._history: list[list[object]] = []
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self.pages = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="console-feed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.feed.close()

    def attach(self) -> None:
        with self._lock:
            self.pages += 1

    def detach(self) -> None:
        with self._lock:
            self.pages -= 1

    def poke(self) -> None:
        """Polls everything now (after an action), outside the rhythm."""
        self.step(force=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            if self.pages <= 0:
                self._stop.wait(self.poll_s)
                continue
            try:
                self.step()
            except Exception:
                log.exception("console: polling failed")
            self._stop.wait(max(0.0, self.poll_s - (time.monotonic() - started)))

    def step(self, force: bool = False) -> None:
        with self._poll_lock:
            s = self.feed.poll(force)
            rows = self.feed.rows(self.indices())
            new = {"clock": view.clock_html(s), "errors": view.errors_html(s)}
            chain_key = (s.head, s.pending_txs, s.errors.get("chain"))
            if force or chain_key != self._chain_key:  # a new block (or the node's error)
                self._chain_key = chain_key
                new["chain"] = view.chain_html(s)
            if force or s.requests is not self._requests:  # read again (the feed makes a new list)
                self._requests = s.requests
                new["request"] = view.request_html(s)
                new["settlements"] = view.settlements_html(s)
            last = s.power[-1] if s.power else None
            new["power"] = json.dumps(
                {
                    "points": [] if last is None else [[last.t, last.by_kind, last.net_w]],
                    "windows": view.windows(s),
                }
            )
            rendered = {r: self._rendered.get(r) or view.prosumer_row_html(r) for r in rows}
            self._rendered = rendered
            self._history = [[p.t, p.by_kind, p.net_w] for p in s.power]
            with self._lock:
                self._publish(new, [(r.address, rendered[r]) for r in rows])

    def _publish(self, new: dict[str, str], rows: list[tuple[str, str]]) -> None:
        changed = {k: v for k, v in new.items() if self.fragments.get(k, (0, None))[1] != v}
        fresh = [(a, h) for a, h in rows if self.rows.get(a, (0, None))[1] != h]
        order = [a for a, _ in rows]
        if not (changed or fresh or order != self.order[1] or not self.order[0]):
            return
        self.version += 1
        for k, v in changed.items():
            self.fragments[k] = (self.version, v)
        for a, h in fresh:
            self.rows[a] = (self.version, h)
        if order != self.order[1] or not self.order[0]:
            self.order = (self.version, order)
            self.rows = {a: self.rows[a] for a in order}
        for loop, event in list(self._waiters):
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # its server stopped (the loop is closed): nobody to wake
                self._waiters.discard((loop, event))

    async def wait(self, version: int, timeout_s: float) -> None:
        """Returns when something newer than `version` was published (or after `timeout_s`)."""
        event = asyncio.Event()
        waiter = (asyncio.get_running_loop(), event)
        with self._lock:
            if self.version > version:
                return
            self._waiters.add(waiter)
        try:
            await asyncio.wait_for(event.wait(), timeout_s)
        except TimeoutError:
            pass
        finally:
            with self._lock:
                self._waiters.discard(waiter)

    def history(self) -> str:
        """Every point of the chart's window (sent first to a new page)."""
        with self._lock:
            return json.dumps({"points": list(self._history), "windows": []})

    def since(self, version: int) -> tuple[int, dict[str, str]]:
        """The fragments newer than `version`, and the current version. The prosumers' table is one
        event, `prosumers`: `{"order": [addresses] or null, "rows": "<tr>…"}`, the rows that changed
        (and their order when it changed; with no prosumer, a placeholder row without an address)."""
        with self._lock:
            out = {k: v for k, (n, v) in self.fragments.items() if n > version}
            rows = "".join(h for n, h in self.rows.values() if n > version)
            if self.order[0] > version:
                order: list[str] | None = self.order[1]
                if not order:
                    rows = view.NO_PROSUMER
            else:
                order = None
            if rows or order is not None:
                out[ROWS] = json.dumps({"order": order, "rows": rows})
            return self.version, out
