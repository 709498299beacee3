"""The console's heartbeat: a thread polls the `Feed`, renders the fragments and keeps the ones that
changed with a version number; each page's event stream sends what is newer than what it sent.

It polls only while a page is open (`attach` / `detach`): with none, the console costs the aggregator
and the chain nothing."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable

from console import view
from console.feed import Feed

log = logging.getLogger(__name__)

Indices = Callable[[], dict[str, int]]


class Hub:
    def __init__(self, feed: Feed, indices: Indices, poll_s: float = 0.5) -> None:
        self.feed = feed
        self.indices = indices
        self.poll_s = poll_s
        self.version = 0
        self.fragments: dict[str, tuple[int, str]] = {}  # name -> (version, payload)
        self._lock = threading.Lock()
        self._poll_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._history: list[list[object]] = []
        self.pages = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="console-feed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

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
            last = s.power[-1] if s.power else None
            new = {
                "clock": view.clock_html(s),
                "prosumers": view.prosumers_html(rows),
                "request": view.request_html(s),
                "settlements": view.settlements_html(s),
                "chain": view.chain_html(s),
                "errors": view.errors_html(s),
                "power": json.dumps(
                    {
                        "points": [] if last is None else [[last.t, last.by_kind, last.net_w]],
                        "windows": view.windows(s),
                    }
                ),
            }
            self._history = [[p.t, p.by_kind, p.net_w] for p in s.power]
            with self._lock:
                self._publish(new)

    def _publish(self, new: dict[str, str]) -> None:
        changed = {k: v for k, v in new.items() if self.fragments.get(k, (0, None))[1] != v}
        if changed:
            self.version += 1
            for k, v in changed.items():
                self.fragments[k] = (self.version, v)

    def history(self) -> str:
        """Every point of the chart's window (sent first to a new page)."""
        with self._lock:
            return json.dumps({"points": list(self._history), "windows": []})

    def since(self, version: int) -> tuple[int, dict[str, str]]:
        """The fragments newer than `version`, and the current version."""
        with self._lock:
            return self.version, {k: v for k, (n, v) in self.fragments.items() if n > version}
