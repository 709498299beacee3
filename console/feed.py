"""What the console reads: the aggregator over HTTP (its wire models, the run's grid and admin
credentials held here) and the chain (`contracts`; registry events through `contracts.events`).

`Feed.poll()` is one round; `Feed.state` is what the page shows (`console.view.State`). Each source is
read in its own try: an aggregator restart or a slow node leaves the rest of the page live, and the
error is shown on the page.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from aggregator.wire import ClockIn, ClockOut, LatestReadingsOut
from aggregator.wire_market import FlexRequestIn, FlexRequestList, FlexRequestOut
from base.errors import FlexsimError
from console.view import BlockRow, PowerPoint, ProsumerRow, State
from contracts.deployment import Deployment
from contracts.events import REGISTRY, TOKEN, Cursor, EventReader

log = logging.getLogger(__name__)

KEEP_BLOCKS = 40
CLOCK_EVERY_S = 5.0  # the clock changes only by an admin call (the console's own, which polls at once)
REQUESTS_EVERY_S = 1.0  # the request list; every round while a request is live
POINT_EVERY_S = 1.0  # one point of the chart a second: the page redraws it no more often
# The registry's events (DERs added, removed, renegotiated, paid) and the node's pending transactions
# once a second (at once after an action): the costliest calls of a round (`eth_getLogs` and its
# decoding), while the head block and the latest readings are read every round.
REGISTRY_EVERY_S = 1.0
POOL_EVERY_S = 1.0


@dataclass
class Aggregator:
    """The aggregator's API as the grid operator and the admin: credentials never leave this object."""

    url: str
    grid_token: str
    admin_token: str
    timeout_s: float = 5.0
    _http: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._http = httpx.Client(base_url=self.url, timeout=self.timeout_s)

    def _get(self, path: str, admin: bool = False, **params: Any) -> Any:
        token = self.admin_token if admin else self.grid_token
        r = self._http.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
        r.raise_for_status()
        return r.json()

    def latest(self) -> LatestReadingsOut:
        return LatestReadingsOut.model_validate(self._get("/overview/prosumers"))

    def requests(self, limit: int = 20) -> FlexRequestList:
        return FlexRequestList.model_validate(self._get("/requests", limit=limit))

    def request(self, request_id: int) -> FlexRequestOut:
        return FlexRequestOut.model_validate(self._get(f"/requests/{request_id}"))

    def clock(self) -> ClockOut:
        return ClockOut.model_validate(self._get("/admin/clock", admin=True))

    def send_request(self, body: FlexRequestIn) -> FlexRequestOut:
        r = self._http.post(
            "/requests",
            content=body.model_dump_json(exclude_none=True),
            headers={"Authorization": f"Bearer {self.grid_token}", "Content-Type": "application/json"},
        )
        if r.status_code >= 400:
            raise httpx.HTTPStatusError(f"{r.status_code}: {r.text[:300]}", request=r.request, response=r)
        return FlexRequestOut.model_validate(r.json())

    def set_clock(self, body: ClockIn) -> ClockOut:
        r = self._http.put(
            "/admin/clock",
            content=body.model_dump_json(exclude_none=True),
            headers={"Authorization": f"Bearer {self.admin_token}", "Content-Type": "application/json"},
        )
        if r.status_code >= 400:
            raise httpx.HTTPStatusError(f"{r.status_code}: {r.text[:300]}", request=r.request, response=r)
        return ClockOut.model_validate(r.json())

    def close(self) -> None:
        self._http.close()


class Node:
    """The node's JSON-RPC for what the console reads every round, sent raw in one batch over one
    keep-alive connection: web3's request path (its middleware, formatters and `requests` session)
    cost more than the answer here."""

    def __init__(self, url: str, timeout_s: float = 5.0) -> None:
        self._http = httpx.Client(timeout=timeout_s)
        self.url = url

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        """The answers (`result` or `error`) in the calls' order."""
        body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        r = self._http.post(self.url, json=body)
        r.raise_for_status()
        answers = r.json()
        if not isinstance(answers, list):  # a node that refuses batches answers one error
            raise FlexsimError(f"the node at {self.url} refused a JSON-RPC batch: {str(answers)[:200]}")
        return sorted(answers, key=lambda a: int(a.get("id", 0)))

    def close(self) -> None:
        self._http.close()


def _result(answer: dict[str, Any]) -> Any:
    if "error" in answer:
        raise FlexsimError(f"the node answered {answer['error']}")
    return answer["result"]


@dataclass
class Registered:
    kind: str
    capacity_w: int
    flex_up_w: int
    flex_down_w: int
    active: bool = True


class Feed:
    """Polls the aggregator and the chain into a `State`."""

    def __init__(self, aggregator: Aggregator, deployment: Deployment, history_s: float = 600.0) -> None:
        self.agg = aggregator
        self.d = deployment
        self.state = State()
        self.history_s = history_s
        self.node = Node(deployment.chain.rpc_url)
        self.registry = EventReader(deployment, (REGISTRY, TOKEN))
        self.cursor = Cursor(deployment.manifest.block)
        self.registered: dict[str, Registered] = {}
        self.reputation: dict[str, int] = {}
        self.balances: dict[str, int] = {}
        self.latest: dict[str, tuple[float, int, float, str, bool]] = {}  # -> (t, seq, power, status, online)
        self._last_block = -1
        self._due: dict[str, float] = {}
        self.live_request = False
        self._point_at = 0.0
        self._details: dict[int, FlexRequestOut] = {}  # the newest request with its answers

    def close(self) -> None:
        """Closes its own connection to the node (the aggregator's client belongs to its creator)."""
        self.node.close()

    # ------------------------------------------------------------------ one round

    def poll(self, force: bool = False) -> State:
        """One round: the latest readings (and the power by kind from them) and the chain every time; the
        clock and the requests when due (`force`: everything now, after an action)."""
        s = self.state
        s.errors = {}
        if self._is_due("clock", CLOCK_EVERY_S, force):
            self._try("clock", self._clock)
        self._try("readings", self._readings)
        if self.live_request or self._is_due("requests", REQUESTS_EVERY_S, force):
            self._try("requests", self._requests)
        self._try("chain", lambda: self._chain(self._is_due("pool", POOL_EVERY_S, force)))
        if self._is_due("registry", REGISTRY_EVERY_S, force):
            self._try("registry", self._registry)
        s.polled_at = time.time()
        return s

    def _is_due(self, what: str, every_s: float, force: bool) -> bool:
        now = time.monotonic()
        if force or now >= self._due.get(what, 0.0):
            self._due[what] = now + every_s
            return True
        return False

    def _try(self, what: str, step: Any) -> None:
        try:
            step()
        except Exception as exc:  # one source down leaves the others live; the page says which
            self.state.errors[what] = f"{type(exc).__name__}: {str(exc)[:200]}"
            log.debug("console feed: %s: %s", what, exc)

    def _clock(self) -> None:
        c = self.agg.clock()
        self.state.sim_now, self.state.speed = c.sim_now, c.speed
        self.state.clock = c

    def _readings(self) -> None:
        """The latest stored reading of every prosumer (one call, from the aggregator's memory); the power
        by kind of the online ones is the chart's point (what `/overview` sums)."""
        clock = self.state.clock
        lags: list[float] = []
        by_kind: dict[str, float] = {}
        net, online = 0.0, 0
        for r in self.agg.latest().prosumers:
            t = r.timestamp.timestamp()
            self.latest[r.prosumer.lower()] = (t, r.seq, r.power_w, r.status.value, r.online)
            if not r.online:
                continue
            online += 1
            by_kind[r.kind] = by_kind.get(r.kind, 0.0) + r.power_w
            net += r.power_w
            if clock is not None:
                taken = clock.real_start_epoch + (t - clock.sim_start.timestamp()) / max(clock.speed, 1e-9)
                lags.append(r.received_at.timestamp() - taken)
        self.state.reading_lag_s = max(lags) if lags else None
        if clock is None:
            return
        now = clock.sim_start.timestamp() + (time.time() - clock.real_start_epoch) * clock.speed
        s = self.state
        s.sim_now = datetime.fromtimestamp(now, UTC)
        if time.monotonic() - self._point_at < POINT_EVERY_S:
            return
        self._point_at = time.monotonic()
        s.power.append(PowerPoint(now, by_kind, net, online))
        cut = now - self.history_s * max(s.speed, 1e-9)
        while s.power and s.power[0].t < cut:
            s.power.pop(0)

    def _requests(self) -> None:
        listed = self.agg.requests().requests
        s = self.state
        last = _last_id(listed)
        out = []
        for r in listed:  # a live request's answers read again; the newest one's kept once it ended
            if _live(r):
                out.append(self.agg.request(r.id))
            elif r.id == last:
                kept = self._details.get(r.id)
                if kept is None or kept.status != r.status:
                    kept = self.agg.request(r.id)
                    self._details = {r.id: kept}
                out.append(kept)
            else:
                out.append(r)
        s.requests = out
        self.live_request = any(_live(r) for r in listed)

    def _chain(self, pool: bool = True) -> None:
        """The head block (and the node's pending transactions when due) in one batch; the blocks
        between the last one seen and the head, when more than one was mined since, in a second."""
        calls: list[tuple[str, list[Any]]] = [("eth_getBlockByNumber", ["latest", False])]
        if pool:
            calls.append(("txpool_status", []))
        answers = self.node.batch(calls)
        latest = _result(answers[0])
        head = int(latest["number"], 16)
        s = self.state
        if head > self._last_block:
            first = max(self._last_block + 1, head - KEEP_BLOCKS + 1, 0)
            between = [("eth_getBlockByNumber", [hex(n), False]) for n in range(first, head)]
            blocks = [_result(a) for a in self.node.batch(between)] if between else []
            now = time.time()
            for b in [*blocks, latest]:
                s.blocks.append(
                    BlockRow(
                        int(b["number"], 16), int(b["gasUsed"], 16), int(b["gasLimit"], 16),
                        len(b["transactions"]), now,
                    )
                )  # fmt: skip
            s.blocks = s.blocks[-KEEP_BLOCKS:]
            self._last_block = head
        s.head = head
        if pool:  # txpool_status is anvil's and geth's; another node has none
            res = answers[1].get("result") or {}
            pending = res.get("pending") if isinstance(res, dict) else None
            queued = res.get("queued", "0x0") if isinstance(res, dict) else None
            s.pending_txs = None if pending is None else int(pending, 16) + int(queued or "0x0", 16)

    def _registry(self) -> None:
        if self.state.head is not None and self.cursor.next_block > self.state.head:
            return  # no new block: no new event
        touched: set[str] = set()
        for e in self.registry.page(self.cursor, self.state.head):
            if e.name == "Transfer":  # a payment, a redemption: those balances change
                touched |= {str(e.args["from"]).lower(), str(e.args["to"]).lower()}
                continue
            who = str(e.args.get("prosumer", "")).lower()
            if e.name in ("Registered", "Renegotiated"):
                t = e.args["terms"]
                self.registered[who] = Registered(
                    _kind(t), int(_field(t, "capacityW", 1)), int(_field(t, "flexUpW", 3)),
                    int(_field(t, "flexDownW", 4)),
                )  # fmt: skip
                touched.add(who)
            elif e.name in ("Removed", "Terminated", "Expired") and who in self.registered:
                self.registered[who].active = False
            elif e.name == "OutcomeRecorded":
                self.reputation[who] = int(e.args["reputation"])
        for who in touched & set(self.registered):
            self.balances[who] = self.d.token.balance_of(who)
            if who not in self.reputation:
                self.reputation[who] = self.d.registry.reputation(who)

    # ------------------------------------------------------------------ the prosumers' rows

    def rows(self, indices: dict[str, int]) -> list[ProsumerRow]:
        """Every prosumer known to the registry or the fleet, with its status."""
        out: list[ProsumerRow] = []
        for who in sorted(set(self.registered) | set(indices), key=lambda a: indices.get(a, 10**9)):
            reg = self.registered.get(who)
            latest = self.latest.get(who)
            status = "starting"
            if reg is not None and not reg.active:
                status = "removed"
            elif latest is not None:
                status = "outage" if latest[3] == "outage" else ("online" if latest[4] else "offline")
            out.append(
                ProsumerRow(
                    index=indices.get(who),
                    address=who,
                    kind=reg.kind if reg else "?",
                    capacity_w=reg.capacity_w if reg else None,
                    flex_up_w=reg.flex_up_w if reg else None,
                    flex_down_w=reg.flex_down_w if reg else None,
                    registered=bool(reg and reg.active),
                    status=status,
                    reputation=self.reputation.get(who),
                    balance=self.balances.get(who),
                    power_w=latest[2] if latest else None,
                    seq=latest[1] if latest else None,
                    reading_at=datetime.fromtimestamp(latest[0], UTC) if latest else None,
                )
            )
        return out


def _live(r: FlexRequestOut) -> bool:
    return r.status.value not in ("settled", "cancelled", "closed", "failed")


def _last_id(listed: list[FlexRequestOut]) -> int:
    return max((r.id for r in listed), default=-1)


def _field(terms: Any, name: str, position: int) -> Any:
    if isinstance(terms, dict):
        return terms[name]
    return terms[position]


def _kind(terms: Any) -> str:
    from domain.vocabulary import SourceKind

    return SourceKind(int(_field(terms, "kind", 0))).label
