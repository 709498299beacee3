"""Failed bearer attempts per client, in fixed windows (pure; clock injected).

A client (the caller's IP address) may present `limit` bearer credentials that are not valid (unknown
tokens, wrong grid or admin credentials) per `window_s` seconds. Past that, every bearer request of that
client is refused with 429 until the window ends, valid credential or not: answering a valid credential
normally would tell a guesser which guess was right, so guessing could go on at full speed. An expired
prosumer token is not a guess (this service issued it) and does not count.

The check is one dictionary lookup for a client without failures, so it stays off the readings hot path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from aggregator.errors import RateLimited

MAX_TRACKED_CLIENTS = 100_000


class FailureLimiter:
    def __init__(self, limit: int, window_s: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}  # client -> (window start, failures in it)

    def check(self, client: str) -> None:
        """Raises `RateLimited` while `client` is over its limit."""
        entry = self._windows.get(client)
        if entry is None or entry[1] < self.limit:
            return
        left = entry[0] + self.window_s - self._clock()
        if left > 0:
            raise RateLimited(
                f"too many failed bearer attempts from this client ({entry[1]} in {self.window_s:g} s): "
                "check the credential you send, and retry after the Retry-After delay",
                left,
            )

    def failed(self, client: str) -> None:
        """Counts one failed attempt of `client`."""
        now = self._clock()
        with self._lock:
            start, count = self._windows.get(client, (now, 0))
            if now - start >= self.window_s:
                start, count = now, 0
            self._windows[client] = (start, count + 1)
            if len(self._windows) > MAX_TRACKED_CLIENTS:
                self._drop_expired(now)

    def _drop_expired(self, now: float) -> None:
        for client, (start, _) in list(self._windows.items()):
            if now - start >= self.window_s:
                del self._windows[client]
