"""The prosumer's side of tamper evidence (docs/tamper-evidence.md), run from the chain worker's rounds.

For each request it took part in:

1. **Sign.** Once the aggregator has acknowledged its readings up to the end of the settlement window
   (the request's window widened by `readings_root_margin_s` simulated seconds on each side), it
   builds the Merkle root over the acknowledged readings in that span, signs it (EIP-712
   `ReadingsRoot`) and sends it (`POST /readings/roots`). The aggregator checks it against its store;
   a 409 means readings it acknowledged are missing or altered there, which is logged as an error.
2. **Check.** Once the request is finalised and its settlement anchored, it fetches its leaf and proof
   (`GET /anchors/{id}/proof`) and checks them against the chain: the proof leads to the anchored root,
   the leaf's delivery is the one the market recorded, the leaf carries its own signed root. When the
   leaf and the chain disagree it raises the dispute itself, before it answers its next request (the
   market reuses its commitment slot then, and a delivery dispute can no longer be proven).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from aggregator.wire_evidence import LeafProofOut
from base.errors import FlexsimError
from contracts.anchor import SignedRoot, milli, process_proof, readings_root, settlement_leaf, sign_root
from contracts.types import RequestStatus, Response
from domain.clock import SimClock
from prosumer.chain_side import ChainSide
from prosumer.uplink import AckedReadings, Retry


class HttpReply(Protocol):
    """What the keeper reads of an answer (`prosumer.plain_http.Reply`, or an httpx response in tests)."""

    @property
    def status_code(self) -> int: ...
    @property
    def content(self) -> bytes: ...
    @property
    def text(self) -> str: ...


log = logging.getLogger(__name__)

GIVE_UP_S = 600.0
"""Real seconds after the window's end after which a request whose settlement is still not anchored
(or never finalised) is no longer watched."""


class Stage(Enum):
    SIGN = "sign"
    CHECK = "check"
    DONE = "done"


@dataclass
class Watched:
    request_id: int
    start_real: float
    end_real: float
    stage: Stage = Stage.SIGN
    signed: SignedRoot | None = None
    outcome: str = field(default="")


class EvidenceKeeper:
    def __init__(
        self,
        chain: ChainSide,
        key: str | bytes,
        clock: SimClock,
        acked: AckedReadings,
        authed: Callable[..., HttpReply],
        margin_s: float,
        wall: Callable[[], float],
    ) -> None:
        self.chain = chain
        self.key = key
        self.clock = clock
        self.acked = acked
        self.authed = authed
        self.margin_s = margin_s
        self._wall = wall
        self.watched: dict[int, Watched] = {}
        self.disputes: list[int] = []

    def joined(self, request_id: int, start_real: float, end_real: float) -> None:
        """The prosumer committed to `request_id` with this window (real epoch s)."""
        w = self.watched.get(request_id)
        if w is None:
            self.watched[request_id] = Watched(request_id, start_real, end_real)
        else:
            w.start_real, w.end_real = start_real, end_real

    def span_ms(self, w: Watched) -> tuple[int, int]:
        start = self.clock.sim_time(w.start_real).timestamp() - self.margin_s
        end = self.clock.sim_time(w.end_real).timestamp() + self.margin_s
        return milli(start), milli(end)

    def tick(self) -> None:
        """One turn: signs the roots that are due, checks the settlements that are anchored."""
        for w in list(self.watched.values()):
            try:
                if w.stage == Stage.SIGN:
                    self._sign(w)
                if w.stage == Stage.CHECK:
                    self._check(w)
            except (Retry, FlexsimError) as exc:
                log.info("request %d: evidence %s postponed: %s", w.request_id, w.stage.value, exc)
            if w.stage != Stage.DONE and self._wall() > w.end_real + GIVE_UP_S:
                log.warning("request %d: settlement not anchored in time; no longer watched", w.request_id)
                w.stage = Stage.DONE
            if w.stage == Stage.DONE:
                del self.watched[w.request_id]

    # ------------------------------------------------------------------ stages

    def _sign(self, w: Watched) -> None:
        from_ms, to_ms = self.span_ms(w)
        last = self.acked.last_ms()
        if last is None or last <= to_ms:
            return  # not every reading of the span is acknowledged yet
        readings = self.acked.between(from_ms, to_ms)
        root = readings_root(self.chain.address, readings)
        d = self.chain.d
        signed = sign_root(self.key, d.chain.chain_id, d.anchor.address, w.request_id, from_ms, to_ms,
                           len(readings), root)  # fmt: skip
        reply = self.authed("POST", "/readings/roots", {
            "request_id": w.request_id, "from_ms": from_ms, "to_ms": to_ms, "count": len(readings),
            "root": "0x" + root.hex(), "signature": "0x" + signed.signature().hex(),
        })  # fmt: skip
        status = reply.status_code
        if status == 409:
            log.error("request %d: the aggregator's store does not hold my readings as I sent them: %s",
                      w.request_id, reply.text[:300])  # fmt: skip
        elif status != 200:
            raise Retry(0.0, f"signed root not taken: HTTP {status}")
        else:
            log.info("request %d: signed readings root 0x%s over %d readings", w.request_id, root.hex(),
                     len(readings))  # fmt: skip
        w.signed, w.stage = signed, Stage.CHECK

    def _check(self, w: Watched) -> None:
        d, me = self.chain.d, self.chain.address
        if d.market.request(w.request_id).status != RequestStatus.SETTLED:
            return
        anchored = d.anchor.root_of(w.request_id)
        if anchored == bytes(32):
            return
        reply = self.authed("GET", f"/anchors/{w.request_id}/proof")
        if reply.status_code != 200:
            log.warning("request %d: no proof served (HTTP %s)", w.request_id, reply.status_code)
            return
        proof = LeafProofOut.model_validate_json(reply.content)
        siblings = [bytes.fromhex(p[2:]) for p in proof.proof]
        leaf_root = bytes.fromhex(proof.readings_root[2:])
        leaf = settlement_leaf(w.request_id, me, proof.delivered_wh, leaf_root)
        w.stage = Stage.DONE
        if process_proof(leaf, siblings) != anchored:
            w.outcome = "the served proof does not lead to the anchored root"
            log.error("request %d: %s", w.request_id, w.outcome)
            return
        c = d.market.commitment_of(w.request_id, me)
        if c.response in (Response.COMPLIANT, Response.PENALISED) and c.delivered_wh != proof.delivered_wh:
            w.outcome = f"recorded {c.delivered_wh} Wh, leaf says {proof.delivered_wh} Wh: disputed"
            d.anchor.dispute_delivery(
                self.chain.sender, w.request_id, me, proof.delivered_wh, leaf_root, siblings
            )
        elif w.signed is not None and w.signed.root != leaf_root:
            w.outcome = "the leaf does not carry my signed readings root: disputed"
            d.anchor.dispute_readings_root(self.chain.sender, w.request_id, me, proof.delivered_wh, leaf_root,
                                           siblings, w.signed)  # fmt: skip
        else:
            w.outcome = "leaf and proof check out"
            log.info("request %d: settlement leaf checked against the chain", w.request_id)
            return
        self.disputes.append(w.request_id)
        log.error("request %d: %s", w.request_id, w.outcome)
