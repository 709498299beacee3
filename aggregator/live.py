"""The live overview: the latest committed reading of each prosumer, kept in memory.

Updated after each commit by the readings API (only with stored readings, and only when newer in
simulated time than what it holds). A prosumer is *online* when its latest reading arrived within
`online_window_s` real seconds. After a restart the overview fills again within that window.

Prosumers also declare what they can deliver right now (`PUT /availability`: their offer limited by
their state and delivery risk). The overview's deliverable flexibility sums the fresh declarations of
the online prosumers not in outage, each capped at the prosumer's contracted offer: what the grid
operator sizes its requests against.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from aggregator.auth import ProsumerSession
from contracts.types import SourceKind
from domain.market_rules import MAX_SHARE_DIVISOR

OUTAGE = 1
DECLARATION_TTL_FACTOR = 2  # a declaration counts for twice the online window, then it is stale


@dataclass(frozen=True)
class Latest:
    kind: SourceKind
    t: float  # simulated epoch s
    power_w: float
    status: int
    received_at: float  # real epoch s
    flex_up_w: int
    flex_down_w: int
    seq: int = 0


@dataclass(frozen=True)
class Declared:
    up_w: int
    down_w: int
    received_at: float  # real epoch s


@dataclass(frozen=True)
class Overview:
    production_w: float
    consumption_w: float
    flex_up_w: int
    flex_down_w: int
    online: int
    incidents: int
    by_kind: dict[str, tuple[int, float]]  # kind -> (online, power_w)
    deliverable_up_w: int = 0
    deliverable_down_w: int = 0

    @property
    def net_w(self) -> float:
        return self.production_w - self.consumption_w


class LiveState:
    def __init__(self) -> None:
        self._latest: dict[str, Latest] = {}
        self._declared: dict[str, Declared] = {}
        self._lock = threading.Lock()

    def declare(self, session: ProsumerSession, up_w: int, down_w: int, received_at: float) -> Declared:
        """Keeps what a prosumer says it can deliver now, capped at its contracted offer (flexibility, at
        most 25 % of capacity); returns what is counted."""
        cap = session.capacity_w // MAX_SHARE_DIVISOR
        d = Declared(min(up_w, session.flex_up_w, cap), min(down_w, session.flex_down_w, cap), received_at)
        with self._lock:
            self._declared[session.key] = d
        return d

    def observe(
        self,
        session: ProsumerSession,
        t: float,
        power_w: float,
        status: int,
        received_at: float,
        seq: int = 0,
    ) -> None:
        with self._lock:
            old = self._latest.get(session.key)
            if old is not None and old.t > t:
                return
            self._latest[session.key] = Latest(
                session.kind, t, power_w, status, received_at, session.flex_up_w, session.flex_down_w, seq
            )

    def latest(self) -> dict[str, Latest]:
        """The latest stored reading of every prosumer seen since the start (address -> reading)."""
        with self._lock:
            return dict(self._latest)

    def overview(self, now_real: float, online_window_s: float) -> Overview:
        with self._lock:
            latest = list(self._latest.values())
        online = [x for x in latest if now_real - x.received_at <= online_window_s]
        by_kind: dict[str, tuple[int, float]] = {}
        for x in online:
            n, p = by_kind.get(x.kind.label, (0, 0.0))
            by_kind[x.kind.label] = (n + 1, p + x.power_w)
        available = [x for x in online if x.status != OUTAGE]
        with self._lock:
            declared = [
                d
                for key, x in self._latest.items()
                if (d := self._declared.get(key)) is not None
                and now_real - x.received_at <= online_window_s
                and x.status != OUTAGE
                and now_real - d.received_at <= DECLARATION_TTL_FACTOR * online_window_s
            ]
        return Overview(
            production_w=sum(x.power_w for x in online if x.power_w > 0),
            consumption_w=-sum(x.power_w for x in online if x.power_w < 0),
            flex_up_w=sum(x.flex_up_w for x in available),
            flex_down_w=sum(x.flex_down_w for x in available),
            online=len(online),
            incidents=sum(1 for x in online if x.status != 0),
            by_kind=by_kind,
            deliverable_up_w=sum(d.up_w for d in declared),
            deliverable_down_w=sum(d.down_w for d in declared),
        )
