"""What earlier runs left on a reused deployment, cleared before a new run starts.

A run's prosumers stay registered when it ends (their processes stop; their contracts run for 30
simulated days). On a reused deployment their flexibility would still count in the fair shares of
the next run's requests, so the aggregator terminates every registration still in force. A request
left open by an interrupted run would block the next one (one request at a time): it is cancelled
when its window has not started yet, else closed (`closeRequest`) once the contract allows it (its
window's end plus a grace); when that is too far away, the run stops and says when to come back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from contracts.anvil import chain_time
from contracts.deployment import Deployment
from contracts.errors import ChainError
from contracts.events import REGISTRY, EventReader
from contracts.sender import Sender
from contracts.types import RequestStatus

log = logging.getLogger(__name__)

CLOSE_WAIT_MAX_S = 300  # wait at most this long (real s) for a leftover request to become closable


def clear_leftovers(d: Deployment, aggregator: Sender, progress: Callable[[str], None]) -> None:
    close_open_request(d, aggregator, progress)
    terminate_registrations(d, aggregator, progress)


def close_open_request(d: Deployment, aggregator: Sender, progress: Callable[[str], None]) -> None:
    rid = d.market.current_request_id()
    if rid == 0:
        return
    info = d.market.request(rid)
    if info.status != RequestStatus.OPEN:
        return
    now = chain_time(d.chain.w3)
    if now < info.start:
        progress(f"cancelling request {rid}, left open by an earlier run before its window started")
        d.market.cancel_request(aggregator, rid)
        return
    closable = d.market.closable_at(rid)
    if closable - now > CLOSE_WAIT_MAX_S:
        when = datetime.fromtimestamp(closable, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        raise ChainError(
            f"request {rid} on market {d.market.address} was left open by an earlier run; it can be closed "
            f"from {when} (its window's end plus a grace): run again after that, or deploy anew with "
            "`flexsim run --redeploy`"
        )
    if closable > now:
        progress(f"request {rid} was left open by an earlier run: waiting {closable - now} s to close it")
        time.sleep(closable - now + 1)
    progress(f"closing request {rid}, left open by an earlier run (deliveries not recorded stay unpaid)")
    d.market.close_request(aggregator, rid)


def registered(d: Deployment) -> list[str]:
    """Every account that ever registered on this deployment, in order of first registration."""
    events = EventReader(d, (REGISTRY,), names={"Registered"}).read(d.manifest.block)
    return list(dict.fromkeys(str(e.args["prosumer"]) for e in events))


def terminate_registrations(d: Deployment, aggregator: Sender, progress: Callable[[str], None]) -> int:
    """Terminates every registration still in force; returns how many."""
    if d.registry.totals()[2] == 0:
        return 0
    stale = [p for p in registered(d) if d.registry.registration_of(p).terms.capacity_w != 0]
    if not stale:
        return 0
    progress(f"terminating {len(stale)} registrations left by earlier runs on this deployment")
    fn = d.registry.contract.functions.terminate
    hashes = [aggregator.submit(fn(p)) for p in stale]
    for h in hashes:
        aggregator.wait(h, "terminate")
    return len(stale)
