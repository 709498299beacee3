"""Wiring the chain side of the aggregator: chain sync, the dispatcher, the answer relay and on-chain
request control."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from aggregator.booking import BookingPolicy
from aggregator.chainsync import ChainSync
from aggregator.context import RequestControl, Service
from aggregator.control import ChainRequestControl
from aggregator.dispatch import Dispatcher
from aggregator.planning import DispatchPolicy
from aggregator.relay import AnswerRelay
from aggregator.requests_repo import RequestQueue
from aggregator.settings import AggregatorSettings
from aggregator.simclock import ServerClock
from base.errors import ConfigError
from contracts.deployment import Deployment
from contracts.sender import Sender
from contracts.settings import ChainSettings

log = logging.getLogger(__name__)


def policy_from(settings: AggregatorSettings) -> DispatchPolicy:
    return DispatchPolicy(
        acceptance_share=settings.acceptance_share,
        baseline_margin_s=settings.baseline_margin_s,
        settle_batch=settings.settle_batch,
        booking=BookingPolicy(
            enabled=settings.overbook, window=settings.overbook_window, prior_wh=settings.overbook_prior_wh
        ),
    )


def chain_services(settings: AggregatorSettings) -> tuple[list[Service], Deployment, Sender, Dispatcher]:
    """Connects to the chain named by the settings and builds chain sync, the dispatcher and the
    answer relay (which shares the aggregator's sender: one nonce counter per account)."""
    if not settings.rpc_url or settings.aggregator_key is None:
        raise ConfigError(
            "the dispatcher needs AGGREGATOR_RPC_URL and AGGREGATOR_AGGREGATOR_KEY (the account set as "
            "aggregator at deployment); set AGGREGATOR_CHAIN_SERVICES=false to run without the chain"
        )
    d = Deployment.load(settings.manifest, ChainSettings(), rpc_url=settings.rpc_url)
    sender = Sender(d.chain, settings.aggregator_key.get_secret_value())
    onchain = d.registry.aggregator()
    if onchain.lower() != sender.address.lower():
        raise ConfigError(
            f"AGGREGATOR_AGGREGATOR_KEY is {sender.address} but the contracts' aggregator is {onchain}: "
            "use that account's key or redeploy with --aggregator"
        )
    policy = policy_from(settings)
    sync = ChainSync(d, poll_s=settings.sync_poll_s, confirmations=settings.sync_confirmations)
    dispatcher = Dispatcher(d, sender, policy, block_time_s=settings.block_time_s)
    relay = AnswerRelay(
        d,
        sender,
        every_s=settings.relay_every_s,
        batch_gas=settings.relay_batch_gas,
        max_pending=settings.relay_max_pending,
    )
    return [sync, dispatcher, relay], d, sender, dispatcher


def request_control(
    queue: RequestQueue, d: Deployment, sender: Sender, clock: ServerClock, dispatcher: Dispatcher
) -> RequestControl:
    return ChainRequestControl(queue, d, sender, clock, dispatcher.policy, lambda: dispatcher.block_time_s)


def build_app(settings: AggregatorSettings) -> FastAPI:
    """The aggregator app with its chain services when the chain is configured (the `serve` path)."""
    from aggregator.app import create_app

    if not settings.chain_services:
        return create_app(settings)
    if not settings.rpc_url or settings.aggregator_key is None:
        log.warning(
            "no chain sync and no dispatcher: set AGGREGATOR_RPC_URL and AGGREGATOR_AGGREGATOR_KEY to settle "
            "requests on chain (requests stay queued; readings are stored)"
        )
        return create_app(settings)
    from aggregator.openadr.vtn import OpenadrService

    services, d, sender, dispatcher = chain_services(settings)
    app = create_app(settings, services=[*services, OpenadrService()])
    ctx = app.state.ctx
    ctx.control = request_control(ctx.requests, d, sender, ctx.clock, dispatcher)
    ctx.relay = next((s for s in services if isinstance(s, AnswerRelay)), None)
    return app
