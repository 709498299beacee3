"""Readings in (R4): one, or a batch answered per item. A 2xx means committed (group commit).

These two routes are the hot path, so they take the raw request: the body is validated by pydantic
straight from JSON bytes (strict, as every body: `aggregator.api.body`) and the bearer token is checked
without FastAPI's dependency machinery (which costs more per request than everything else here). The
OpenAPI document still describes the body (`ReadingIn` / `ReadingBatchIn`), the answers (`ReadingAck`
/ `BatchAck`) and the bearer scheme.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from aggregator.api.body import documented, parse
from aggregator.api.deps import bearer_prosumer
from aggregator.api.responses import errors
from aggregator.auth import ProsumerSession
from aggregator.context import AppContext
from aggregator.errors import InvalidInput, InvalidReading
from aggregator.store import Row
from aggregator.validation import check_reading, to_row
from aggregator.wire import BatchAck, ReadingAck, ReadingBatchIn, ReadingIn

log = logging.getLogger(__name__)
router = APIRouter(tags=["readings"])


def _json(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="application/json")


@router.post(
    "/readings",
    response_model=ReadingAck,
    responses=errors(401, 403, 422, 503),
    openapi_extra=documented(ReadingIn, secured=True),
)
async def post_reading(request: Request) -> Response:
    """Stores one reading of the authenticated prosumer. Sending the same `seq` again answers
    `duplicate` (200) and stores nothing; 503 with Retry-After when the writer is saturated."""
    ctx: AppContext = request.app.state.ctx
    session = bearer_prosumer(ctx, request)
    return _json(await store_one(ctx, session, await request.body()))


async def store_one(ctx: AppContext, session: ProsumerSession, body: bytes) -> bytes:
    """The answer to one reading (`ReadingAck` as JSON) once it is committed; raises what the API maps
    to an error answer. Shared by the route and `aggregator.api.reading_path` (the hot path)."""
    reading = parse(ReadingIn, body)
    reason = check_reading(reading, session, ctx.clock.now_epoch(), ctx.limits)
    if reason is not None:
        _rejected(ctx, 1)
        log.info("reading rejected: %s", reason, extra={"prosumer": session.address, "seq": reading.seq})
        raise InvalidReading(reason)
    row = to_row(reading, session, ctx.clock.wall())
    (stored,) = await ctx.writer.submit([row])
    if stored:
        ctx.live.observe(session, row[2], row[4], row[7], row[8], row[1])
    return b'{"seq":%d,"status":"%s"}' % (reading.seq, b"stored" if stored else b"duplicate")


@router.post(
    "/readings/batch",
    response_model=BatchAck,
    responses=errors(401, 403, 422, 503),
    openapi_extra=documented(ReadingBatchIn, secured=True),
)
async def post_batch(request: Request) -> Response:
    """Stores a batch of the authenticated prosumer's readings. The answer is 200 once every valid item
    is committed, with one status per item: `stored`, `duplicate`, or `rejected` with the reason
    (rejected items are not stored; fix and resend them). 422 only when the batch itself is invalid
    (not JSON, no `readings` list, another top-level field, empty, or more than `batch_max_items`)."""
    ctx: AppContext = request.app.state.ctx
    session = bearer_prosumer(ctx, request)
    return _json(await store_batch(ctx, session, await request.body()))


async def store_batch(ctx: AppContext, session: ProsumerSession, body: bytes) -> bytes:
    """The answer to a batch (`BatchAck` as JSON) once its valid items are committed; raises what the
    API maps to an error answer. Shared by the route and `aggregator.api.reading_path`."""
    items, rows, where = _validate(body, session, ctx)
    flags = await ctx.writer.submit(rows) if rows else []
    stored = 0
    for row, i, ok in zip(rows, where, flags, strict=True):
        items[i] = {"index": i, "seq": row[1], "status": "stored" if ok else "duplicate", "reason": None}
        stored += ok
    _observe_latest(ctx, session, rows, flags)
    rejected = len(items) - len(rows)
    if rejected:
        _rejected(ctx, rejected)
    answer = {"stored": stored, "duplicates": len(rows) - stored, "rejected": rejected, "items": items}
    return json.dumps(answer, separators=(",", ":")).encode()


def _validate(
    body: bytes, session: ProsumerSession, ctx: AppContext
) -> tuple[list[Any], list[Row], list[int]]:
    """Per item: a rejection, or a row to store. `where[k]` is the batch index of `rows[k]`."""
    try:  # fast path: every item well-formed
        readings: list[ReadingIn | str] = list(ReadingBatchIn.model_validate_json(body).readings)
        raw: list[Any] = readings
    except ValidationError:
        raw = _raw_items(body)
        readings = [_parse_item(x) for x in raw]
    limit = ctx.settings.batch_max_items
    if not readings or len(readings) > limit:
        raise InvalidInput(f"a batch holds 1 to {limit} readings, got {len(readings)}: split it")
    now, wall, limits = ctx.clock.now_epoch(), ctx.clock.wall(), ctx.limits
    items: list[Any] = [None] * len(readings)
    rows: list[Row] = []
    where: list[int] = []
    for i, reading in enumerate(readings):
        if isinstance(reading, str):
            seq = raw[i].get("seq") if isinstance(raw[i], dict) else None
            items[i] = {
                "index": i,
                "seq": seq if type(seq) is int else None,
                "status": "rejected",
                "reason": reading,
            }
            continue
        reason = check_reading(reading, session, now, limits)
        if reason is not None:
            items[i] = {"index": i, "seq": reading.seq, "status": "rejected", "reason": reason}
            continue
        rows.append(to_row(reading, session, wall))
        where.append(i)
    return items, rows, where


def _raw_items(body: bytes) -> list[Any]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly nested JSON
        raise InvalidInput(f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("readings"), list):
        raise InvalidInput('the body must be an object {"readings": [...]} with a list of readings')
    unknown = sorted(set(data) - {"readings"})
    if unknown:
        raise InvalidInput(f"unknown top-level field(s) {', '.join(map(repr, unknown))}: send only readings")
    items: list[Any] = data["readings"]
    return items


def _parse_item(raw: Any) -> ReadingIn | str:
    """The reading, or why it is malformed. Validated from its JSON text, as strictly as the fast path
    (a Python `dict` would be validated in Python mode, where a time string is not a datetime)."""
    try:
        return ReadingIn.model_validate_json(json.dumps(raw, allow_nan=True))
    except ValidationError as exc:
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'reading'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )


def _observe_latest(ctx: AppContext, session: ProsumerSession, rows: list[Row], flags: list[bool]) -> None:
    stored = [row for row, ok in zip(rows, flags, strict=True) if ok]
    if stored:
        row = max(stored, key=lambda r: r[2])
        ctx.live.observe(session, row[2], row[4], row[7], row[8], row[1])


def _rejected(ctx: AppContext, n: int) -> None:
    ctx.metrics.counter("readings_rejected_total").inc(n)
