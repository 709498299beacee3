"""The prosumer process: one DER, its own account and chain connection, readings to the aggregator.

    start: key -> model (`domain.population.sample_entry(seed, index)`) -> chain: funds check (R14),
           registration (R2) -> resume the open request -> chain worker thread + uplink thread
    loop:  at each reading time, step the DER on the simulated clock (modulated inside a committed
           window), hand the reading to the uplink's bounded buffer; never wait for the network
    stop:  SIGTERM / SIGINT: stop reading, flush the buffer for up to `flush_timeout_s`, save the meter,
           exit 0. SIGUSR1: remove the DER contract on chain first, then stop.

Threads: the reading loop (main), `chain` (events, answers, contract upkeep; waits for receipts) and
`uplink` (HTTP). A slow chain or an unreachable aggregator never delays a reading.
"""

from __future__ import annotations

import bisect
import gc
import json
import logging
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TypeVar

import numpy as np
from eth_account import Account

from contracts.deployment import Deployment
from contracts.errors import ContractRevert, RpcUnavailable, TransactionFailed
from contracts.settings import ChainSettings
from domain.clock import SimClock
from domain.der import make_der, warm_up
from domain.outages import Outage, OutageModel, sample_outages
from domain.population import PopulationEntry, Stream, sample_entry
from domain.profiles import Profiles
from domain.realism import draw_traits
from prosumer.chain_side import ChainSide
from prosumer.commands import CommandInbox, clock_from, last_clock, outage_from, terms_from
from prosumer.enrolment import ConsentUnavailable
from prosumer.evidence import EvidenceKeeper
from prosumer.identity import load_or_create_key, parse_key
from prosumer.memory import private_kb
from prosumer.meter import Meter, next_reading_time
from prosumer.settings import ProsumerSettings
from prosumer.setup_gate import SetupGate
from prosumer.uplink import ReadingBuffer, Uplink
from prosumer.worker import ChainWorker, Rngs

log = logging.getLogger(__name__)

OUTAGE_HORIZON_S = 2 * 366 * 86_400.0  # outages are drawn for two simulated years from the clock's start
SAVE_EVERY_S = 30.0
REMOVE_TIMEOUT_S = 60.0
SETUP_BACKOFF_START_S = 1.0
SETUP_BACKOFF_MAX_S = 30.0
MEMORY_LOG_AFTER = 60  # readings after which the process logs its private memory once more
T = TypeVar("T")


class Stopped(Exception):
    """Asked to stop before its setup was done."""


def make_clock(settings: ProsumerSettings, now: float) -> SimClock:
    """The shared simulated clock; simulated time is real time when none is configured."""
    real_start = settings.sim_real_start_epoch if settings.sim_real_start_epoch is not None else now
    start = settings.sim_start or datetime.fromtimestamp(real_start, UTC)
    return SimClock(start, settings.sim_speed, real_start)


def resolve_key(settings: ProsumerSettings) -> str:
    if settings.key is not None:
        return parse_key(settings.key.get_secret_value(), "PROSUMER_KEY")
    return load_or_create_key(settings.resolved_key_file())


AUTO_INDEX_SPACE = 1_000_000


def index_of(address: str) -> int:
    """The population index of a prosumer whose index was not given: from its address, so a replica
    keeps its DER across restarts and replicas (almost surely) differ."""
    return int(address, 16) % AUTO_INDEX_SPACE


def behaviour_streams(entry: PopulationEntry) -> list[np.random.SeedSequence]:
    """The behaviour stream's children: outages, decisions, renegotiation, forecast errors."""
    return entry.seed_sequence(Stream.BEHAVIOUR).spawn(4)


def outage_schedule(
    entry: PopulationEntry, rate_per_hour: float, mean_duration_s: float, sim_start: datetime
) -> list[Outage]:
    """The prosumer's outages (R12), from its own stream: the same in every process that asks."""
    return sample_outages(
        OutageModel(rate_per_hour, mean_duration_s),
        sim_start,
        OUTAGE_HORIZON_S,
        np.random.default_rng(behaviour_streams(entry)[0]),
    )


class Agent:
    def __init__(
        self,
        settings: ProsumerSettings,
        profiles: Profiles | None = None,
        entry: PopulationEntry | None = None,
        wall: Callable[[], float] = time.time,
        deployment: Deployment | None = None,
        chain_settings: ChainSettings | None = None,
        gate: SetupGate | None = None,
    ) -> None:
        self.settings = settings
        self.gate = gate  # a fleet's bound on how many of its prosumers set up at once
        self.chain_settings = chain_settings  # a fleet's parent read them before it forked
        self.profiles = profiles
        self.deployment = deployment  # bound by a fleet's parent before it forked (ChainSide.connect)
        self.entry = entry or (
            None
            if settings.index is None
            else sample_entry(settings.seed, settings.index, settings.population())
        )
        self._wall = wall
        self.stop_event = threading.Event()
        self._remove_asked = False
        self.worker: ChainWorker | None = None
        self.inbox: CommandInbox | None = None

    # ------------------------------------------------------------------ signals

    def install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGUSR1, self._on_remove)

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop_event.set()

    def _on_remove(self, signum: int, frame: FrameType | None) -> None:
        self._remove_asked = True
        if self.worker is not None:
            self.worker.request_removal()
        self.stop_event.set()

    # ------------------------------------------------------------------ the process

    def run(self) -> int:
        """Runs until stopped; 0 after a clean stop (also while still setting up). Setup errors that
        waiting cannot fix raise `FlexsimError`; a busy chain or aggregator is waited out."""
        try:
            return self._run()
        except Stopped as exc:
            log.info("%s", exc)
            return 0
        finally:
            if self.gate is not None:
                self.gate.release()

    def _run(self) -> int:
        s = self.settings
        if self.stop_event.is_set():  # stopped before it started (a fleet stopping while it forks)
            return self._remove_only() if self._remove_asked else 0
        if self.gate is not None and not self.gate.acquire(self.stop_event):
            raise Stopped("stopped while waiting for its turn to set up")
        key = resolve_key(s)
        if self.entry is None:
            self.entry = sample_entry(s.seed, index_of(Account.from_key(key).address), s.population())
        entry = self.entry
        clock = last_clock(s.commands_file()) or make_clock(s, self._wall())  # the console may have moved it
        if clock.speed != s.sim_speed:
            s = self.settings = s.model_copy(update={"sim_speed": clock.speed})
        streams = behaviour_streams(entry)
        outages = outage_schedule(entry, s.outage_rate_per_hour, s.outage_mean_duration_s, clock.sim_start)
        traits = draw_traits(s.realism, entry.kind, entry.terms.capacity_w, entry.rng(Stream.TRAITS))
        der = make_der(entry, self.profiles or Profiles(s.profile_cache_dir), outages, s.realism, traits)
        warm_up(der, clock.sim_time(self._wall()), entry.rng(Stream.WARM_UP))
        chain = self._patiently(
            "connecting to the chain", lambda: ChainSide.connect(s, key, self.deployment, self.chain_settings)
        )
        owner = f"{chain.address}@{chain.d.registry.address}"  # the counter belongs to this DER contract
        meter = Meter(
            der, clock, entry.rng(Stream.RUNTIME), load_energy(s.meter_file(), owner), entry.rng(Stream.METER)
        )
        log.info(
            "prosumer %d of seed %d: %s, %d W, account %s, %s (%s)",
            entry.index, s.seed, entry.kind.label, entry.terms.capacity_w, chain.address,
            traits.kind_of_prosumer, traits,
        )  # fmt: skip
        self._patiently("checking its funds", chain.ensure_funded)
        model = entry.terms
        terms, expiry = self._patiently("registering", lambda: chain.ensure_registered(model))
        meter.set_terms(terms)
        rngs = Rngs(*(np.random.default_rng(st) for st in streams[1:4]))
        self.worker = ChainWorker(chain, meter, s, model, terms, expiry, outages, rngs, self._wall)
        if self._remove_asked:
            self.worker.request_removal()
        self._patiently("resuming the open request", self.worker.resume)
        self.inbox = CommandInbox(s.commands_file(), _size(s.commands_file()))  # only commands from now on
        buffer = ReadingBuffer(s.uplink_buffer)
        uplink = Uplink(
            s.aggregator_url,
            key,
            buffer,
            s.uplink_batch,
            s.http_timeout_s,
            every=s.uplink_every,
            hold_s=s.uplink_hold_s,
        )
        if s.answers == "relayed":
            self.worker.relay = uplink  # signed answers go through the uplink's aggregator session
        if s.availability_every_s > 0:
            uplink.declare_availability(
                self.worker.availability,
                s.availability_every_s,
                s.availability_refresh_s,
                s.availability_tolerance,
            )
        self.worker.evidence = EvidenceKeeper(
            chain, key, clock, uplink.acked, uplink.authed, s.readings_root_margin_s, self._wall
        )
        gc.collect()
        gc.freeze()  # its setup objects (contracts, ABI codecs, clients) stay out of every later collection
        log.info("memory: %s kB private once set up", private_kb())
        if self.gate is not None:
            self.gate.release()  # the next prosumer of the fleet sets up
        uplink.start()
        self.worker.start()
        try:
            self.loop(meter, buffer, owner)
        finally:
            self.shutdown(meter, uplink, owner)
        return 0 if not self._remove_asked or self.worker.removed.is_set() else 1

    def _patiently(self, what: str, step: Callable[[], T]) -> T:
        """Runs a setup step, waiting out a busy or unreachable chain or aggregator: backs off (1 s
        doubling to 30 s) and tries again until it succeeds or the prosumer is stopped (`Stopped`).
        Errors that waiting cannot fix (no funds, wrong chain, a revert, bad settings) propagate."""
        delay = SETUP_BACKOFF_START_S
        while True:
            try:
                return step()
            except (RpcUnavailable, TransactionFailed, ConsentUnavailable) as exc:
                if self.stop_event.is_set():
                    raise Stopped(f"stopped while {what}") from None
                log.warning("%s: %s; trying again in %.0f s", what, exc, delay)
                if self.stop_event.wait(delay):
                    raise Stopped(f"stopped while {what}") from None
                delay = min(delay * 2, SETUP_BACKOFF_MAX_S)

    def _remove_only(self) -> int:
        """Asked to leave before it started: removes its DER contract if one is registered, then exits."""
        chain = ChainSide.connect(self.settings, resolve_key(self.settings))
        try:
            chain.remove()
        except ContractRevert as exc:  # e.g. NotRegistered: nothing to remove
            log.info("removal before start: %s", exc)
        return 0

    def loop(self, meter: Meter, buffer: ReadingBuffer, owner: str) -> None:
        """Takes a reading at every reading time until stopped."""
        interval = self.settings.reading_interval_s
        planned = self._wall()
        saved = planned
        taken = 0
        while not self.stop_event.is_set():
            now = self._wall()
            if now < planned:
                self.stop_event.wait(planned - now)
                continue
            self.apply_commands(meter, now)
            nxt = next_reading_time(planned, now, interval, meter.edges())
            buffer.put(meter.read(planned, nxt))
            planned = nxt
            taken += 1
            if taken == MEMORY_LOG_AFTER:
                log.info("memory: %s kB private after %d readings", private_kb(), taken)
            if now - saved >= SAVE_EVERY_S:
                save_energy(self.settings.meter_file(), meter.energy_wh, owner)
                saved = now

    def apply_commands(self, meter: Meter, now: float) -> None:
        """The driver's new commands (`prosumer.commands`): an outage from now, new terms."""
        if self.inbox is None or self.worker is None:
            return
        for command in self.inbox.poll():
            outage = outage_from(command, meter.clock.sim_time(now))
            if outage is not None:
                meter.der.add_outage(outage)
                bisect.insort(self.worker.outages, outage)
                log.info("incident: outage from %s to %s (console)", outage.start, outage.end)
            terms = terms_from(command, self.worker.terms)
            if terms is not None:
                self.worker.renegotiate_to(terms)
                log.info("renegotiation to %s asked (console)", terms)
            clock = clock_from(command)
            if clock is not None:
                meter.clock = clock
                self.settings = self.settings.model_copy(update={"sim_speed": clock.speed})
                self.worker.settings = self.worker.chain.settings = self.settings
                log.info(
                    "simulated clock: %s at %.3f, %gx (console)",
                    clock.sim_start,
                    clock.real_start_epoch_s,
                    clock.speed,
                )

    def shutdown(self, meter: Meter, uplink: Uplink, owner: str) -> None:
        worker = self.worker
        assert worker is not None
        if self._remove_asked:
            log.info("removing the DER contract before stopping")
            worker.request_removal()
            if not worker.removed.wait(REMOVE_TIMEOUT_S):
                log.error("the DER contract could not be removed within %.0f s", REMOVE_TIMEOUT_S)
        worker.stop()
        left = uplink.stop(self.settings.flush_timeout_s)
        save_energy(self.settings.meter_file(), meter.energy_wh, owner)
        log.info("stopped: %d readings sent, %d unsent", uplink.sent, left)


# ---------------------------------------------------------------------- meter state


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def load_energy(path: Path, owner: str) -> float:
    """The meter's energy counter saved by the last run of the same account and deployment (else 0)."""
    try:
        state = json.loads(path.read_text())
        return float(state["energy_wh"]) if state.get("owner") == owner else 0.0
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return 0.0


def save_energy(path: Path, energy_wh: float, owner: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump({"owner": owner, "energy_wh": energy_wh}, f)
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("cannot save the meter state to %s: %s", path, exc)
