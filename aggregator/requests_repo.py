"""`RequestQueue`: flexibility requests and prosumer responses in the database (R6: one at a time).

The grid-operator API enqueues, lists, cancels and modifies queued requests; the dispatcher claims the
next queued one (`claim_next`, atomic), moves it through its states with `mark` and records every
prosumer's answer with `record_response`. Everything is read back from the database, never from memory.
Returned objects are detached snapshots (safe to read after the session closed).

States: queued -> opening -> open -> (selecting) -> delivering -> settling -> settled, or cancelled /
failed. Response kinds: accepted, declined, applied, selected, displaced, delivered; one row per
(request, prosumer, kind), so recording the same response twice (e.g. chain sync replaying events
after a restart) updates it instead of adding a row.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import select, update

from aggregator.db import Database
from aggregator.errors import Conflict, InvalidInput, NotFound
from aggregator.tables import FlexRequest, RequestResponse
from aggregator.wire_market import FINAL_STATES, RequestState, ResponseKind

REQUEST_FIELDS = frozenset(c.name for c in FlexRequest.__table__.columns) - {"id", "created_at", "updated_at"}
RESPONSE_FIELDS = frozenset(
    {"reason", "committed_w", "delivered_wh", "compliant", "paid", "tx_hash", "block"}
)
MODIFIABLE = frozenset({"power_w", "duration_s", "lead_time_s"})


def _check_fields(fields: Iterable[str], allowed: frozenset[str], what: str) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise InvalidInput(f"unknown {what} field(s) {sorted(unknown)}: use {sorted(allowed)}")


class RequestQueue:
    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._clock = clock

    # ------------------------------------------------------------------ grid operator side
    def enqueue(
        self, direction: str, power_w: int, duration_s: int, lead_time_s: int, strategy: str
    ) -> FlexRequest:
        now = self._clock()
        req = FlexRequest(
            direction=str(direction),
            power_w=power_w,
            duration_s=duration_s,
            lead_time_s=lead_time_s,
            strategy=str(strategy),
            status=RequestState.QUEUED.value,
            created_at=now,
            updated_at=now,
        )
        with self.db.session() as s:
            s.add(req)
        return req

    def get(self, request_id: int) -> FlexRequest:
        with self.db.session() as s:
            req = s.get(FlexRequest, request_id)
        if req is None:
            raise NotFound(f"no flexibility request {request_id}: list them with GET /requests")
        return req

    def list(self, status: str | None = None, limit: int = 100, offset: int = 0) -> Sequence[FlexRequest]:
        stmt = select(FlexRequest).order_by(FlexRequest.id.desc()).limit(limit).offset(offset)
        if status is not None:
            stmt = stmt.where(FlexRequest.status == status)
        with self.db.session() as s:
            return s.scalars(stmt).all()

    def cancel_queued(self, request_id: int) -> FlexRequest:
        """Cancels a request that is still queued; `Conflict` once the dispatcher has claimed it."""
        return self.mark(request_id, RequestState.CANCELLED, expect=(RequestState.QUEUED,))

    def modify_queued(self, request_id: int, **changes: Any) -> FlexRequest:
        _check_fields(changes, MODIFIABLE, "modifiable")
        changes = {k: v for k, v in changes.items() if v is not None}
        return self.mark(request_id, None, expect=(RequestState.QUEUED,), **changes)

    # ------------------------------------------------------------------ dispatcher side
    def next_queued(self) -> FlexRequest | None:
        """The oldest queued request, without claiming it."""
        with self.db.session() as s:
            return s.scalars(
                select(FlexRequest)
                .where(FlexRequest.status == RequestState.QUEUED.value)
                .order_by(FlexRequest.id)
            ).first()

    def claim_next(self) -> FlexRequest | None:
        """Atomically moves the oldest queued request to `opening` and returns it (None if none is queued)."""
        while (req := self.next_queued()) is not None:
            try:
                return self.mark(req.id, RequestState.OPENING, expect=(RequestState.QUEUED,))
            except Conflict:  # cancelled meanwhile: try the next one
                continue
        return None

    def by_chain_id(self, chain_request_id: int) -> FlexRequest | None:
        """The request that opened `chain_request_id` on chain, if this aggregator knows it."""
        with self.db.session() as s:
            return s.scalars(
                select(FlexRequest).where(FlexRequest.chain_request_id == chain_request_id)
            ).first()

    def in_progress(self) -> Sequence[FlexRequest]:
        """Requests claimed but not final (after a restart, the dispatcher resumes these)."""
        busy = [s.value for s in RequestState if s not in (RequestState.QUEUED, *FINAL_STATES)]
        with self.db.session() as s:
            return s.scalars(
                select(FlexRequest).where(FlexRequest.status.in_(busy)).order_by(FlexRequest.id)
            ).all()

    def mark(
        self,
        request_id: int,
        status: RequestState | str | None,
        expect: Iterable[RequestState | str] | None = None,
        **fields: Any,
    ) -> FlexRequest:
        """Sets `status` (None keeps it) and `fields`; with `expect`, only if the current status is one of
        them (compare-and-set), else `Conflict`. Returns the updated request."""
        _check_fields(fields, REQUEST_FIELDS, "request")
        values: dict[str, Any] = {**fields, "updated_at": self._clock()}
        if status is not None:
            values["status"] = RequestState(status).value
        stmt = update(FlexRequest).where(FlexRequest.id == request_id).values(**values)
        if expect is not None:
            stmt = stmt.where(FlexRequest.status.in_([RequestState(e).value for e in expect]))
        with self.db.session() as s:
            changed = s.execute(stmt).rowcount  # type: ignore[attr-defined]
        if changed == 0:
            current = self.get(request_id)  # NotFound if it does not exist
            raise Conflict(
                f"request {request_id} is {current.status}; this needs it to be "
                f"{' or '.join(RequestState(e).value for e in expect or ())}"
            )
        return self.get(request_id)

    # ------------------------------------------------------------------ responses
    def record_response(
        self, request_id: int, prosumer: str, kind: ResponseKind | str, **fields: Any
    ) -> RequestResponse:
        """Adds (or updates) the (request, prosumer, kind) response with `fields` (reason, committed_w,
        delivered_wh, compliant, paid, tx_hash, block)."""
        _check_fields(fields, RESPONSE_FIELDS, "response")
        kind = ResponseKind(kind).value
        prosumer = prosumer.lower()
        with self.db.session() as s:
            if s.get(FlexRequest, request_id) is None:
                raise NotFound(f"no flexibility request {request_id}")
            row = s.scalars(
                select(RequestResponse).where(
                    RequestResponse.request_id == request_id,
                    RequestResponse.prosumer == prosumer,
                    RequestResponse.kind == kind,
                )
            ).first()
            if row is None:
                row = RequestResponse(
                    request_id=request_id, prosumer=prosumer, kind=kind, created_at=self._clock()
                )
                s.add(row)
            for name, value in fields.items():
                setattr(row, name, value)
        return row

    def responses(self, request_id: int) -> Sequence[RequestResponse]:
        with self.db.session() as s:
            return s.scalars(
                select(RequestResponse)
                .where(RequestResponse.request_id == request_id)
                .order_by(RequestResponse.id)
            ).all()

    def export(self) -> tuple[builtins.list[dict[str, Any]], builtins.list[dict[str, Any]]]:
        """Every request and every response as plain records (column -> value), oldest first: what a
        finished run's results are collected from."""
        with self.db.session() as s:
            requests = [_record(r) for r in s.scalars(select(FlexRequest).order_by(FlexRequest.id))]
            responses = [_record(r) for r in s.scalars(select(RequestResponse).order_by(RequestResponse.id))]
        return requests, responses

    def responses_of(self, prosumer: str) -> Sequence[RequestResponse]:
        """Every response of one prosumer, oldest first (profiles)."""
        with self.db.session() as s:
            return s.scalars(
                select(RequestResponse)
                .where(RequestResponse.prosumer == prosumer.lower())
                .order_by(RequestResponse.id)
            ).all()


def _record(row: FlexRequest | RequestResponse) -> dict[str, Any]:
    return {c.name: getattr(row, c.name) for c in row.__table__.columns}
