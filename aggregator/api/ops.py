"""Operations: health and Prometheus metrics (no credential needed)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse

from aggregator.api.deps import Ctx
from aggregator.db import ping
from aggregator.wire import HealthOut

router = APIRouter(tags=["operations"])
DEGRADED = {"status": "degraded", "database": False, "writer_alive": True, "queue_rows": 0, "services": {}}
METRICS_EXAMPLE = (
    "# HELP flexsim_aggregator_readings_ingested_total Readings stored (committed)\n"
    "# TYPE flexsim_aggregator_readings_ingested_total counter\n"
    "flexsim_aggregator_readings_ingested_total 1042\n"
)


@router.get(
    "/health",
    response_model=HealthOut,
    responses={
        503: {
            "model": HealthOut,
            "description": "Degraded: database, writer or a service is down",
            "content": {"application/json": {"example": DEGRADED}},
        }
    },
)
def health(ctx: Ctx) -> JSONResponse:
    """200 when the database answers, the writer runs and every background service runs; else 503."""
    services = {name: not task.done() for name, task in ctx.services.items()}
    db_ok = ping(ctx.db.engine)
    ok = db_ok and ctx.writer.alive and all(services.values())
    body = HealthOut(
        status="ok" if ok else "degraded",
        database=db_ok,
        writer_alive=ctx.writer.alive,
        queue_rows=ctx.writer.pending_rows,
        services=services,
    )
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"example": METRICS_EXAMPLE}}}},
)
def metrics(ctx: Ctx) -> PlainTextResponse:
    """Prometheus text format: readings ingested / duplicate / rejected, queue depth, commit latency and
    batch size histograms, chain lag and transaction failures (fed by chain sync and the dispatcher)."""
    ctx.metrics.gauge("writer_queue_rows").set(ctx.writer.pending_rows)
    return PlainTextResponse(ctx.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
