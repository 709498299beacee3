"""The FastAPI application: `create_app(settings, ...)` wires the context and runs it in the lifespan.

    app = create_app(settings, registry_view=None, services=[chain_sync, dispatcher], control=dispatcher)

- `registry_view`: how prosumers are checked at login; default: the chain registry named by the
  settings (`AGGREGATOR_RPC_URL`, `AGGREGATOR_MANIFEST`), connected on first use.
- `services`: background `Service`s (see `aggregator.context`), started after the writer, cancelled at
  shutdown, reported by /health. They reach everything through the `AppContext` they are given
  (`app.state.ctx`): repositories, writer, metrics, authenticator, clock.
- `control`: the `RequestControl` behind cancel / modify (default: queued requests only).
- `store`: the readings store (tests pass a slow one to exercise backpressure).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.telemetry import TelemetryConfig
from pydantic import SecretStr, TypeAdapter

from aggregator.api import admin, auth, consent, ops, profiles, query, readings, requests
from aggregator.auth import Authenticator
from aggregator.consent import ConsentDesk, ConsentPolicy
from aggregator.context import AppContext, ClearSky, QueuedOnlyControl, RequestControl, Service
from aggregator.db import Database
from aggregator.errors import AggregatorError
from aggregator.live import LiveState
from aggregator.metrics import Metrics
from aggregator.prosumers_repo import ProsumerRepo, SyncStateRepo
from aggregator.registry import LazyChainRegistryView, RegistryView
from aggregator.requests_repo import RequestQueue
from aggregator.settings import AggregatorSettings
from aggregator.simclock import ServerClock
from aggregator.store import ReadingStore
from aggregator.validation import Limits
from aggregator.wire import ReadingBatchIn, ReadingIn
from aggregator.writer import Writer
from contracts.types import SourceKind
from flexsim import __version__

log = logging.getLogger(__name__)
# py_ecc (imported by eth_account) raises the interpreter's recursion limit to 100,000. The C JSON
# decoder then follows a request body nested 100,000 deep until the C stack overflows and the process
# dies (SIGSEGV). Any JSON body reaches it, logged in or not; the cap makes it a RecursionError (422).
RECURSION_LIMIT = 10_000
NO_OTEL: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}

DESCRIPTION = """The flexsim aggregator: prosumers log in by signing a nonce and stream meter readings;
the grid operator queues flexibility requests; everything is stored centrally and queryable.

Power is in W, **positive = delivered to the grid**. Every refusal is 401 or 403 with a JSON reason;
every error body is `{"error": code, "detail": message}`."""


def build_context(
    settings: AggregatorSettings,
    registry_view: RegistryView | None = None,
    control: RequestControl | None = None,
    store: ReadingStore | None = None,
) -> AppContext:
    if store is not None:
        db = store.db
    else:
        db = Database.connect(settings.database_url, settings.sqlite_synchronous, autocheckpoint=False)
    store = store or ReadingStore(db)
    metrics = Metrics()
    metrics.gauge("chain_lag_blocks", "Blocks chain sync is behind the chain head")
    metrics.counter("tx_failures_total", "Transactions that failed or reverted")
    metrics.counter("readings_rejected_total", "Readings refused as invalid (422 or rejected in a batch)")
    registry = registry_view or LazyChainRegistryView(
        settings.rpc_url, settings.manifest, settings.registry_cache_ttl_s
    )
    authn = Authenticator(
        registry,
        _secret(settings.grid_token),
        _secret(settings.admin_token),
        token_ttl_s=settings.token_ttl_s,
        nonce_ttl_s=settings.nonce_ttl_s,
        max_challenges=settings.max_pending_challenges,
    )
    queue = RequestQueue(db)
    return AppContext(
        settings=settings,
        db=db,
        store=store,
        writer=Writer(store.insert, metrics, settings.writer_batch_rows, settings.writer_queue_rows),
        auth=authn,
        registry=registry,
        requests=queue,
        prosumers=ProsumerRepo(db),
        sync_state=SyncStateRepo(db),
        clock=ServerClock.create(settings.sim_start, settings.sim_speed, settings.sim_real_start_epoch),
        metrics=metrics,
        live=LiveState(),
        limits=Limits(settings.power_limit_factor, settings.max_future_s),
        control=control or QueuedOnlyControl(queue),
        clear_sky=ClearSky(settings),
        consent=consent_desk(settings),
    )


def consent_desk(settings: AggregatorSettings) -> ConsentDesk:
    policy = ConsentPolicy(
        max_capacity_w={SourceKind[k.upper()]: w for k, w in settings.consent_max_capacity_w.items()},
        max_duration_s=settings.consent_max_duration_s,
        max_tariff=settings.consent_max_tariff,
        max_term_s=settings.consent_max_term_s,
        max_prosumers=settings.consent_max_prosumers,
        valid_s=settings.consent_valid_s,
    )
    return ConsentDesk(
        policy,
        _secret(settings.enrolment_token),
        _secret(settings.aggregator_key),
        settings.rpc_url,
        settings.manifest,
    )


def _secret(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()


def create_app(
    settings: AggregatorSettings | None = None,
    registry_view: RegistryView | None = None,
    services: Sequence[Service] = (),
    control: RequestControl | None = None,
    store: ReadingStore | None = None,
) -> FastAPI:
    if sys.getrecursionlimit() > RECURSION_LIMIT:
        sys.setrecursionlimit(RECURSION_LIMIT)
    ctx = build_context(settings or AggregatorSettings(), registry_view, control, store)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Long-lived objects (web3, SQLAlchemy, pydantic) go to the permanent generation: a full
        # collection then scans only what was created since, instead of stalling every request ~50 ms.
        gc.collect()
        gc.freeze()
        ctx.db.start_checkpointer()
        ctx.writer.start()
        for service in services:
            ctx.services[service.name] = asyncio.create_task(_run(service, ctx), name=service.name)
        log.info("aggregator ready (database %s)", ctx.db.engine.url.render_as_string())
        try:
            yield
        finally:
            tasks = list(ctx.services.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.to_thread(ctx.writer.stop)
            ctx.db.dispose()

    app = FastAPI(
        title="flexsim aggregator",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        telemetry=NO_OTEL,  # /metrics is the aggregator's own; FastAPI's OpenTelemetry hooks cost per request
    )
    app.openapi = partial(_openapi, app)  # type: ignore[method-assign]
    app.state.ctx = ctx
    for module in (auth, consent, readings, query, requests, profiles, admin, ops):
        app.include_router(module.router)
    app.add_exception_handler(AggregatorError, _aggregator_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document plus the reading body schemas, which the hot-path routes parse themselves."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        defs = TypeAdapter(ReadingBatchIn).json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, definition in {**defs.pop("$defs", {}), "ReadingBatchIn": defs}.items():
            components.setdefault(name, definition)
        components.setdefault(
            "ReadingIn", ReadingIn.model_json_schema(ref_template="#/components/schemas/{model}")
        )
        app.openapi_schema = schema
    return app.openapi_schema


async def _run(service: Service, ctx: AppContext) -> None:
    try:
        await service.run(ctx)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("service %s stopped with an error", service.name)
        raise


async def _aggregator_error(request: Request, exc: AggregatorError) -> JSONResponse:
    """The one place where domain errors become HTTP answers."""
    if exc.status_code >= 500:
        log.warning("%s %s -> %d: %s", request.method, request.url.path, exc.status_code, exc)
    return JSONResponse(
        {"error": exc.code, "detail": str(exc)}, status_code=exc.status_code, headers=exc.headers()
    )


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
    if request.method == "POST" and request.url.path.startswith("/readings"):
        ctx: AppContext = request.app.state.ctx
        ctx.metrics.counter("readings_rejected_total").inc()
    # Only type, location and message: the input may hold NaN or bytes, which JSON cannot carry.
    listed = [{"type": e["type"], "loc": [str(p) for p in e["loc"]], "msg": e["msg"]} for e in errors]
    body = {"error": "invalid", "detail": detail, "errors": listed}
    return JSONResponse(body, status_code=422)
