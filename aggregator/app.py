"""The FastAPI application: `create_app(settings, ...)` wires the context and runs it in the lifespan.

    app = create_app(settings, registry_view=None, services=[chain_sync, dispatcher], control=dispatcher)

- `registry_view`: how prosumers are checked at login; default: the chain registry named by the
  settings (`AGGREGATOR_RPC_URL`, `AGGREGATOR_MANIFEST`), connected on first use.
- `services`: background `Service`s (see `aggregator.context`), started after the writer, cancelled at
  shutdown, reported by /health. They reach everything through the `AppContext` they are given
  (`app.state.ctx`): repositories, writer, metrics, authenticator, clock.
- `control`: the `RequestControl` behind cancel / modify (default: queued requests only).
- `store`: the readings store (tests pass a slow one to exercise backpressure).

Around the routes: request bodies are limited (`aggregator.body_limit`), `POST /readings` is answered
ahead of the router (`aggregator.api.reading_path`), every error has one shape
(`aggregator.api.handlers`), and `/openapi.json` documents it (`aggregator.api.openapi`).
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

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from pydantic import SecretStr

from aggregator.api import (
    admin,
    answers,
    auth,
    availability,
    consent,
    docs,
    evidence,
    handlers,
    openapi,
    ops,
    profiles,
    query,
    readings,
    requests,
)
from aggregator.api.reading_path import ReadingPath
from aggregator.auth import Authenticator, AuthLimits
from aggregator.body_limit import BodyLimit
from aggregator.consent import ConsentDesk, ConsentPolicy
from aggregator.context import AppContext, ClearSky, QueuedOnlyControl, RequestControl, Service
from aggregator.db import Database
from aggregator.live import LiveState
from aggregator.metrics import Metrics
from aggregator.openadr import mount as openadr
from aggregator.prosumers_repo import ProsumerRepo, SyncStateRepo
from aggregator.registry import LazyChainRegistryView, RegistryView
from aggregator.requests_repo import RequestQueue
from aggregator.settings import AggregatorSettings
from aggregator.simclock import ServerClock
from aggregator.store import ReadingStore
from aggregator.validation import Limits
from aggregator.writer import Writer
from base import __version__
from contracts.types import SourceKind

log = logging.getLogger(__name__)
# py_ecc (imported by eth_account) raises the interpreter's recursion limit to 100,000. The C JSON
# decoder then follows a request body nested 100,000 deep until the C stack overflows and the process
# dies (SIGSEGV). Any JSON body reaches it, logged in or not; the cap makes it a RecursionError (422).
RECURSION_LIMIT = 10_000
NO_OTEL: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}

DESCRIPTION = """The flexsim aggregator: prosumers log in by signing a nonce and stream meter readings;
the grid operator queues flexibility requests; everything is stored centrally and queryable.

Power is in W, **positive = delivered to the grid**. Every error body is `ErrorOut`:
`{"error": code, "detail": message}`, and validation errors (422) add `errors`, a list of
`{type, loc, msg}`. Refusals: 401 (no valid credential), 403 (not allowed), 404 (no such resource or
path), 405 (wrong method, with `Allow`), 409 (wrong state), 413 (body too large, refused before it is
read), 422 (invalid input: strict types, unknown fields refused), 429 (too many login challenges or
failed bearer attempts from this client, with `Retry-After`), 503 (busy or the chain unreachable, with
`Retry-After`)."""


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
        limits=AuthLimits(
            challenges_per_client=settings.challenges_per_client,
            challenges_per_address=settings.challenges_per_address,
            max_challenges=settings.max_pending_challenges,
            bearer_failures=settings.bearer_failures_per_client,
            bearer_failure_window_s=settings.bearer_failure_window_s,
        ),
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
    settings = settings or AggregatorSettings()
    ctx = build_context(settings, registry_view, control, store)

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
        docs_url=None,  # `aggregator.api.docs`: Swagger UI from the pinned npm package, not a CDN
    )
    app.openapi = partial(_openapi, app, settings.batch_max_items)  # type: ignore[method-assign]
    app.state.ctx = ctx
    routers = (
        auth, consent, readings, availability, answers, evidence, query, requests, profiles, admin, ops, docs,
    )  # fmt: skip
    for module in routers:
        app.include_router(module.router)
    openadr.install(app, ctx)  # the OpenADR 3.1 VTN at openadr.PREFIX (docs/openadr.md)
    handlers.install(app)
    app.add_middleware(ReadingPath)  # POST /readings ahead of the router; inside BodyLimit, added next
    app.add_middleware(
        BodyLimit,
        default_bytes=settings.max_body_bytes,
        routes={("POST", "/readings/batch"): settings.batch_body_bytes},
        problem_prefixes=(openadr.PREFIX,),
    )
    return app


def _openapi(app: FastAPI, batch_max_items: int) -> dict[str, Any]:
    if app.openapi_schema is None:
        app.openapi_schema = openapi.build(app, batch_max_items)
    return app.openapi_schema


async def _run(service: Service, ctx: AppContext) -> None:
    try:
        await service.run(ctx)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("service %s stopped with an error", service.name)
        raise
