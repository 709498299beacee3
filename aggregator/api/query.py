"""Readings out (R4): query by prosumer, source, time range, resolution and incident flag; CSV; overview."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Annotated

from eth_utils import to_checksum_address
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import AwareDatetime, BeforeValidator

from aggregator.api.deps import Caller, Ctx, GridOperator, own_or_privileged
from aggregator.api.responses import errors
from aggregator.errors import InvalidInput
from aggregator.store import ReadingFilter
from aggregator.tables import Reading
from aggregator.wire import (
    EXAMPLE_ADDRESS,
    STATUS_NAMES,
    Address,
    BucketOut,
    KindOverview,
    LatestReadingOut,
    LatestReadingsOut,
    OverviewOut,
    ReadingOut,
    ReadingsOut,
)
from contracts.types import SourceKind

router = APIRouter(tags=["query"])
KINDS = {k.label: int(k) for k in SourceKind}


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


ProsumerQ = Annotated[Address | None, Query(description="Only this prosumer", examples=[EXAMPLE_ADDRESS])]
KindQ = Annotated[
    str | None,
    Query(description="Source kind", examples=["solar"], pattern="^(" + "|".join(SourceKind.labels()) + ")$"),
]


def _iso_text(value: object) -> object:
    """A time parameter is ISO 8601 text, as everywhere on the wire: never a number of epoch seconds."""
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return value
        raise ValueError("a time is ISO 8601 text such as 2025-06-01T00:00:00Z, not a number")
    return value


Time = Annotated[AwareDatetime, BeforeValidator(_iso_text)]
StartQ = Annotated[
    Time | None,
    Query(description="From (simulated time, inclusive)", examples=["2025-06-01T00:00:00Z"]),
]
EndQ = Annotated[
    Time | None,
    Query(description="To (simulated time, exclusive)", examples=["2025-06-02T00:00:00Z"]),
]
ResolutionQ = Annotated[
    int | None, Query(ge=1, le=366 * 86_400, examples=[900], description="Bucket size for downsampled means")
]
IncidentQ = Annotated[bool, Query(description="Only readings whose status is not ok", examples=[False])]
LimitQ = Annotated[
    int | None, Query(ge=1, description="Rows at most (capped by the server)", examples=[1000])
]


class ReadingQuery:
    """The query parameters shared by GET /readings and GET /readings.csv."""

    def __init__(
        self,
        prosumer: ProsumerQ = None,
        kind: KindQ = None,
        start: StartQ = None,
        end: EndQ = None,
        resolution_s: ResolutionQ = None,
        incident: IncidentQ = False,
        limit: LimitQ = None,
    ) -> None:
        self.prosumer, self.kind, self.start, self.end = prosumer, kind, start, end
        self.resolution_s, self.incident, self.limit = resolution_s, incident, limit

    def filter(self, prosumer: str | None) -> ReadingFilter:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise InvalidInput("end must be after start")
        return ReadingFilter(
            prosumer=None if prosumer is None else prosumer.lower(),
            kind=None if self.kind is None else KINDS[self.kind],
            start=None if self.start is None else self.start.timestamp(),
            end=None if self.end is None else self.end.timestamp(),
            incidents_only=self.incident,
        )


Params = Annotated[ReadingQuery, Depends()]


def _reading_out(r: Reading) -> ReadingOut:
    return ReadingOut(
        prosumer=r.prosumer,
        kind=SourceKind(r.kind).label,
        seq=r.seq,
        timestamp=_utc(r.t),
        power_w=r.power_w,
        energy_wh=r.energy_wh,
        soc=r.soc,
        status=STATUS_NAMES[r.status],
        available_w=r.available_w,
    )


def _run(q: ReadingQuery, caller: Caller, ctx: Ctx) -> ReadingsOut:
    f = q.filter(own_or_privileged(caller, q.prosumer))
    cap = ctx.settings.query_max_rows
    limit = min(q.limit or cap, cap)
    if q.resolution_s is None:
        rows = ctx.store.query(f, limit + 1)
        out = [_reading_out(r) for r in rows[:limit]]
        return ReadingsOut(resolution_s=None, count=len(out), truncated=len(rows) > limit, readings=out)
    buckets = ctx.store.buckets(f, q.resolution_s, limit + 1)
    bout = [
        BucketOut(
            prosumer=b.prosumer,
            kind=SourceKind(b.kind).label,
            start=_utc(b.start),
            power_w=b.power_w,
            soc=b.soc,
            samples=b.samples,
            incidents=b.incidents,
        )
        for b in buckets[:limit]
    ]
    return ReadingsOut(
        resolution_s=q.resolution_s, count=len(bout), truncated=len(buckets) > limit, buckets=bout
    )


@router.get("/readings", response_model=ReadingsOut, responses=errors(401, 403, 422))
def get_readings(q: Params, caller: Caller, ctx: Ctx) -> ReadingsOut:
    """Readings in time order, or per-prosumer bucket means with `resolution_s`. The grid operator and
    the admin may read everything; a prosumer only its own readings."""
    return _run(q, caller, ctx)


@router.get(
    "/readings.csv",
    response_class=Response,
    responses={
        200: {
            "content": {
                "text/csv": {
                    "example": "prosumer,kind,seq,timestamp,power_w,energy_wh,soc,"
                    f"status\n{EXAMPLE_ADDRESS},solar,1042,2025-06-01T12:00:05+00:00,"
                    "5230.5,18250.0,,ok\n"
                }
            }
        },
        **errors(401, 403, 422),
    },
)
def get_readings_csv(q: Params, caller: Caller, ctx: Ctx) -> Response:
    """The same query as GET /readings, as CSV (one header line; `truncated` is sent as a header)."""
    result = _run(q, caller, ctx)
    buf = io.StringIO()
    rows = result.readings if q.resolution_s is None else result.buckets
    model = ReadingOut if q.resolution_s is None else BucketOut
    writer = csv.writer(buf)
    fields = list(model.model_fields)
    writer.writerow(fields)
    for r in rows:
        d = r.model_dump(mode="json")
        writer.writerow(["" if d[k] is None else d[k] for k in fields])
    headers = {
        "X-Truncated": str(result.truncated).lower(),
        "Content-Disposition": "attachment; filename=readings.csv",
    }
    return Response(buf.getvalue(), media_type="text/csv", headers=headers)


@router.get("/overview", response_model=OverviewOut, responses=errors(401, 403))
def overview(_: GridOperator, ctx: Ctx) -> OverviewOut:
    """Live production, consumption and available flexibility from the latest reading of every prosumer
    online (a reading in the last `online_window_s` real seconds)."""
    o = ctx.live.overview(ctx.clock.wall(), ctx.settings.online_window_s)
    return OverviewOut(
        at=ctx.clock.now(),
        production_w=o.production_w,
        consumption_w=o.consumption_w,
        net_w=o.net_w,
        flex_up_w=o.flex_up_w,
        flex_down_w=o.flex_down_w,
        prosumers_online=o.online,
        incidents=o.incidents,
        by_kind={k: KindOverview(online=n, power_w=p) for k, (n, p) in sorted(o.by_kind.items())},
        deliverable_up_w=o.deliverable_up_w,
        deliverable_down_w=o.deliverable_down_w,
    )


@router.get("/overview/prosumers", response_model=LatestReadingsOut, responses=errors(401, 403))
def latest_readings(_: GridOperator, ctx: Ctx) -> LatestReadingsOut:
    """The latest stored reading of every prosumer seen since the service started (kept in memory, so
    this costs nothing per reading): what a live view shows per prosumer."""
    now = ctx.clock.wall()
    window = ctx.settings.online_window_s
    return LatestReadingsOut(
        prosumers=[
            LatestReadingOut(
                prosumer=to_checksum_address(address),
                kind=x.kind.label,
                seq=x.seq,
                timestamp=_utc(x.t),
                power_w=x.power_w,
                status=STATUS_NAMES[x.status],
                received_at=_utc(x.received_at),
                online=now - x.received_at <= window,
            )
            for address, x in sorted(ctx.live.latest().items())
        ]
    )
