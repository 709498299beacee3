"""What a running aggregator is made of, and how background services plug into it.

`AppContext` holds the settings, database, repositories, writer, authenticator, clock and metrics.
`create_app(settings, services=[...])` starts each `Service` in the lifespan as an asyncio task
(`await service.run(ctx)`), reports it in `/health`, and cancels it at shutdown. Chain sync and the
dispatcher are services; blocking work (web3 calls, database) belongs in `asyncio.to_thread`.

`RequestControl` decides what cancel / modify of a request mean. The default, `QueuedOnlyControl`,
changes queued requests only; a dispatcher that can change a request open on chain (before its start)
passes its own control to `create_app(..., control=...)`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from aggregator.auth import Authenticator
from aggregator.consent import ConsentDesk
from aggregator.db import Database
from aggregator.live import LiveState
from aggregator.metrics import Metrics
from aggregator.prosumers_repo import ProsumerRepo, SyncStateRepo
from aggregator.registry import RegistryView
from aggregator.relay import AnswerRelay
from aggregator.requests_repo import RequestQueue
from aggregator.settings import AggregatorSettings
from aggregator.simclock import ServerClock
from aggregator.store import ReadingStore
from aggregator.tables import FlexRequest
from aggregator.validation import Limits
from aggregator.writer import Writer


@runtime_checkable
class Service(Protocol):
    """A background task of the aggregator (chain sync, dispatcher). `run` runs until cancelled."""

    name: str

    async def run(self, ctx: AppContext) -> None: ...


class RequestControl(Protocol):
    """Cancel / modify of a request on behalf of the grid operator. Blocking; raises `Conflict`/`NotFound`."""

    def cancel(self, request_id: int) -> FlexRequest: ...

    def modify(self, request_id: int, changes: dict[str, Any]) -> FlexRequest: ...


class QueuedOnlyControl:
    """Without a dispatcher: queued requests can be cancelled and modified, claimed ones cannot (409)."""

    def __init__(self, queue: RequestQueue) -> None:
        self.queue = queue

    def cancel(self, request_id: int) -> FlexRequest:
        return self.queue.cancel_queued(request_id)

    def modify(self, request_id: int, changes: dict[str, Any]) -> FlexRequest:
        return self.queue.modify_queued(request_id, **changes)


class ClearSky:
    """Clear-sky AC power of 1 kWp (W) at the aggregator's site, built on first use (pvlib, cached)."""

    def __init__(self, settings: AggregatorSettings) -> None:
        self.settings = settings
        self._fn: Callable[[float], float] | None = None
        self._lock = threading.Lock()

    def function(self) -> Callable[[float], float]:
        with self._lock:
            if self._fn is None:
                from domain.profiles import Profiles

                s = self.settings
                pv = Profiles(s.profile_cache_dir).pv(s.site_lat, s.site_lon, 30.0, 180.0)
                self._fn = pv.clear.at_epoch
            return self._fn


@dataclass
class AppContext:
    settings: AggregatorSettings
    db: Database
    store: ReadingStore
    writer: Writer
    auth: Authenticator
    registry: RegistryView
    requests: RequestQueue
    prosumers: ProsumerRepo
    sync_state: SyncStateRepo
    clock: ServerClock
    metrics: Metrics
    live: LiveState
    limits: Limits
    control: RequestControl
    clear_sky: ClearSky
    consent: ConsentDesk
    services: dict[str, Any] = field(default_factory=dict)  # name -> asyncio.Task
    relay: AnswerRelay | None = None  # relayed answers (POST /answers); set with the chain services
