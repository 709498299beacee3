"""The event <-> request side of the VTN: what creating, updating and deleting an event does to the
flexibility requests, and the reports written after settlement.

Every request goes through the aggregator's own paths: `ctx.requests.enqueue` (as `POST /requests`),
`ctx.control.modify` / `ctx.control.cancel` (as `PATCH /requests/{id}` and `.../cancel`), and the
dispatcher settles it on chain. Requests run one at a time, so an event's intervals are queued in order;
`OpenadrService` keeps each queued one's lead time pointed at its interval's start, and writes the
event's report once all of its requests are final (and again when chain sync adds the deliveries).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aggregator.errors import Conflict, InvalidInput
from aggregator.openadr.mapping import (
    REPORT_CLIENT,
    MappingError,
    Outcome,
    Participant,
    PlannedRequest,
    plan_requests,
    report_body,
)
from aggregator.openadr.models import EventRequest, ObjectType, Report
from aggregator.openadr.objects import ObjectBook
from aggregator.tables import FlexRequest, OpenadrLink
from aggregator.wire_market import FINAL_STATES, RequestState, ResponseKind

if TYPE_CHECKING:
    from aggregator.context import AppContext

log = logging.getLogger(__name__)
FINAL = {s.value for s in FINAL_STATES}
ON_CHAIN = {RequestState.OPEN.value, RequestState.SELECTING.value}
REPORT_QUIET_S = 600.0  # a report unchanged this long (real s) is final: no longer recomputed


class EventInvalid(InvalidInput):
    """An event this VTN cannot turn into flexibility requests (400 with the reason)."""

    status_code = 400
    code = "bad_request"


def plan(ctx: AppContext, event: EventRequest) -> list[PlannedRequest]:
    try:
        return plan_requests(event, ctx.clock.now_epoch())
    except MappingError as exc:
        raise EventInvalid(str(exc)) from None


def open_requests(
    ctx: AppContext, book: ObjectBook, event_id: str, planned: Sequence[PlannedRequest]
) -> None:
    """Queues a request per planned (sub-)interval, as `POST /requests` does, and links it to the event."""
    now = ctx.clock.now_epoch()
    for p in planned:
        req = ctx.requests.enqueue(
            p.direction,
            p.power_w,
            p.duration_s,
            p.lead_time_s(now, ctx.settings.openadr_min_lead_s),
            ctx.settings.default_strategy,
        )
        book.link(event_id, p.interval_id, p.part, req.id, p.start)
        log.info(
            "event %s interval %s -> request %s (%s %d W)",
            event_id,
            p.interval_id,
            req.id,
            p.direction,
            p.power_w,
        )


def _changeable(ctx: AppContext, req: FlexRequest, what: str) -> None:
    """Conflict unless `req` can still be changed (queued, or open on chain before its start)."""
    if req.status == RequestState.QUEUED.value:
        return
    if req.status in FINAL:
        raise Conflict(f"request {req.id} of this event is {req.status}: it can no longer {what}")
    if req.status not in ON_CHAIN:
        raise Conflict(f"request {req.id} of this event is {req.status} on chain: it can no longer {what}")
    if req.start is not None and ctx.clock.wall() >= req.start:
        raise Conflict(f"request {req.id} of this event has started: it can no longer {what}")


def update_requests(
    ctx: AppContext, book: ObjectBook, event_id: str, planned: Sequence[PlannedRequest]
) -> None:
    """Brings the event's requests in line with its new intervals: modify the ones that changed, cancel
    the ones that went away, queue the new ones. Checks everything first (409, nothing changed)."""
    links = {(x.interval_id, x.part): x for x in book.links(event_id)}
    wanted = {(p.interval_id, p.part): p for p in planned}
    now = ctx.clock.now_epoch()
    todo: list[tuple[str, OpenadrLink | None, PlannedRequest | None, dict[str, Any]]] = []
    for key, link in links.items():
        req = ctx.requests.get(link.request_id)
        p = wanted.get(key)
        if p is None:
            if req.status not in FINAL:
                _changeable(ctx, req, "be cancelled")
                todo.append(("cancel", link, None, {}))
            continue
        changes: dict[str, Any] = {}
        lead = p.lead_time_s(now, ctx.settings.openadr_min_lead_s)
        if p.direction != req.direction:
            _changeable(ctx, req, "change direction (it is cancelled and queued anew)")
            todo.append(("replace", link, p, {}))
            continue
        if p.power_w != req.power_w:
            changes["power_w"] = p.power_w
        if p.duration_s != req.duration_s:
            changes["duration_s"] = p.duration_s
        if abs(p.start - link.wanted_start) >= 1:
            changes["lead_time_s"] = lead
        if changes:
            _changeable(ctx, req, "be modified")
            todo.append(("modify", link, p, changes))
    for key, p in wanted.items():
        if key not in links:
            todo.append(("new", None, p, {}))
    for action, old, new, changes in todo:
        if action in ("cancel", "replace") and old is not None:
            if ctx.requests.get(old.request_id).status not in FINAL:
                ctx.control.cancel(old.request_id)
            book.retire(old.id)
        if action in ("replace", "new") and new is not None:
            open_requests(ctx, book, event_id, [new])
        if action == "modify" and old is not None and new is not None:
            ctx.control.modify(old.request_id, changes)
            book.restart(old.id, new.start)


def cancel_requests(ctx: AppContext, book: ObjectBook, event_id: str) -> None:
    """Cancels every request of the event that is not final (409, nothing cancelled, if one cannot be)."""
    pending = []
    for link in book.links(event_id):
        req = ctx.requests.get(link.request_id)
        if req.status not in FINAL:
            _changeable(ctx, req, "be cancelled")
            pending.append(link)
    for link in pending:
        ctx.control.cancel(link.request_id)
        book.retire(link.id)


# ------------------------------------------------------------------------------------ background


def outcomes(ctx: AppContext, links: Sequence[OpenadrLink]) -> list[Outcome]:
    out = []
    for link in links:
        r = ctx.requests.get(link.request_id)
        delivered = [
            Participant(x.prosumer, x.committed_w, x.delivered_wh, x.compliant)
            for x in ctx.requests.responses(r.id)
            if x.kind == ResponseKind.DELIVERED.value
        ]
        out.append(
            Outcome(
                link.interval_id,
                link.part,
                r.id,
                r.status,
                int(r.power_w),
                int(r.duration_s),
                r.start,
                r.end,
                r.chain_request_id,
                r.requested_wh,
                r.delivered_wh,
                r.participants,
                r.compliant,
                delivered,
            )
        )
    return out


def refresh_leads(ctx: AppContext, book: ObjectBook) -> None:
    """Points each queued request's lead time at its interval's start (the start comes nearer while
    the request waits for the one before it)."""
    now = ctx.clock.now_epoch()
    for link in book.links():
        req = ctx.requests.get(link.request_id)
        if req.status != RequestState.QUEUED.value:
            continue
        lead = PlannedRequest(
            0, 0, "", req.direction, req.power_w, link.wanted_start, req.duration_s
        ).lead_time_s(now, ctx.settings.openadr_min_lead_s)
        if lead != req.lead_time_s:
            try:
                ctx.requests.modify_queued(req.id, lead_time_s=lead)
            except Conflict:  # claimed meanwhile: it opens with the lead it had
                pass


def write_reports(ctx: AppContext, book: ObjectBook) -> list[str]:
    """Writes (or updates) the report of every event whose requests are all final; returns the ids of
    the reports written."""
    written = []
    by_event: dict[str, list[OpenadrLink]] = {}
    for link in book.links(active=None):
        by_event.setdefault(link.event_id, []).append(link)
    for event_id, links in by_event.items():
        existing = book.report_of(event_id, REPORT_CLIENT)
        if existing is not None and time.time() - existing.modified_at > REPORT_QUIET_S:
            continue  # final for a while: chain sync has recorded every delivery long ago
        active = [x for x in links if x.active] or links
        results = outcomes(ctx, active)
        if not results or any(o.status not in FINAL for o in results):
            continue
        event = book.find(ObjectType.EVENT, event_id)
        name = None if event is None else event.name
        body = Report.model_validate(
            {
                **report_body(event_id, name, results),
                "id": "x",
                "createdDateTime": "2000-01-01T00:00:00Z",
                "modificationDateTime": "2000-01-01T00:00:00Z",
                "objectType": "REPORT",
                "clientID": REPORT_CLIENT,
            }
        ).wire()
        for k in ("id", "createdDateTime", "modificationDateTime", "objectType"):
            body.pop(k)
        if existing is None:
            written.append(book.create(ObjectType.REPORT, body, owner=REPORT_CLIENT).id)
        elif existing.body != ObjectBook._columns(ObjectType.REPORT, body)["body"]:
            written.append(book.replace(ObjectType.REPORT, existing.id, body).id)
    return written


class OpenadrService:
    """Background service of the VTN (add it to `create_app(services=...)`; the serve path does)."""

    name = "openadr"

    def __init__(self, poll_s: float = 1.0) -> None:
        self.poll_s = poll_s

    def step(self, ctx: AppContext) -> None:
        book = ObjectBook(ctx.db)
        refresh_leads(ctx, book)
        for report_id in write_reports(ctx, book):
            log.info("OpenADR report %s written", report_id)

    async def run(self, ctx: AppContext) -> None:
        while True:
            try:
                await asyncio.to_thread(self.step, ctx)
            except Exception:  # noqa: BLE001 - a failed round is logged and retried, never fatal
                log.exception("OpenADR service round failed; retrying")
            await asyncio.sleep(self.poll_s)
