"""Pending login challenges, bounded so that nobody can crowd out someone else's login (pure; clock injected).

A challenge needs no credential, so the book bounds what each caller can hold and never evicts a pending
challenge to make room: a challenge ends only when it is used (`take`) or expires. Beyond a bound the
caller is refused (`RateLimited`, 429 with the seconds until its oldest challenge expires):

- per client (the caller's IP address): `per_client` pending challenges;
- per address and client: `per_address` pending challenges for one account from one client (a client
  asking again and again for the same account holds no more than that);
- in all: `total` pending challenges (only a flood from many clients reaches it; it refuses, it does not
  evict).

A flood from one client therefore fills its own allowance and nothing else: a prosumer logging in from
another client still gets its challenge, and the challenge stays there until it signs it in.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from aggregator.errors import RateLimited


@dataclass(frozen=True)
class Challenge:
    address: str
    nonce: str
    message: str
    expires_at: float  # real epoch s
    client: str = ""


class ChallengeBook:
    """Thread-safe store of pending challenges with per-client, per-address and total bounds."""

    def __init__(
        self,
        per_client: int,
        per_address: int,
        total: int,
        clock: Callable[[], float],
    ) -> None:
        self.per_client = per_client
        self.per_address = per_address
        self.total = total
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: OrderedDict[str, Challenge] = OrderedDict()  # by nonce, oldest first
        self._by_client: dict[str, OrderedDict[str, Challenge]] = {}
        self._per_pair: dict[tuple[str, str], int] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)

    def add(self, challenge: Challenge) -> None:
        """Keeps `challenge` pending, or raises `RateLimited` when its client or the book is full."""
        now = self._clock()
        client, pair = challenge.client, (challenge.client, challenge.address)
        with self._lock:
            self._expire(now)
            mine = self._by_client.get(client)
            if mine is not None and len(mine) >= self.per_client:
                first = next(iter(mine.values()))
                raise RateLimited(
                    f"this client already holds {len(mine)} pending login challenges (at most "
                    f"{self.per_client}): sign and use them with POST /auth/login, or wait until they expire",
                    first.expires_at - now,
                )
            if self._per_pair.get(pair, 0) >= self.per_address:
                first = next(c for c in (mine or {}).values() if c.address == challenge.address)
                raise RateLimited(
                    f"this client already holds {self.per_address} pending login challenges for "
                    f"{challenge.address}: use one with POST /auth/login, or wait until one expires",
                    first.expires_at - now,
                )
            if len(self._pending) >= self.total:
                first = next(iter(self._pending.values()))
                raise RateLimited(
                    f"{len(self._pending)} login challenges are pending (at most {self.total}): retry later",
                    first.expires_at - now,
                )
            self._pending[challenge.nonce] = challenge
            self._by_client.setdefault(client, OrderedDict())[challenge.nonce] = challenge
            self._per_pair[pair] = self._per_pair.get(pair, 0) + 1

    def take(self, nonce: str) -> Challenge | None:
        """Removes and returns the pending challenge `nonce` (expired or not), or None."""
        with self._lock:
            challenge = self._pending.pop(nonce, None)
            if challenge is not None:
                self._forget(challenge)
            return challenge

    def _expire(self, now: float) -> None:
        while self._pending:
            first = next(iter(self._pending.values()))
            if first.expires_at > now:
                return
            self._pending.popitem(last=False)
            self._forget(first)

    def _forget(self, challenge: Challenge) -> None:
        mine = self._by_client.get(challenge.client)
        if mine is not None:
            mine.pop(challenge.nonce, None)
            if not mine:
                del self._by_client[challenge.client]
        pair = (challenge.client, challenge.address)
        left = self._per_pair.get(pair, 0) - 1
        if left > 0:
            self._per_pair[pair] = left
        else:
            self._per_pair.pop(pair, None)
