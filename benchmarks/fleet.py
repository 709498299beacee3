"""`flexsim bench fleet`: what a fleet of prosumer processes costs on this machine.

One run: start anvil and deploy (or take `--rpc-url` and `--manifest`), start the aggregator service
(`python -m aggregator`, SQLite in a temporary folder; or take `--aggregator-url` with the
`--database-url` of its store and its `--admin-token`, to read its simulated clock), warm the profile
cache, create and fund `prosumers` accounts (key files; from CHAIN_FUNDER_KEY, or anvil's first dev key
on a local anvil), and start `python -m prosumer fleet`: one preloaded parent that forks one process per
prosumer. Once every prosumer is streaming, for `seconds`:

- memory of each prosumer process (psutil `memory_full_info`: USS = pages only it holds, what one more
  prosumer costs; RSS; PSS), sampled at the middle and the end of the period;
- CPU per reading: CPU time of the prosumer processes (and of the aggregator) over the period divided
  by the readings taken in it;
- on time: each reading taken in the period (its real time from its simulated timestamp through the
  shared clock) against the real time the aggregator stored it (`received_at`); readings never stored
  count as late.

Then the fleet gets SIGTERM (each prosumer flushes and exits 0) and everything started is stopped.
"""

from __future__ import annotations

import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
from eth_account import Account

from aggregator.settings import AggregatorSettings
from base.errors import ConfigError, FlexsimError
from base.settings_env import env_name, to_env
from benchmarks.fleet_result import (
    FleetCpu,
    FleetMemory,
    FleetReadings,
    FleetResult,
    FleetSetup,
    FleetTargets,
    MeanMax,
    ParentMemory,
    ReadingLatency,
)
from benchmarks.ingest import start_service, stop_service
from benchmarks.machine import machine_info
from benchmarks.options import FleetOptions as Options
from benchmarks.targets import AtLeast, AtMost
from contracts.anvil import Anvil, AnvilConfig, dev_keys, free_port, start_anvil
from domain.clock import SimClock
from prosumer.settings import ProsumerSettings

TARGETS = {"uss_mb_max": 12.0, "prosumer_cpu_ms_per_reading": 1.0, "share_within_2s": 0.99}
ON_TIME_S = 2.0
FUND_WEI = 10**17
SIM_START = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
Progress = Callable[[str], None]


@dataclass
class World:
    rpc_url: str
    manifest: Path
    aggregator_url: str
    database_url: str
    clock: SimClock
    funder_key: str
    enrolment_token: str  # for the aggregator's consent to the prosumers' contracts
    ws_url: str | None = None  # where the prosumers subscribe to the market's events (else polled)


def run(opts: Options, progress: Progress = lambda _m: None) -> FleetResult:
    if opts.aggregator_url and not (opts.database_url and opts.admin_token):
        raise ConfigError(
            "with --aggregator-url also give --database-url (its store: received_at is read from it) "
            "and --admin-token (to read its simulated clock)"
        )
    if bool(opts.rpc_url) != bool(opts.manifest):
        raise ConfigError("give --rpc-url and --manifest together (or neither: the bench starts anvil)")
    workdir = Path(tempfile.mkdtemp(prefix="flexsim-fleet-"))
    anvil: Anvil | None = None
    service: subprocess.Popen[bytes] | None = None
    try:
        if opts.rpc_url is None:
            progress("starting anvil and deploying the contracts")
            anvil = start_anvil(AnvilConfig(accounts=2))
            rpc_url, (manifest, aggregator_key) = anvil.rpc_url, _deploy(anvil.rpc_url, workdir)
        else:
            assert opts.manifest is not None
            rpc_url, manifest, aggregator_key = opts.rpc_url, opts.manifest, None
        world, service = _aggregator(opts, rpc_url, manifest, aggregator_key, workdir, progress)
        if anvil is not None:  # anvil serves WebSocket on its HTTP port; elsewhere CHAIN_WS_URL, if set
            world.ws_url = "ws" + anvil.rpc_url.removeprefix("http")
        progress(f"warming the profile cache for {opts.prosumers} prosumers")
        _warm_profiles(opts)
        _fund(opts, world, workdir / "state", progress)
        return _measure(opts, world, workdir, progress)
    finally:
        if service is not None:
            stop_service(service)
        if anvil is not None:
            anvil.stop()


def _deploy(rpc_url: str, workdir: Path) -> tuple[Path, str]:
    """Deploys; returns the manifest and the aggregator's key (the deployer's, here)."""
    from contracts.deploy import write_manifest
    from simulation.bootstrap import deploy_new

    d, deployer = deploy_new(rpc_url)
    assert d.artifacts is not None
    return write_manifest(d, d.artifacts, workdir / "manifest.json"), "0x" + bytes(deployer.account.key).hex()


def _aggregator(
    opts: Options,
    rpc_url: str,
    manifest: Path,
    aggregator_key: str | None,
    workdir: Path,
    progress: Progress,
) -> tuple[World, subprocess.Popen[bytes] | None]:
    from contracts.settings import ChainSettings

    chain_settings = ChainSettings()
    funder = chain_settings.funder_key.get_secret_value() if chain_settings.funder_key else None
    if opts.aggregator_url:
        given = ProsumerSettings().enrolment_token
        enrolment = given.get_secret_value() if given else None
        if not enrolment:
            raise ConfigError(
                "with --aggregator-url set PROSUMER_ENROLMENT_TOKEN to that aggregator's enrolment "
                "credential: the prosumers need its consent to register"
            )
        assert opts.database_url is not None
        reply = httpx.get(
            opts.aggregator_url + "/admin/clock", headers={"Authorization": f"Bearer {opts.admin_token}"}
        )
        if reply.status_code != 200:
            raise FlexsimError(f"cannot read the aggregator's clock: {reply.status_code} {reply.text}")
        c = reply.json()
        clock = SimClock(datetime.fromisoformat(c["sim_start"]), c["speed"], c["real_start_epoch"])
        world = World(
            rpc_url, manifest, opts.aggregator_url, opts.database_url, clock, funder or "", enrolment
        )
        return _with_funder(world), None
    if aggregator_key is None:
        raise ConfigError(
            "with --rpc-url and --manifest also give --aggregator-url: the bench cannot sign the "
            "aggregator's consent for a deployment it did not make"
        )
    enrolment = secrets.token_urlsafe(32)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    clock = SimClock(SIM_START, 1.0, time.time())
    database_url = f"sqlite:///{workdir / 'aggregator.db'}"
    settings = {
        "port": port,
        "database_url": database_url,
        "rpc_url": rpc_url,
        "manifest": manifest,
        "chain_services": False,
        "registry_cache_ttl_s": 60,
        "aggregator_key": aggregator_key,
        "enrolment_token": enrolment,
        **_clock_values(clock),
    }
    env = {**os.environ, **to_env(AggregatorSettings, settings)}
    progress(f"starting the aggregator at {url} (SQLite)")
    service = start_service(env, workdir / "aggregator.log", url)
    return _with_funder(World(rpc_url, manifest, url, database_url, clock, funder or "", enrolment)), service


def _with_funder(world: World) -> World:
    if world.funder_key:
        return world
    from contracts.chain import Chain
    from simulation.bootstrap import is_anvil

    if not is_anvil(Chain(world.rpc_url)):
        raise ConfigError("set CHAIN_FUNDER_KEY to a funded key: the prosumer accounts need gas (R14)")
    world.funder_key = dev_keys(1)[0]
    return world


def _clock_values(clock: SimClock) -> dict[str, Any]:
    """The clock as the aggregator's and the prosumers' `sim_*` settings."""
    return {
        "sim_start": clock.sim_start,
        "sim_speed": clock.speed,
        "sim_real_start_epoch": clock.real_start_epoch_s,
    }


def _warm_profiles(opts: Options) -> None:
    """Computes the missing PV and load profiles here, so the fleet's parent only reads `.npz` files."""
    from domain.der import make_der
    from domain.population import sample_entry
    from domain.profiles import Profiles

    profiles = Profiles()
    for i in range(opts.prosumers):
        make_der(sample_entry(opts.seed, i), profiles)


def _fund(opts: Options, world: World, state_dir: Path, progress: Progress) -> None:
    """Creates each prosumer's key file (where the fleet finds it) and funds the account for gas."""
    from contracts.chain import Chain
    from contracts.sender import Sender
    from prosumer.identity import load_or_create_key

    keys = [load_or_create_key(state_dir / f"prosumer-{opts.seed}-{i}.key") for i in range(opts.prosumers)]
    chain = Chain(world.rpc_url)
    funder = Sender(chain, world.funder_key)
    progress(f"funding {len(keys)} prosumer accounts from {funder.address}")
    hashes = [funder.submit_value(Account.from_key(k).address, FUND_WEI) for k in keys]
    for h in hashes:
        funder.wait(h)


def _measure(opts: Options, world: World, workdir: Path, progress: Progress) -> FleetResult:
    prosumers = {
        "state_dir": workdir / "state",
        "seed": opts.seed,
        "aggregator_url": world.aggregator_url,
        "rpc_url": world.rpc_url,
        "manifest": world.manifest,
        "enrolment_token": world.enrolment_token,
        "reading_interval_s": opts.interval_s,
        "ws_url": world.ws_url,
        **_clock_values(world.clock),
    }
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", **to_env(ProsumerSettings, prosumers)}
    for field in ("key", "key_file"):  # one key per prosumer: the fleet makes them in the state folder
        env.pop(env_name(ProsumerSettings, field), None)
    log_path = workdir / "fleet.log"
    cmd = [sys.executable, "-m", "prosumer", "fleet", "--count", str(opts.prosumers), "--first", "0"]
    progress(f"starting {opts.prosumers} prosumer processes (python -m prosumer fleet)")
    started = time.monotonic()
    with log_path.open("wb") as log:
        fleet = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        streaming = _wait_streaming(world.database_url, opts.prosumers, fleet, log_path)
        startup_s = time.monotonic() - started
        if streaming < opts.prosumers:  # measured anyway: where it stops is the figure
            progress(
                f"only {streaming} of {opts.prosumers} streaming after {startup_s:.0f} s; measuring anyway"
            )
        else:
            progress(f"all {streaming} streaming after {startup_s:.1f} s; measuring for {opts.seconds:g} s")
        result = _period(opts, world, fleet, startup_s, progress)
        if streaming < opts.prosumers:
            result.setup.streaming_at_start = streaming
        return result
    finally:
        _stop_fleet(fleet)


def _wait_streaming(database_url: str, n: int, fleet: subprocess.Popen[bytes], log_path: Path) -> int:
    """How many prosumers stream once all do, or at the deadline (the machine may not start them all
    in time: the benchmark then measures what runs and says so)."""
    deadline = time.monotonic() + 60.0 + n * 0.5
    while time.monotonic() < deadline:
        if fleet.poll() is not None:
            raise FlexsimError(f"the prosumer fleet exited with {fleet.returncode}; see {log_path}")
        if (streaming := _streaming(database_url)) >= n:
            return streaming
        time.sleep(1.0)
    return _streaming(database_url)


def _streaming(database_url: str) -> int:
    from sqlalchemy import text

    from aggregator.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT COUNT(DISTINCT prosumer) FROM readings")).scalar_one())
    finally:
        engine.dispose()


def _period(
    opts: Options, world: World, fleet: subprocess.Popen[bytes], startup_s: float, progress: Progress
) -> FleetResult:
    parent = psutil.Process(fleet.pid)
    children = parent.children()
    others = _others(world)
    time.sleep(2.0)  # let the start-up transactions settle
    t0 = time.time()
    cpu0 = _cpu(children), _cpu(others)
    time.sleep(opts.seconds / 2)
    mem = [_memory(children)]
    time.sleep(max(0.0, t0 + opts.seconds - time.time()))
    t1 = time.time()
    cpu1 = _cpu(children), _cpu(others)
    alive = sum(1 for c in children if c.is_running())
    mem.append(_memory(children))
    parent_mem = parent.memory_full_info()
    progress("stopping the fleet (SIGTERM) and counting what was stored")
    fleet_exit = _stop_fleet(fleet)
    time.sleep(1.0)
    taken_real = opts.prosumers * opts.seconds / opts.interval_s
    latency = _latencies(world, t0, t1)
    expected = max(int(round(taken_real)), latency.size)
    within = int((latency <= ON_TIME_S).sum())
    cpu_prosumers = cpu1[0] - cpu0[0]
    cpu_others = {k: cpu1[1][k] - cpu0[1][k] for k in cpu0[1]}
    uss = [m[0] for m in mem[-1]] or [0.0]
    rss = [m[1] for m in mem[-1]] or [0.0]
    pss = [m[2] for m in mem[-1]] or [0.0]
    measured_uss = round(max(max(m[0] for m in sample) for sample in mem if sample), 1)
    share = round(within / expected, 4) if expected else 0.0
    per_reading = {
        f"{k}_ms_per_reading": round(1000 * v / expected, 3) if expected else None
        for k, v in cpu_others.items()
    }
    return FleetResult(
        benchmark="fleet",
        machine=machine_info(),
        setup=FleetSetup(
            prosumers=opts.prosumers,
            reading_interval_s=opts.interval_s,
            measured_s=round(t1 - t0, 1),
            startup_s=round(startup_s, 1),
            fleet="python -m prosumer fleet: one preloaded parent (imports, population, profiles, "
            "contracts, setup paths warmed; gc.freeze) forks one process per prosumer, each with its "
            "own account, chain connection and HTTP client",
            fleet_exit_code=fleet_exit,
        ),
        memory_mb=FleetMemory(
            uss=_stats(uss),
            rss=_stats(rss),
            pss=_stats(pss),
            uss_at_half_period=_stats([m[0] for m in mem[0]] or [0.0]),
            fleet_parent=ParentMemory(uss=_mb(parent_mem.uss), rss=_mb(parent_mem.rss)),
        ),
        cpu=FleetCpu.model_validate(
            {
                "prosumers_ms_per_reading": round(1000 * cpu_prosumers / expected, 3) if expected else None,
                "prosumers_share_of_one_core": round(cpu_prosumers / (t1 - t0), 3),
                **per_reading,  # the aggregator's and anvil's, when they run on this machine
            }
        ),
        readings=FleetReadings(
            taken=expected,
            stored=int(latency.size),
            within_2s=within,
            latency_s=ReadingLatency(
                **{
                    q: round(float(np.percentile(latency, p)), 3) if latency.size else None
                    for q, p in (("p50", 50), ("p99", 99), ("max", 100))
                }
            ),
        ),
        targets=FleetTargets(
            prosumer_processes=AtLeast.of(alive, opts.prosumers),
            uss_mb_max=AtMost.of(measured_uss, TARGETS["uss_mb_max"]),
            prosumer_cpu_ms_per_reading=AtMost.of(
                round(1000 * cpu_prosumers / expected, 3) if expected else 0.0,
                TARGETS["prosumer_cpu_ms_per_reading"],
            ),
            share_within_2s=AtLeast.of(share, TARGETS["share_within_2s"]),
        ),
    )


def _others(world: World) -> dict[str, psutil.Process]:
    """The aggregator and anvil processes this bench talks to, when they run on this machine."""
    found: dict[str, psutil.Process] = {}
    for port_url, name in ((world.aggregator_url, "aggregator"), (world.rpc_url, "anvil")):
        port = int(port_url.rsplit(":", 1)[1].split("/")[0])
        for conn in psutil.net_connections("tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                found[name] = psutil.Process(conn.pid)
    return found


def _cpu(procs: list[psutil.Process] | dict[str, psutil.Process]) -> Any:
    def seconds(p: psutil.Process) -> float:
        try:
            t = p.cpu_times()
            return float(t.user + t.system)
        except psutil.Error:
            return 0.0

    if isinstance(procs, dict):
        return {k: seconds(p) for k, p in procs.items()}
    return sum(seconds(p) for p in procs)


def _memory(procs: list[psutil.Process]) -> list[tuple[float, float, float]]:
    out = []
    for p in procs:
        try:
            m = p.memory_full_info()
        except psutil.Error:
            continue
        out.append((_mb(m.uss), _mb(m.rss), _mb(m.pss)))
    return out


def _latencies(world: World, t0: float, t1: float) -> Any:
    """Seconds from taken to stored of every reading taken in [t0, t1)."""
    from aggregator.db import Database
    from aggregator.store import ReadingFilter, ReadingStore

    clock = world.clock
    f = ReadingFilter(start=clock.sim_time(t0).timestamp(), end=clock.sim_time(t1).timestamp())
    db = Database.connect(world.database_url)
    try:
        rows = ReadingStore(db).query(f, 10_000_000)
    finally:
        db.dispose()
    sim0 = clock.sim_start.timestamp()
    taken = np.array([clock.real_start_epoch_s + (r.t - sim0) / clock.speed for r in rows])
    stored = np.array([r.received_at for r in rows])
    return stored - taken if rows else np.zeros(0)


def _stop_fleet(fleet: subprocess.Popen[bytes]) -> int | None:
    if fleet.poll() is None:
        fleet.send_signal(signal.SIGTERM)
        try:
            fleet.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(fleet.pid, signal.SIGKILL)
            fleet.wait()
    return fleet.returncode


def _stats(values: list[float]) -> MeanMax:
    return MeanMax(mean=round(statistics.fmean(values), 1), max=round(max(values), 1))


def _mb(n: int) -> float:
    return round(n / 2**20, 1)
