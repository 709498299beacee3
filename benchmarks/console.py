"""`flexsim bench console`: how live the console is, and what an open page costs the aggregator.

One run of the console's sandbox (`simulation.sandbox`: embedded anvil, aggregator, a battery), with
`loaders + 1` extra accounts registered on chain (with the aggregator's consent) that log in as
prosumers; Debian's chromium (driven by Playwright) shows the page.

1. Throughput: the loaders (a process of their own) post readings batches back to back for `phase_s`
   seconds with no page open and with one, in `phases` pairs of adjacent phases (order alternated);
   readings stored per second, and the median of the pairs' ratios, which cancels the drift of a
   shared machine's load, with its distribution-free 95 % interval (one pair moves by up to ±10 % on
   this machine: 16 pairs by default narrow the median to a few points). (The console polls only
   while a page is open, so "none" costs it nothing.)
2. Latency, with the page open: the probe account posts a reading every 0.5 s (the time its POST is
   answered `stored`, i.e. committed, is the event) and a transaction is sent and mined every 0.5 s
   (its receipt's arrival is the event); the page notes the real time each `data-seen` key first
   appears (`window.flexsimSeen`): `reading:<probe>:<seq>` and `block:<n>`. An event's latency is
   the first appearance of its key or a later one (the page shows the latest reading, the head block).
"""

from __future__ import annotations

import multiprocessing
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from base.errors import FlexsimError
from benchmarks.console_result import (
    ConsoleLatency,
    ConsoleResult,
    ConsoleSetup,
    ConsoleTargets,
    Latency,
    Throughput,
)
from benchmarks.machine import machine_info
from benchmarks.options import ConsoleOptions as Options
from benchmarks.targets import AtLeast, AtMost
from console.controls import DerIn
from console.settings import ConsoleSettings
from contracts.sender import Sender
from contracts.types import SourceKind, Terms
from simulation.experiment_stats import median_ci
from simulation.sandbox import Sandbox, sandbox
from simulation.scenario import load_scenario

CHROMIUM = Path("/usr/bin/chromium")
TARGETS = {"latency_p95_s": 1.0, "throughput_ratio": 0.95}
TERMS = Terms(SourceKind.SOLAR, 10_000, 30_000, 2_500, 2_500, 3_600, 2 * 10**17, 15 * 10**16)
PROBE_EVERY_S = 0.5
Progress = Callable[[str], None]


def register(box: Sandbox, n: int) -> list[LocalAccount]:
    """`n` fresh accounts registered on chain with the aggregator's consent."""
    d = box.run.deployment
    chain = d.chain
    accounts = [Account.create() for _ in range(n)]
    expiry = int(chain.w3.eth.get_block("latest")["timestamp"]) + 30 * 86_400
    for a in accounts:
        chain.w3.provider.make_request("anvil_setBalance", [a.address, hex(10**20)])  # type: ignore[arg-type]
        sender = Sender(chain, "0x" + bytes(a.key).hex())
        consent = d.consent(box.run.aggregator.account.key, a.address, TERMS, expiry)
        fn = d.registry.contract.functions.register(TERMS.as_tuple(), expiry, consent.as_tuple())
        sender.wait(sender.submit(fn))
    return accounts


def login(url: str, account: LocalAccount) -> str:
    """A bearer token of the aggregator for `account` (retried while chain sync catches up)."""
    deadline = time.time() + 60
    while True:
        ch = httpx.post(url + "/auth/challenge", json={"address": account.address}, timeout=10).json()
        signature = (
            "0x" + Account.sign_message(encode_defunct(text=ch["message"]), account.key).signature.hex()
        )
        r = httpx.post(
            url + "/auth/login",
            json={"address": account.address, "nonce": ch["nonce"], "signature": signature},
            timeout=10,
        )
        if r.status_code == 200:
            return str(r.json()["access_token"])
        if time.time() > deadline:
            raise FlexsimError(f"login of {account.address} failed: {r.status_code} {r.text}")
        time.sleep(0.5)


class SimTime:
    def __init__(self, box: Sandbox, speed: float) -> None:
        self.start, self.real_start, self.speed = box.run.sim_start, box.run.real_start, speed

    def now_iso(self) -> str:
        sim = self.start + timedelta(seconds=(time.time() - self.real_start) * self.speed)
        return sim.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _load(
    url: str,
    tokens: list[str],
    size: int,
    seq0: int,
    start_at: float,
    seconds: float,
    sim: tuple[float, float, float],
) -> float:
    """In a process of its own (the console's threads share this one's GIL): every token posts batches
    of `size` readings back to back from `start_at` for `seconds`; readings stored per second."""
    sim_start, real_start, speed = sim
    stored = [0] * len(tokens)
    end = start_at + seconds

    def client(i: int) -> None:
        headers = {"Authorization": f"Bearer {tokens[i]}", "Content-Type": "application/json"}
        seq = seq0
        with httpx.Client(base_url=url, timeout=30) as http:
            while time.time() < end:
                t = sim_start + (time.time() - real_start) * speed
                now = datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")
                items = ",".join(
                    f'{{"seq":{seq + k},"timestamp":"{now}","power_w":4000,'
                    f'"energy_wh":{seq + k},"status":"ok"}}'
                    for k in range(size)
                )
                seq += size
                r = http.post("/readings/batch", content=f'{{"readings":[{items}]}}', headers=headers)
                if r.status_code != 200:
                    raise FlexsimError(f"batch refused: {r.status_code} {r.text[:200]}")
                stored[i] += int(r.json()["stored"])

    time.sleep(max(0.0, start_at - time.time()))
    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(tokens))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(stored) / seconds


class Loader:
    """Registered accounts posting readings batches, from a separate process."""

    def __init__(self, url: str, tokens: list[str], batch_size: int, clock: SimTime) -> None:
        self.url, self.tokens, self.size, self.clock = url, tokens, batch_size, clock
        self.seq = 0
        self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))

    def run(self, seconds: float) -> float:
        sim = (self.clock.start.timestamp(), self.clock.real_start, self.clock.speed)
        start_at = time.time() + 0.5
        future = self.pool.submit(_load, self.url, self.tokens, self.size, self.seq, start_at, seconds, sim)
        self.seq += 10**7
        return float(future.result())

    def close(self) -> None:
        self.pool.shutdown()


def latency(events: list[tuple[int, float]], seen: dict[str, float], prefix: str) -> Latency:
    """Per event (key number, real time): the first appearance of its key or a later one, minus its time."""
    shown = sorted((int(k[len(prefix) :]), t / 1000.0) for k, t in seen.items() if k.startswith(prefix))
    out, missed = [], 0
    for n, at in events:
        later = [t for m, t in shown if m >= n]
        if not later:
            missed += 1
            continue
        out.append(max(0.0, min(later) - at))
    return _latency(out, missed)


def _latency(values: list[float], missed: int) -> Latency:
    if not values:
        return Latency(samples=0, missed=missed, p50=None, p95=None, max=None)
    a = np.asarray(values)
    return Latency(
        samples=len(values),
        missed=missed,
        p50=round(float(np.percentile(a, 50)), 3),
        p95=round(float(np.percentile(a, 95)), 3),
        max=round(float(a.max()), 3),
    )


def run(opts: Options, progress: Progress = lambda _m: None) -> ConsoleResult:
    if not CHROMIUM.exists():
        raise FlexsimError("Debian's chromium is not installed: run `make setup` (scripts/system-deps.sh)")
    from playwright.sync_api import sync_playwright

    scenario = load_scenario("console").with_overrides(speed=opts.speed)
    settings = ConsoleSettings(port=0)
    fleet = (DerIn(kind="battery", capacity_w=5_000),)
    with tempfile.TemporaryDirectory(prefix="flexsim-bench-console-") as tmp:
        with sandbox(scenario, Path(tmp), progress, settings, fleet) as box:
            progress(f"registering {opts.loaders + 1} benchmark accounts")
            accounts = register(box, opts.loaders + 1)
            tokens = [login(box.aggregator_url, a) for a in accounts]
            clock = SimTime(box, opts.speed)
            loader = Loader(box.aggregator_url, tokens[:-1], opts.batch_size, clock)
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
                )
                try:
                    rates = _throughput(browser, box, loader, opts, progress)
                finally:
                    loader.close()
                lat = _latency_phase(browser, box, accounts[-1], tokens[-1], clock, opts, progress)
                browser.close()
    with_page = float(np.mean(rates["page"]))
    without = float(np.mean(rates["none"]))
    ratio = round(float(np.median(rates["ratio"])), 3)
    interval = median_ci(rates["ratio"])
    ratio_ci = None if interval.ci_low is None else [interval.ci_low, interval.ci_high]
    both = [x for x in (lat.reading_stored.p95, lat.chain_event_mined.p95) if x is not None]
    p95 = max(both) if both else float("inf")
    return ConsoleResult(
        benchmark="console",
        machine=machine_info(),
        setup=ConsoleSetup(
            speed=opts.speed,
            poll_s=settings.poll_s,
            loaders=opts.loaders,
            batch_size=opts.batch_size,
            phase_s=opts.phase_s,
            phases=opts.phases,
            browser=f"{CHROMIUM} (Playwright)",
        ),
        latency_s=lat,
        throughput=Throughput(
            with_page_readings_per_s=round(with_page, 1),
            without_page_readings_per_s=round(without, 1),
            pair_ratios=rates["ratio"],
            ratio=ratio,
            ratio_ci95=ratio_ci,
            console_cpu_share=round(float(np.mean(rates["console_cpu"])), 3),
            browser_cpu_share=round(float(np.mean(rates["browser_cpu"])), 3),
        ),
        targets=ConsoleTargets(
            latency_p95_s=AtMost.of(p95, TARGETS["latency_p95_s"]),
            throughput_ratio=AtLeast.of(ratio, TARGETS["throughput_ratio"]),
        ),
    )


def _open(browser: Any, box: Sandbox) -> Any:
    page = browser.new_page()
    page.goto(box.console.url)
    page.wait_for_selector("tr.prosumer", timeout=60_000)
    return page


def _throughput(
    browser: Any, box: Sandbox, loader: Loader, opts: Options, progress: Progress
) -> dict[str, list[float]]:
    """`phases` pairs of phases, one with the page open and one without, in alternating order."""
    rates: dict[str, list[float]] = {
        "none": [],
        "page": [],
        "ratio": [],
        "console_cpu": [],
        "browser_cpu": [],
    }
    warm = _open(browser, box)  # warm up: the service, the loader, and the browser's first page
    loader.run(3.0)
    warm.close()
    for k in range(opts.phases):
        pair: dict[str, float] = {}
        for mode in ("none", "page") if k % 2 == 0 else ("page", "none"):
            page = _open(browser, box) if mode == "page" else None
            time.sleep(1.0)  # the page settled (or the closed one gone)
            cpu0, t0 = _cpu(), time.time()
            pair[mode] = loader.run(opts.phase_s)
            if mode == "page":
                cpu1, elapsed = _cpu(), time.time() - t0
                rates["console_cpu"].append((cpu1[0] - cpu0[0]) / elapsed)
                rates["browser_cpu"].append((cpu1[1] - cpu0[1]) / elapsed)
            rates[mode].append(pair[mode])
            if page is not None:
                page.close()
        rates["ratio"].append(round(pair["page"] / pair["none"], 3) if pair["none"] else 0.0)
        progress(
            f"throughput pair {k + 1}: {pair['none']:,.0f} readings/s without the page, "
            f"{pair['page']:,.0f} with it"
        )
    return rates


def _cpu() -> tuple[float, float]:
    """CPU seconds so far of this process (the console) and of the browser's processes."""
    me = psutil.Process()
    own = sum(me.cpu_times()[:2])
    browser = 0.0
    for child in me.children(recursive=True):
        try:
            if "chrom" in child.name():
                browser += sum(child.cpu_times()[:2])
        except psutil.Error:
            continue
    return own, browser


def _latency_phase(
    browser: Any,
    box: Sandbox,
    probe: LocalAccount,
    token: str,
    clock: SimTime,
    opts: Options,
    progress: Progress,
) -> ConsoleLatency:
    page = _open(browser, box)
    key = probe.address.lower()
    page.wait_for_selector(f'tr.prosumer[data-address="{key}"]', timeout=60_000)
    funder = box.run.funder
    assert funder is not None
    readings: list[tuple[int, float]] = []
    blocks: list[tuple[int, float]] = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    progress(f"timing {opts.probes} readings and {opts.probes} transactions")
    with httpx.Client(base_url=box.aggregator_url, timeout=10) as http:
        for seq in range(10**6, 10**6 + opts.probes):
            body = (
                f'{{"seq":{seq},"timestamp":"{clock.now_iso()}","power_w":1000,"energy_wh":1,"status":"ok"}}'
            )
            r = http.post("/readings", content=body, headers=headers)
            if r.status_code == 200 and r.json()["status"] == "stored":
                readings.append((seq, time.time()))
            receipt = funder.wait(funder.submit_value(funder.address, 1), "probe transaction")
            blocks.append((receipt.block_number, time.time()))
            time.sleep(PROBE_EVERY_S)
    time.sleep(3.0)
    seen: dict[str, float] = page.evaluate("window.flexsimSeen")
    page.close()
    return ConsoleLatency(
        reading_stored=latency(readings, seen, f"reading:{key}:"),
        chain_event_mined=latency(blocks, seen, "block:"),
    )
