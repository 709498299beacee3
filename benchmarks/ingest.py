"""`flexsim bench ingest`: readings ingest through the real aggregator service, against its store's ceiling.

One run: start anvil, deploy the contracts, register `prosumers` accounts on the Registry (funded with
`anvil_setBalance`), start the aggregator (`python -m aggregator`, uvicorn on loopback) against that
chain, and log every prosumer in for real (signed nonce, registry check). Then, in the same run:

1. single: every prosumer is a client posting one reading per request, back to back, for `seconds`
   (closed loop, HTTP keep-alive, one connection each); readings/s and latency percentiles;
2. batch: `batch_clients` clients post batches of `batch_size` readings; readings/s;
3. bare: the framework's ceiling, the same single-reading load from the same clients against a
   FastAPI app served the same way whose routes do no work (`benchmarks.bare`), with the service
   stopped;
4. raw: the store's ceiling, `executemany` of the same kind of rows in transactions of `batch_size`
   rows into a scratch table with the readings schema and indexes, in the same database, with the
   service stopped.

The targets are ratios to those ceilings measured in the same run (absolute figures move with the
machine): single readings >= 0.5 of the bare framework, batched >= 0.8 of the raw store, nothing lost.

Every acknowledged reading is then counted in the database (nothing lost). The load generator is
aiohttp on one event loop (uvloop when installed) in this process; the service gets the other core.
"""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import numpy as np
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from aggregator.settings import AggregatorSettings
from base.errors import FlexsimError
from base.settings_env import to_env
from benchmarks.ingest_result import (
    BatchPhase,
    IngestResult,
    IngestTargets,
    Integrity,
    LatencyMs,
    Ratios,
    RawStore,
    Service,
    SinglePhase,
    Writer,
)
from benchmarks.machine import machine_info
from benchmarks.options import IngestOptions as Options
from benchmarks.targets import AtLeast, AtMost
from contracts.anvil import AnvilConfig, free_port, start_anvil
from contracts.deploy import write_manifest
from contracts.sender import Sender
from contracts.types import SourceKind, Terms

TARGETS = {"single_vs_bare": 0.5, "batch_vs_raw": 0.8, "lost": 0}
TERMS = Terms(SourceKind.SOLAR, 10_000, 30_000, 2_500, 2_500, 3_600, 2 * 10**17, 15 * 10**16)
Progress = Callable[[str], None]


@dataclass
class Phases:
    single: SinglePhase
    batch: BatchPhase
    writer: Writer
    tokens: list[str]


def register_fleet(
    rpc_url: str, n: int, workdir: Path, progress: Progress
) -> tuple[Path, list[LocalAccount]]:
    """Deploys and registers `n` fresh accounts as active prosumers; returns the manifest and accounts."""
    from simulation.bootstrap import deploy_new

    deployment, deployer = deploy_new(rpc_url, progress=progress)  # the deployer is also the aggregator
    assert deployment.artifacts is not None
    manifest = write_manifest(deployment, deployment.artifacts, workdir / "manifest.json")
    accounts = [Account.create() for _ in range(n)]
    chain = deployment.chain
    for a in accounts:
        chain.w3.provider.make_request("anvil_setBalance", [a.address, hex(10**20)])  # type: ignore[arg-type]
    expiry = int(chain.w3.eth.get_block("latest")["timestamp"]) + 30 * 86_400
    progress(f"registering {n} prosumers on the registry")

    aggregator_key = deployer.account.key

    def register(account: LocalAccount) -> None:
        sender = Sender(chain, "0x" + bytes(account.key).hex())
        consent = deployment.consent(aggregator_key, account.address, TERMS, expiry)
        fn = deployment.registry.contract.functions.register(TERMS.as_tuple(), expiry, consent.as_tuple())
        sender.wait(sender.submit(fn))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(register, accounts))
    return manifest, accounts


def start_service(env: dict[str, str], log_path: Path, url: str) -> subprocess.Popen[bytes]:
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "aggregator"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    _wait_healthy(proc, url, log_path)
    return proc


def _wait_healthy(proc: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise FlexsimError(f"the service exited with code {proc.returncode}; see {log_path}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise FlexsimError(f"the service did not become healthy within 60 s; see {log_path}")


def stop_service(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def login(http: aiohttp.ClientSession, base: str, account: LocalAccount) -> str:
    async with http.post(base + "/auth/challenge", json={"address": account.address}) as r:
        ch = await r.json()
    signature = "0x" + Account.sign_message(encode_defunct(text=ch["message"]), account.key).signature.hex()
    body = {"address": account.address, "nonce": ch["nonce"], "signature": signature}
    async with http.post(base + "/auth/login", json=body) as r:
        if r.status != 200:
            raise FlexsimError(f"login of {account.address} failed: {r.status} {await r.text()}")
        return str((await r.json())["access_token"])


def reading_json(seq: int, now: str) -> bytes:
    return (
        f'{{"seq":{seq},"timestamp":"{now}","power_w":{4000 + seq % 1000},"energy_wh":{seq * 5},'
        '"status":"ok"}'
    ).encode()


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


async def single_phase(
    http: aiohttp.ClientSession, base: str, tokens: list[str], seconds: float
) -> SinglePhase:
    """Every client posts one reading at a time until `seconds` pass (after a 1 s warm-up)."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    warm_end = time.perf_counter() + 1.0
    end = warm_end + seconds
    counted = [0]
    stored_total = [0]  # warm-up included, for the integrity check

    async def client(token: str, seq0: int) -> None:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        seq = seq0
        while (t0 := time.perf_counter()) < end:
            async with http.post(base + "/readings", data=reading_json(seq, now_iso()), headers=headers) as r:
                await r.read()
                status = r.status
            t1 = time.perf_counter()
            seq += 1
            stored_total[0] += status == 200
            if t0 >= warm_end:
                if status == 200:
                    latencies.append(t1 - t0)
                    counted[0] += 1
                else:
                    errors[str(status)] = errors.get(str(status), 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(client(t, 0) for t in tokens))
    elapsed = time.perf_counter() - max(started, warm_end) if latencies else 0.0
    ms = np.asarray(latencies) * 1000
    return SinglePhase(
        clients=len(tokens),
        seconds=round(min(elapsed, seconds), 3),
        acknowledged=counted[0],
        acknowledged_with_warmup=stored_total[0],
        errors=errors,
        readings_per_s=round(counted[0] / seconds, 1),
        latency_ms=LatencyMs(
            p50=round(float(np.percentile(ms, 50)), 2),
            p90=round(float(np.percentile(ms, 90)), 2),
            p99=round(float(np.percentile(ms, 99)), 2),
            max=round(float(ms.max()), 2),
        ),
    )


async def batch_phase(
    http: aiohttp.ClientSession, base: str, tokens: list[str], size: int, total: int
) -> BatchPhase:
    """Each client posts pre-serialised batches of `size` readings (new sequence numbers) until `total`."""
    per_client = max(1, total // (size * len(tokens)))
    now = now_iso()
    bodies = [
        [
            b'{"readings":['
            + b",".join(reading_json(10**9 + (k * size + i), now) for i in range(size))
            + b"]}"
            for k in range(per_client)
        ]
        for _ in tokens
    ]
    stored = [0]
    latencies: list[float] = []

    async def client(token: str, mine: list[bytes]) -> None:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        for body in mine:
            t0 = time.perf_counter()
            async with http.post(base + "/readings/batch", data=body, headers=headers) as r:
                answer = await r.json()
                if r.status != 200:
                    raise FlexsimError(f"batch refused: {r.status} {answer}")
            latencies.append(time.perf_counter() - t0)
            stored[0] += answer["stored"]

    t0 = time.perf_counter()
    await asyncio.gather(*(client(t, b) for t, b in zip(tokens, bodies, strict=True)))
    elapsed = time.perf_counter() - t0
    return BatchPhase(
        clients=len(tokens),
        batch_size=size,
        batches=per_client * len(tokens),
        stored=stored[0],
        seconds=round(elapsed, 3),
        readings_per_s=round(stored[0] / elapsed, 1),
        batch_latency_ms_p50=round(float(np.percentile(np.asarray(latencies) * 1000, 50)), 2),
    )


def raw_ceiling(database_url: str, size: int, total: int) -> RawStore:
    """`executemany` straight into a scratch copy of the readings table (same DB, schema and indexes)."""
    from sqlalchemy import Index, MetaData, Table

    from aggregator.db import make_engine
    from aggregator.store import insert_sql
    from aggregator.tables import Reading

    engine = make_engine(database_url)
    md = MetaData()
    table = Table("readings_ceiling", md, *(c.copy() for c in Reading.__table__.columns))
    Index("ix_ceiling_prosumer_t", table.c.prosumer, table.c.t)
    Index("ix_ceiling_t", table.c.t)
    md.drop_all(engine)
    md.create_all(engine)
    sql = insert_sql(engine.dialect.name, "readings_ceiling")
    now = time.time()
    rows = [
        (f"0x{p:040x}", s, now + s, 0, 4000.0, 5.0 * s, None, 0, now, None)
        for s in range(total // 64)
        for p in range(64)
    ]
    conn = engine.raw_connection()
    try:
        t0 = time.perf_counter()
        for k in range(0, len(rows), size):
            cur = conn.cursor()
            cur.executemany(sql, rows[k : k + size])
            conn.commit()
        elapsed = time.perf_counter() - t0
    finally:
        conn.close()
        md.drop_all(engine)
        engine.dispose()
    return RawStore(
        rows=len(rows),
        transaction_rows=size,
        seconds=round(elapsed, 3),
        readings_per_s=round(len(rows) / elapsed, 1),
    )


def count_readings(database_url: str) -> int:
    from aggregator.db import Database
    from aggregator.store import ReadingStore

    db = Database.connect(database_url)
    try:
        return ReadingStore(db).count()
    finally:
        db.dispose()


async def load(base: str, accounts: list[LocalAccount], opts: Options, progress: Progress) -> Phases:
    conn = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(base, connector=conn) as http:
        tokens = list(await asyncio.gather(*(login(http, "", a) for a in accounts)))
        gc.collect()
        gc.freeze()  # keep full collections of the setup's objects out of the measured latencies
        progress(f"{len(tokens)} prosumers logged in; single-reading POSTs for {opts.seconds:g} s")
        single = await single_phase(http, "", tokens, opts.seconds)
        progress(f"batch POSTs: {opts.batch_readings} readings in batches of {opts.batch_size}")
        batch = await batch_phase(
            http, "", tokens[: opts.batch_clients], opts.batch_size, opts.batch_readings
        )
        async with http.get("/metrics") as r:
            metrics = await r.text()
    return Phases(single, batch, _writer_stats(metrics), tokens)


def _writer_stats(text: str) -> Writer:
    """Group commits and their mean size, from the service's /metrics."""
    values = {}
    for line in text.splitlines():
        if line.startswith("flexsim_aggregator_writer_batch_rows_"):
            name, value = line.rsplit(" ", 1)
            values[name.removeprefix("flexsim_aggregator_writer_batch_rows_")] = float(value)
    commits = values.get("count", 0.0)
    mean = values.get("sum", 0.0) / commits if commits else 0.0
    return Writer(commits=commits, mean_rows_per_commit=round(mean, 1))


def run(opts: Options, progress: Progress = lambda _m: None) -> IngestResult:
    workdir = Path(tempfile.mkdtemp(prefix="flexsim-ingest-"))
    database_url = opts.database_url or f"sqlite:///{workdir / 'aggregator.db'}"
    with start_anvil(AnvilConfig()) as anvil:
        manifest, accounts = register_fleet(anvil.rpc_url, opts.prosumers, workdir, progress)
        port = free_port()
        settings = {
            "port": port,
            "database_url": database_url,
            "rpc_url": anvil.rpc_url,
            "manifest": manifest,
            "log_format": "text",
            "registry_cache_ttl_s": 60,
        }
        env = {**os.environ, **to_env(AggregatorSettings, settings)}
        progress(f"starting the aggregator on 127.0.0.1:{port} ({database_url.split(':')[0]})")
        proc = start_service(env, workdir / "aggregator.log", f"http://127.0.0.1:{port}")
        try:
            results = _run_loop(load(f"http://127.0.0.1:{port}", accounts, opts, progress))
        finally:
            stop_service(proc)
        progress(f"bare framework ceiling: the same single-reading load for {opts.seconds:g} s")
        bare = bare_ceiling(results.tokens, opts, workdir)
    acknowledged = results.single.acknowledged_with_warmup + results.batch.stored
    stored = count_readings(database_url)
    progress("raw store ceiling")
    raw = raw_ceiling(database_url, opts.batch_size, opts.batch_readings)
    shutil.rmtree(workdir, ignore_errors=True)
    return _report(opts, database_url, results, bare, raw, acknowledged, stored)


def bare_ceiling(tokens: list[str], opts: Options, workdir: Path) -> SinglePhase:
    """The single phase against `benchmarks.bare` (FastAPI served the same way, routes doing no work)."""
    port = free_port()
    log = (workdir / "bare.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bare", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        _wait_healthy(proc, f"http://127.0.0.1:{port}", workdir / "bare.log")
        result: SinglePhase = _run_loop(_bare_load(f"http://127.0.0.1:{port}", tokens, opts.seconds))
        return result
    finally:
        stop_service(proc)
        log.close()


async def _bare_load(base: str, tokens: list[str], seconds: float) -> SinglePhase:
    conn = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(base, connector=conn) as http:
        gc.collect()
        gc.freeze()
        return await single_phase(http, "", tokens, seconds)


def _run_loop(coro: Any) -> Any:
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


def _report(
    opts: Options,
    url: str,
    results: Phases,
    bare: SinglePhase,
    raw: RawStore,
    acknowledged: int,
    stored: int,
) -> IngestResult:
    single, batch = results.single, results.batch
    vs_bare = single.readings_per_s / bare.readings_per_s if bare.readings_per_s else 0.0
    vs_raw = batch.readings_per_s / raw.readings_per_s
    lost = acknowledged - stored
    return IngestResult(
        benchmark="ingest",
        machine=machine_info(),
        service=Service(
            server="uvicorn (uvloop, httptools when installed), one process, group-commit writer thread",
            database=url.split("://")[0] + ("" if url.startswith("sqlite") else " (URL given)"),
            auth=f"{opts.prosumers} prosumers registered on an anvil chain, each logged in by signed "
            "nonce and checked against the Registry contract",
            durability="every acknowledged reading is committed (SQLite: WAL, synchronous=FULL)",
        ),
        single=single,
        batch=batch,
        bare_framework=bare,
        raw_store=raw,
        writer=results.writer,
        integrity=Integrity(acknowledged_stored=acknowledged, rows_in_db=stored, lost=lost),
        ratios=Ratios(single_vs_bare=round(vs_bare, 3), batch_vs_raw=round(vs_raw, 3)),
        targets=IngestTargets(
            single_vs_bare=AtLeast.of(round(vs_bare, 3), TARGETS["single_vs_bare"]),
            batch_vs_raw=AtLeast.of(round(vs_raw, 3), TARGETS["batch_vs_raw"]),
            lost=AtMost.of(lost, TARGETS["lost"]),
        ),
    )
