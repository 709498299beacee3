"""The chain worker: the prosumer's thread that follows the market and keeps its contract.

Each round: the market events since the last round (`events.EventFollower`), then contract upkeep
(renewal before expiry, random renegotiation). Rounds come every `event_poll_s` when events are
polled; when they are pushed over a WebSocket, as soon as an event arrives and at least every
`upkeep_every_s`. Transactions wait for their
receipts here, never in the reading loop.

- FlexibilityRequested: decide (`decision.decide`) and accept, apply or decline with a reason. An
  accepted share is committed to the meter at once with the request's window.
- Selected (about itself): commit the selected power. Displaced: nothing to do.
- RequestModified: move the committed window. RequestCancelled: drop the commitment.
- `resume()` (at start, before the first reading): the open request (`currentRequestId`) and this
  prosumer's commitment in it: committed and the window not over -> modulate; not answered and before
  the deadline -> decide now; applied -> wait for the selection.
- Contract changes wait while a request is open: a renegotiation then would make the prosumer
  ineligible for it (RegisteredAfterOpen) and move the baseline the aggregator measures.
- Relayed answers (`answers=relayed`, docs/relayed-answers.md): the answer is signed (EIP-712) and
  posted to the aggregator (`relay.send_answer`), which records it on chain in a batch. Each round the
  worker reads its commitment on chain: once recorded, an acceptance is committed to the meter; if it
  is still missing `relay_fallback_s` before the deadline (or the aggregator did not take it), the
  same answer goes out as a direct transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from base.errors import FlexsimError
from contracts.answers import SignedAnswer
from contracts.errors import AlreadyResponded, ContractRevert
from contracts.types import Commitment, Direction, RequestInfo, RequestStatus, Response, Strategy, Terms
from domain.market_rules import offer_w
from domain.outages import Outage
from domain.vocabulary import AnswerAction
from prosumer.chain_side import ChainSide
from prosumer.contract import after_outage, renegotiation
from prosumer.decision import (
    Action,
    Decision,
    DerView,
    RequestView,
    commitment_w,
    decide,
    deliverable_w,
    with_top_up_limit,
)
from prosumer.events import EventFollower, MarketEvent
from prosumer.evidence import EvidenceKeeper
from prosumer.meter import Meter
from prosumer.settings import ProsumerSettings

log = logging.getLogger(__name__)

ERROR_PAUSE_S = 2.0
NOTICE = "request %d: notified (block %d) at %.3f"  # simulation.notices parses these lines
PUSH_WAIT_S = 1.0  # how long one wait on the event socket lasts (a stop is noticed within it)


@dataclass
class KnownRequest:
    view: RequestView
    start: int
    end: int
    deadline: int


@dataclass
class PendingRelay:
    """An answer posted to the aggregator and not yet seen on chain."""

    known: KnownRequest
    decision: Decision


class AnswerRelay(Protocol):
    """Where relayed answers go (`prosumer.uplink.Uplink.send_answer`): a state, or None if not taken."""

    def send_answer(self, answer: SignedAnswer) -> object | None: ...


@dataclass
class Rngs:
    decisions: np.random.Generator
    renegotiation: np.random.Generator
    forecast: np.random.Generator | None = None  # the forecast error of each decision (domain.realism)


class ChainWorker:
    def __init__(
        self,
        chain: ChainSide,
        meter: Meter,
        settings: ProsumerSettings,
        model: Terms,
        terms: Terms,
        expiry: int,
        outages: list[Outage],
        rngs: Rngs,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.chain = chain
        self.meter = meter
        self.settings = settings
        self.model = model
        self.terms = terms
        self.expiry = expiry
        self.outages = outages
        self.rngs = rngs
        self._wall = wall
        self.requests: dict[int, KnownRequest] = {}
        self.answered: set[int] = set()
        self.follower: EventFollower | None = None
        self.stop_event = threading.Event()
        self.removed = threading.Event()
        self._remove = threading.Event()
        self._pending_terms: Terms | None = None
        self._last_upkeep = wall()
        self._thread: threading.Thread | None = None
        self.relay: AnswerRelay | None = None  # set (to the uplink) when answers are relayed
        self.relayed: dict[int, PendingRelay] = {}
        self.evidence: EvidenceKeeper | None = None  # signs readings roots, checks anchored leaves

    # ------------------------------------------------------------------ thread control

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="chain", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Asks the thread to stop; a transaction waiting for its receipt is not waited for."""
        self.stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def request_removal(self) -> None:
        """Removes the DER contract on chain (from the worker thread); `removed` is set once done."""
        self._remove.set()

    def _run(self) -> None:
        while not self.stop_event.is_set():
            try:
                if self._remove.is_set():
                    self._remove_contract()
                    return
                self.round()
            except FlexsimError as exc:
                log.warning("chain: %s; retrying in %.0f s", exc, ERROR_PAUSE_S)
                self.stop_event.wait(ERROR_PAUSE_S)
                continue
            except Exception:
                log.exception("chain worker: unexpected error; retrying")
                self.stop_event.wait(ERROR_PAUSE_S)
                continue
            if self.follower is not None and self.follower.pushed:
                self._wait_pushed()
            elif self.follower is None or not self.follower.behind:
                self.stop_event.wait(self.settings.event_poll_s)
        if self.follower is not None:
            self.follower.close()

    def _wait_pushed(self) -> None:
        """Until an event is pushed, the stop, or the next contract upkeep is due."""
        assert self.follower is not None
        until = self._wall() + self.settings.upkeep_every_s
        while not self.stop_event.is_set() and (left := until - self._wall()) > 0:
            self.follower.wait(min(left, PUSH_WAIT_S))
            if self.follower.has_pending or not self.follower.connected:
                return

    def _remove_contract(self) -> None:
        try:
            self.chain.remove()
        except ContractRevert as exc:  # e.g. NotRegistered: there is nothing left to remove
            log.warning("removing the DER contract: %s", exc)
        self.removed.set()

    def round(self) -> None:
        """One round: new market events, then contract upkeep."""
        if self.follower is None:
            self.resume()
        assert self.follower is not None
        for event in self.follower.poll():
            self.on_event(event)
        self.check_relayed()
        self.upkeep()
        if self.evidence is not None:
            w = self.meter.window
            if w is not None:
                self.evidence.joined(w.request_id, w.start_real, w.end_real)
            self.evidence.tick()

    # ------------------------------------------------------------------ requests

    def resume(self) -> None:
        """Picks up the open request (after a restart) and starts following events after it."""
        follower = EventFollower(
            self.chain.d.market,
            self.chain.address,
            0,
            self.settings.log_range_blocks,
            ws_url=self.chain.ws_url,
            ws_timeout_s=self.settings.http_timeout_s,
        )
        follower.cursor.next_block = follower.head() + 1
        rid = self.chain.open_request_id()
        self.follower = follower
        if rid == 0:
            return
        info = self.chain.d.market.request(rid)
        if info.status != RequestStatus.OPEN:
            return
        known = self._remember(_view(info), info.start, info.end, info.deadline)
        c = self.chain.commitment(rid)
        if c.response in (Response.ACCEPTED, Response.SELECTED, Response.TOPPED_UP):
            self.answered.add(rid)
            if self._wall() < info.end:
                self.meter.commit(rid, info.direction, c.power_w, info.start, info.end)
                log.info("request %d: resumed the commitment of %d W until %d", rid, c.power_w, info.end)
        elif c.response == Response.APPLIED:
            self.answered.add(rid)
            log.info("request %d: applied before the restart; waiting for the selection", rid)
        elif c.response == Response.NONE:
            self.answer(known)
        else:
            self.answered.add(rid)

    def on_event(self, e: MarketEvent) -> None:
        a = e.args
        if e.name == "FlexibilityRequested":
            log.info(NOTICE, e.request_id, e.block, self._wall())  # when it learned of it (bench e2e)
            view = RequestView(
                e.request_id,
                Strategy(int(a["strategy"])),
                Direction(int(a["direction"])),
                int(a["powerW"]),
                int(a["durationS"]),
                int(a["totalFlexW"]),
            )
            self.answer(self._remember(view, int(a["start"]), int(a["end"]), int(a["deadline"])))
        elif e.name == "Selected":
            known = self._known(e.request_id)
            power = int(a["powerW"])
            log.info("request %d: selected for %d W (reputation %s)", e.request_id, power, a["reputation"])
            self.meter.commit(e.request_id, known.view.direction, power, known.start, known.end)
        elif e.name == "ToppedUp":
            known = self._known(e.request_id)
            total = int(a["committedW"])
            log.info("request %d: topped up by %d W to %d W in all", e.request_id, int(a["extraW"]), total)
            self.meter.commit(e.request_id, known.view.direction, total, known.start, known.end)
        elif e.name == "Displaced":
            log.info("request %d: displaced (reputation %s)", e.request_id, a["reputation"])
        elif e.name == "RequestModified":
            known = self._known(e.request_id)
            known.start, known.end, known.deadline = int(a["start"]), int(a["end"]), int(a["deadline"])
            w = self.meter.window
            if w is not None and w.request_id == e.request_id:
                self.meter.commit(e.request_id, known.view.direction, int(w.commitment.committed_w),
                                  known.start, known.end)  # fmt: skip
                log.info("request %d: window moved to [%d, %d)", e.request_id, known.start, known.end)
        elif e.name == "RequestCancelled":
            self.relayed.pop(e.request_id, None)
            if self.meter.cancel(e.request_id):
                log.info("request %d: cancelled; back to baseline", e.request_id)

    def answer(self, known: KnownRequest) -> None:
        """Decides and sends the answer to a request not answered yet."""
        view = known.view
        if view.request_id in self.answered:
            return
        self.answered.add(view.request_id)
        now = self._wall()
        if now > known.deadline:
            log.info("request %d: acceptance closed at %d; not answering", view.request_id, known.deadline)
            return
        flex = self.terms.flex_up_w if view.direction == Direction.UP else self.terms.flex_down_w
        amount = commitment_w(view, self.terms.capacity_w, flex)
        der = DerView(
            self.terms.kind,
            self.terms.capacity_w,
            flex,
            self.terms.max_duration_s,
            self.believed_feasible_w(view.direction, view.duration_s),
            self.meter.in_outage(now),
            self.meter.delivery_risk_w(now, view.direction, amount, view.duration_s),
            self.meter.traits.over_promises,
        )
        decision = decide(
            view,
            der,
            self.settings.willingness,
            float(self.rngs.decisions.random()),
            self.settings.max_risk_share,
        )
        if decision.action == Action.ACCEPT:
            decision = with_top_up_limit(decision, self.deliverable(view.direction, view.duration_s, now))
        if self.settings.answers == "relayed" and self._relay(known, decision):
            return
        self.send_direct(known, decision)

    def send_direct(self, known: KnownRequest, decision: Decision) -> None:
        """The answer as the prosumer's own transaction."""
        view = known.view
        try:
            if decision.action == Action.ACCEPT:
                power = self.chain.accept_up_to(view.request_id, decision.limit_w)
                self.meter.commit(view.request_id, view.direction, power, known.start, known.end)
            elif decision.action == Action.APPLY:
                self.chain.apply(view.request_id)
            else:
                assert decision.reason is not None
                self.chain.decline(view.request_id, decision.reason, decision.why)
        except AlreadyResponded:  # the relayed answer was mined meanwhile
            self._adopt(known, self.chain.commitment(view.request_id))
        except ContractRevert as exc:
            log.warning("request %d: could not %s: %s", view.request_id, decision.action.value, exc)

    def _relay(self, known: KnownRequest, decision: Decision) -> bool:
        """Signs the answer and posts it for the aggregator to relay; False when it was not taken."""
        if self.relay is None:
            return False
        rid = known.view.request_id
        if self._wall() >= known.deadline - self.settings.relay_fallback_s:
            return False  # too late for a batch: answer directly
        action, value = answer_of(decision)
        state = self.relay.send_answer(self.chain.sign_answer(rid, action, value))
        if state is None:
            log.info("request %d: the aggregator did not take the signed answer; answering directly", rid)
            return False
        self.relayed[rid] = PendingRelay(known, decision)
        log.info("request %d: %s signed and relayed (%s)", rid, action.label, state)
        return True

    def check_relayed(self) -> None:
        """Relayed answers: adopts those recorded on chain; answers directly for those still missing
        `relay_fallback_s` before the deadline."""
        for rid, pending in list(self.relayed.items()):
            c = self.chain.commitment(rid)
            if c.response != Response.NONE:
                del self.relayed[rid]
                self._adopt(pending.known, c)
            elif self._wall() >= pending.known.deadline - self.settings.relay_fallback_s:
                del self.relayed[rid]
                log.warning("request %d: the relayed answer is not on chain %.0f s before the deadline; "
                            "answering directly", rid, self.settings.relay_fallback_s)  # fmt: skip
                self.send_direct(pending.known, pending.decision)

    def _adopt(self, known: KnownRequest, c: Commitment) -> None:
        """An answer found on chain (relayed, or mined before a direct one): an acceptance is committed."""
        rid = known.view.request_id
        log.info("request %d: answer recorded on chain: %s", rid, c.response.name.lower())
        if c.response == Response.ACCEPTED:
            self.meter.commit(rid, known.view.direction, c.power_w, known.start, known.end)

    def deliverable(self, direction: Direction, duration_s: int, now: float) -> int:
        """What it would commit in `direction` for `duration_s` if asked now (decision.deliverable_w)."""
        flex = self.terms.flex_up_w if direction == Direction.UP else self.terms.flex_down_w
        feasible = self.meter.feasible_w(direction, duration_s)
        amount = min(offer_w(flex, self.terms.capacity_w), int(feasible))
        risk = self.meter.delivery_risk_w(now, direction, amount, duration_s) if amount > 0 else 0.0
        return deliverable_w(
            self.terms.capacity_w,
            flex,
            feasible,
            risk,
            self.meter.in_outage(now),
            self.settings.max_risk_share,
            self.meter.traits.over_promises,
        )

    def believed_feasible_w(self, direction: Direction, duration_s: int) -> float:
        """What it believes it can move when it decides: the DER's forecast of its weather or load off by
        this decision's forecast error (`domain.realism`; a battery's error is its SoC estimate)."""
        sd = self.meter.traits.forecast_error_sd
        if sd <= 0 or self.rngs.forecast is None:
            return self.meter.feasible_w(direction, duration_s)
        return self.meter.feasible_w(direction, duration_s, sd * float(self.rngs.forecast.standard_normal()))

    def availability(self) -> tuple[int, int]:
        """What it would commit up and down now, for a request as long as its contract guarantees: what
        it declares to the aggregator (`PUT /availability`)."""
        now = self._wall()
        duration = self.terms.max_duration_s
        return self.deliverable(Direction.UP, duration, now), self.deliverable(Direction.DOWN, duration, now)

    def _remember(self, view: RequestView, start: int, end: int, deadline: int) -> KnownRequest:
        known = KnownRequest(view, start, end, deadline)
        self.requests = {view.request_id: known}  # one request at a time
        return known

    def _known(self, request_id: int) -> KnownRequest:
        known = self.requests.get(request_id)
        if known is None:
            info = self.chain.d.market.request(request_id)
            known = self._remember(_view(info), info.start, info.end, info.deadline)
        return known

    # ------------------------------------------------------------------ contract upkeep (R3)

    def upkeep(self) -> None:
        now = self._wall()
        dt_sim = (now - self._last_upkeep) * self.settings.sim_speed
        self._last_upkeep = now
        s = self.settings
        recent = after_outage(self.outages, self.meter.clock.sim_time(now), s.after_outage_window_s)
        new = renegotiation(
            self.terms,
            self.model,
            dt_sim,
            s.renegotiation_rate_per_hour,
            s.renegotiation_after_outage_rate_per_hour,
            recent,
            self.rngs.renegotiation,
        )
        if new is not None:
            self._pending_terms = new
        renew = s.renew and self.chain.due_for_renewal(self.expiry)
        if self._pending_terms is None and not renew:
            return
        if self._busy():
            return  # after the request
        terms = self._pending_terms or self.terms
        why = "renewal" if self._pending_terms is None else ("after an outage" if recent else "at random")
        self.expiry = self.chain.renegotiate(terms, why)
        self.terms, self._pending_terms = terms, None
        self.meter.set_terms(terms)

    def renegotiate_to(self, terms: Terms) -> None:
        """New terms asked from outside (the console): registered at the next upkeep, after the open
        request, as the prosumer's own renegotiations are."""
        self._pending_terms = terms

    def _busy(self) -> bool:
        w = self.meter.window
        if w is not None and self._wall() < w.end_real:
            return True
        return self.chain.open_request_id() != 0


def answer_of(decision: Decision) -> tuple[AnswerAction, int]:
    """The signed answer that says what `decision` says (as the direct calls do: accept up to a limit)."""
    if decision.action == Action.ACCEPT:
        return AnswerAction.ACCEPT_UP_TO, decision.limit_w
    if decision.action == Action.APPLY:
        return AnswerAction.APPLY, 0
    assert decision.reason is not None
    return AnswerAction.DECLINE, int(decision.reason)


def _view(info: RequestInfo) -> RequestView:
    return RequestView(
        info.request_id, info.strategy, info.direction, info.power_w, info.duration_s, info.total_flex_w
    )
