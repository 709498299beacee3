"""The answer relay: prosumers' signed answers, queued by `POST /answers` and sent on chain in bounded
batches (`FlexibilityMarket.relayAnswers`).

`offer` checks what the aggregator can check at once, so a prosumer learns at the HTTP call that an
answer can never be recorded: the request is open and before its deadline (409 otherwise), the action
fits its strategy (422), the signature is well formed (low s, v 27/28) and recovers to the caller's own
address (422), and the same prosumer has not answered the request already (409 for another answer; the
same answer again is idempotent). The queue is bounded (`relay_max_pending`, 503 with Retry-After).

`step` (every `relay_every_s`) sends the oldest request's queued answers in one transaction sized by a
gas budget (`relay_batch_gas`): the batch size comes from the gas per answer learned from earlier
batches, then the batch is estimated and halved until it fits. The contract refuses what a direct
answer would have refused (not registered, registered after the request opened...) with an
`AnswerRefused` event, and the answer's state says why. An answer whose request closed or whose
deadline passed before it was sent is dropped. The prosumer checks on chain and falls back to a direct
transaction near the deadline (`prosumer.worker`), so nothing here is a single point of failure.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aggregator.errors import Conflict, InvalidInput, Unavailable
from aggregator.metrics import Metrics
from aggregator.wire_answers import ActionName, AnswerIn, AnswerOut, AnswerState
from contracts.answers import InvalidAnswerSignature, SignedAnswer, signer_of
from contracts.deployment import Deployment
from contracts.errors import ChainError
from contracts.sender import Sender
from contracts.types import RequestInfo, RequestStatus, Strategy
from domain.vocabulary import AnswerAction, DeclineReason

if TYPE_CHECKING:
    from aggregator.context import AppContext

log = logging.getLogger(__name__)

INITIAL_GAS_PER_ANSWER = 40_000
"""Before the first batch is mined: a prosumer's first answer ever fills a new storage slot (~38k)."""
REQUEST_CACHE_S = 1.0
FITS: dict[Strategy, frozenset[AnswerAction]] = {
    Strategy.FAIR: frozenset({AnswerAction.ACCEPT, AnswerAction.ACCEPT_UP_TO, AnswerAction.DECLINE}),
    Strategy.REPUTATION: frozenset({AnswerAction.APPLY, AnswerAction.DECLINE}),
}
LIVE = (AnswerState.QUEUED, AnswerState.SUBMITTED, AnswerState.RECORDED)


@dataclass
class Entry:
    answer: SignedAnswer
    prosumer: str
    state: AnswerState = AnswerState.QUEUED
    reason: str | None = None
    tx_hash: str | None = None

    def out(self) -> AnswerOut:
        a = self.answer
        return AnswerOut(
            request_id=a.request_id,
            prosumer=self.prosumer,
            action=ActionName(a.action.label),
            value=a.value,
            state=self.state,
            reason=self.reason,
            tx_hash=self.tx_hash,
        )


def batch_size(budget_gas: int, gas_per_answer: float, queued: int) -> int:
    """How many answers a first try puts in one batch: what the budget holds at the learned cost."""
    return max(1, min(queued, int(budget_gas // max(gas_per_answer, 1.0))))


def fits(strategy: Strategy, action: AnswerAction) -> bool:
    """Fair requests take accept, accept_up_to and decline; reputation requests apply and decline."""
    return action in FITS[strategy]


@dataclass
class RelayStats:
    """What the relay has done so far (also exported on /metrics)."""

    batches: int = 0
    relayed: int = 0  # answers sent in mined batches
    recorded: int = 0
    refused: int = 0
    dropped: int = 0
    gas_used: int = 0  # of every mined relayAnswers transaction

    @property
    def gas_per_answer(self) -> float | None:
        return self.gas_used / self.relayed if self.relayed else None


class AnswerRelay:
    """Queues signed answers and relays them in batches (a background service of the aggregator)."""

    name = "relay"

    def __init__(
        self,
        deployment: Deployment,
        sender: Sender,
        every_s: float = 1.0,
        batch_gas: int = 6_000_000,
        max_pending: int = 5_000,
        wall: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
    ) -> None:
        self.d = deployment
        self.sender = sender
        self.every_s = every_s
        self.batch_gas = batch_gas
        self.max_pending = max_pending
        self.metrics = metrics or Metrics()
        self.stats = RelayStats()
        self.gas_per_answer = float(INITIAL_GAS_PER_ANSWER)
        self._wall = wall
        self._lock = threading.Lock()
        self._entries: dict[tuple[int, str], Entry] = {}  # insertion order is queue order
        self._requests: dict[int, tuple[float, RequestInfo]] = {}
        self._chain_id = deployment.chain.chain_id
        self._market = deployment.market.address

    # ------------------------------------------------------------------ the service

    async def run(self, ctx: AppContext) -> None:
        self.metrics = ctx.metrics
        while True:
            try:
                while await asyncio.to_thread(self.step):
                    pass  # a full batch went out: send the next at once
            except ChainError as exc:
                log.warning("relaying answers failed: %s; retrying in %.1f s", exc, self.every_s)
            await asyncio.sleep(self.every_s)

    # ------------------------------------------------------------------ offers (the API)

    def offer(self, prosumer: str, body: AnswerIn) -> AnswerOut:
        """Queues `prosumer`'s signed answer after the checks above; blocking (reads the chain)."""
        answer = SignedAnswer(
            body.request_id,
            body.action.code,
            body.value,
            body.v,
            bytes.fromhex(body.r.removeprefix("0x")),
            bytes.fromhex(body.s.removeprefix("0x")),
        )
        try:
            signer = signer_of(self._chain_id, self._market, answer)
        except InvalidAnswerSignature as exc:
            raise InvalidInput(f"the answer's signature is invalid: {exc}") from None
        if signer.lower() != prosumer.lower():
            raise InvalidInput(
                f"the answer is signed by {signer}, not by {prosumer}: sign the EIP-712 Answer with your own "
                "key for this request, action and value (contracts.answers.sign_answer)"
            )
        info = self._request(answer.request_id)
        self._check_open(info, answer.request_id)
        if not fits(info.strategy, answer.action):
            raise InvalidInput(
                f"request {answer.request_id} uses the {info.strategy.label} strategy: "
                f"{answer.action.label} does not apply (fair: accept, accept_up_to, decline; "
                "reputation: apply, decline)"
            )
        if answer.action == AnswerAction.DECLINE and answer.value not in set(DeclineReason):
            raise InvalidInput(f"unknown decline reason {answer.value}: use 0..{len(DeclineReason) - 1}")
        key = (answer.request_id, signer)
        with self._lock:
            old = self._entries.get(key)
            if old is not None and old.state in LIVE:
                if (old.answer.action, old.answer.value) != (answer.action, answer.value):
                    raise Conflict(
                        f"{signer} already answered request {answer.request_id} ({old.answer.action.label}, "
                        f"{old.state.value}): one answer per request"
                    )
                return old.out()
            if self._queued() >= self.max_pending:
                raise Unavailable(
                    f"{self.max_pending} answers are waiting to be relayed: retry shortly, or answer with a "
                    "direct transaction",
                    retry_after_s=max(1, int(self.every_s) + 1),
                )
            entry = Entry(answer, signer)
            self._entries.pop(key, None)
            self._entries[key] = entry
            self._prune(answer.request_id)
            self.metrics.gauge("relay_pending", "Signed answers waiting to be relayed").set(self._queued())
            return entry.out()

    def state(self, prosumer: str, request_id: int) -> AnswerOut | None:
        """`prosumer`'s answer to `request_id` and its state; None when there is none."""
        with self._lock:
            e = self._entries.get((request_id, prosumer))
            return None if e is None else e.out()

    # ------------------------------------------------------------------ batches

    def step(self) -> int:
        """Sends one batch of the oldest request's queued answers; returns how many were sent (0: none
        queued, or none still sendable). Blocking: waits for the receipt."""
        with self._lock:
            queued = [e for e in self._entries.values() if e.state == AnswerState.QUEUED]
            if not queued:
                return 0
            rid = queued[0].answer.request_id
            batch = [e for e in queued if e.answer.request_id == rid]
        info = self._request(rid, fresh=True)
        why = self._closed_reason(info, rid)
        if why is not None:
            self._finish(batch, AnswerState.DROPPED, why)
            return 0
        n = batch_size(self.batch_gas, self.gas_per_answer, len(batch))
        while True:
            fn = self.d.market.relay_answers_call(rid, [e.answer for e in batch[:n]])
            gas = self.sender.estimate(fn)
            if gas <= self.batch_gas or n == 1:
                break
            n = max(1, n // 2)
        sent = batch[:n]
        self._finish(sent, AnswerState.SUBMITTED)
        try:
            tx_hash = self.sender.submit(fn, gas=gas)
            for e in sent:
                e.tx_hash = tx_hash
            receipt = self.sender.wait(tx_hash, "relayAnswers")
        except ChainError:
            self._finish(sent, AnswerState.QUEUED)  # sent again next time, unless its deadline passed
            raise
        refused = self.d.market.refused_answers(receipt)
        for i, e in enumerate(sent):
            if i in refused:
                self._finish([e], AnswerState.REFUSED, self.d.chain.decoder.error_name(refused[i]))
            else:
                self._finish([e], AnswerState.RECORDED)
        self._learn(receipt.gas_used, n)
        log.info("relayed %d answers to request %d (%d refused) for %d gas (tx %s)", n, rid, len(refused),
                 receipt.gas_used, tx_hash)  # fmt: skip
        return n

    def _learn(self, gas_used: int, n: int) -> None:
        observed = gas_used / n
        # the mean of the old and the new: first answers (new slots) and repeat answers mix over a run
        self.gas_per_answer = (self.gas_per_answer + observed) / 2
        s = self.stats
        s.batches += 1
        s.relayed += n
        s.gas_used += gas_used
        m = self.metrics
        m.counter("relay_batches_total", "relayAnswers transactions mined").inc()
        m.counter("relay_gas_total", "Gas used by relayAnswers transactions").inc(gas_used)
        m.gauge("relay_gas_per_answer", "Learned gas per relayed answer").set(self.gas_per_answer)

    def _finish(self, entries: list[Entry], state: AnswerState, reason: str | None = None) -> None:
        with self._lock:
            for e in entries:
                e.state, e.reason = state, reason
            if state in (AnswerState.RECORDED, AnswerState.REFUSED, AnswerState.DROPPED):
                setattr(self.stats, state.value, getattr(self.stats, state.value) + len(entries))
                self.metrics.counter("relay_answers_total", "Relayed answers by outcome").inc(
                    len(entries), state=state.value
                )
            self.metrics.gauge("relay_pending", "Signed answers waiting to be relayed").set(self._queued())

    # ------------------------------------------------------------------ helpers

    def _queued(self) -> int:
        return sum(1 for e in self._entries.values() if e.state == AnswerState.QUEUED)

    def _prune(self, newest: int) -> None:
        """Forgets finished answers to requests before the previous one (one request is open at a time)."""
        stale = [k for k, e in self._entries.items() if k[0] < newest - 1 and e.state != AnswerState.QUEUED]
        for k in stale:
            del self._entries[k]

    def _request(self, request_id: int, fresh: bool = False) -> RequestInfo:
        now = self._wall()
        cached = self._requests.get(request_id)
        if cached is not None and not fresh and now - cached[0] < REQUEST_CACHE_S:
            return cached[1]
        info = self.d.market.request(request_id)
        self._requests = {request_id: (now, info)}  # one request at a time
        return info

    def _closed_reason(self, info: RequestInfo, request_id: int) -> str | None:
        if info.status == RequestStatus.NONE:
            return f"request {request_id} does not exist"
        if info.status != RequestStatus.OPEN:
            return f"request {request_id} is {info.status.name.lower()}, not open"
        if self._wall() > info.deadline:
            return f"the answers to request {request_id} closed at {info.deadline}"
        return None

    def _check_open(self, info: RequestInfo, request_id: int) -> None:
        why = self._closed_reason(info, request_id)
        if why is not None:
            raise Conflict(f"{why}: only the open request before its deadline takes answers")
