"""Watching a run from outside while it plays: when each block appeared, when each transaction was
first seen waiting in the node's pool, and the aggregator's queue metrics.

A thread polls the node (`eth_blockNumber` every `poll_s`, `txpool_content` every `pool_every_s`)
and the aggregator's `/metrics` every `metrics_every_s`, and writes three CSV files in the run folder:

- `blocks.csv`: number, timestamp, seen_at (real epoch when this watcher first saw it, within
  `poll_s`: a finer clock than the block's whole-second timestamp), gas_used, gas_limit, txs;
- `txpool.csv`: tx hash, pooled_at, head block when first seen pending (a transaction mined between
  two pool polls is not listed: its wait was under `pool_every_s`);
- `metrics.csv`: real t, metric name, value (`writer_queue_rows`, `chain_lag_blocks`, ...).

The node's `txpool_content` is an anvil / geth method; where it is missing the pool is not watched.
On a public RPC (Volta) a run polls once a second and leaves the pool alone (`watch_pool=False`).
"""

from __future__ import annotations

import csv
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

log = logging.getLogger(__name__)

WATCHED_METRICS = ("writer_queue_rows", "chain_lag_blocks", "readings_ingested_total")
METRIC_PREFIX = "flexsim_aggregator_"


@dataclass
class Block:
    number: int
    timestamp: int
    seen_at: float
    gas_used: int
    gas_limit: int
    txs: list[str]


@dataclass
class Watch:
    """What a watcher saw (also what `load` reads back from a run folder)."""

    blocks: list[Block] = field(default_factory=list)
    pooled: dict[str, tuple[float, int]] = field(default_factory=dict)  # tx -> (pooled_at, head)
    metrics: list[tuple[float, str, float]] = field(default_factory=list)

    def write(self, out: Path) -> None:
        with (out / "blocks.csv").open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["number", "timestamp", "seen_at", "gas_used", "gas_limit", "txs"])
            w.writerows(
                (b.number, b.timestamp, round(b.seen_at, 3), b.gas_used, b.gas_limit, " ".join(b.txs))
                for b in self.blocks
            )
        with (out / "txpool.csv").open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["tx_hash", "pooled_at", "head"])
            w.writerows((h, round(t, 3), head) for h, (t, head) in self.pooled.items())
        with (out / "metrics.csv").open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["real_t", "name", "value"])
            w.writerows((round(t, 3), n, v) for t, n, v in self.metrics)


def load(out: Path) -> Watch:
    """The watch written in `out` (empty parts where a file is missing)."""
    watch = Watch()
    if (out / "blocks.csv").is_file():
        with (out / "blocks.csv").open() as f:
            for r in csv.DictReader(f):
                watch.blocks.append(
                    Block(
                        int(r["number"]), int(r["timestamp"]), float(r["seen_at"]),
                        int(r["gas_used"]), int(r["gas_limit"]), r["txs"].split(),
                    )
                )  # fmt: skip
    if (out / "txpool.csv").is_file():
        with (out / "txpool.csv").open() as f:
            watch.pooled = {r["tx_hash"]: (float(r["pooled_at"]), int(r["head"])) for r in csv.DictReader(f)}
    if (out / "metrics.csv").is_file():
        with (out / "metrics.csv").open() as f:
            watch.metrics = [(float(r["real_t"]), r["name"], float(r["value"])) for r in csv.DictReader(f)]
    return watch


def parse_metrics(text: str, names: tuple[str, ...] = WATCHED_METRICS) -> dict[str, float]:
    """The values of `names` (without the prefix) in a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(METRIC_PREFIX):
            continue
        key, _, value = line.rpartition(" ")
        name = key[len(METRIC_PREFIX) :]
        if name in names:
            try:
                out[name] = float(value)
            except ValueError:
                continue
    return out


class Watcher(threading.Thread):
    def __init__(
        self,
        rpc_url: str,
        metrics_url: str | None = None,
        poll_s: float = 0.1,
        pool_every_s: float = 0.25,
        metrics_every_s: float = 1.0,
        watch_pool: bool = True,
    ) -> None:
        super().__init__(name="watcher", daemon=True)
        self.rpc_url, self.metrics_url = rpc_url, metrics_url
        self.poll_s, self.pool_every_s, self.metrics_every_s = poll_s, pool_every_s, metrics_every_s
        self.watch = Watch()
        self._halt = threading.Event()
        self._http = httpx.Client(timeout=5.0)
        self._last = -1
        self._pool_ok = watch_pool

    def stop(self, out: Path | None = None) -> Watch:
        self._halt.set()
        if self.is_alive():
            self.join(timeout=10)
        self._http.close()
        if out is not None:
            self.watch.write(out)
        return self.watch

    def run(self) -> None:
        next_pool = next_metrics = 0.0
        while not self._halt.is_set():
            now = time.time()
            try:
                self._blocks(now)
                if self._pool_ok and now >= next_pool:
                    self._pool(now)
                    next_pool = now + self.pool_every_s
                if self.metrics_url and now >= next_metrics:
                    self._metrics(now)
                    next_metrics = now + self.metrics_every_s
            except (httpx.HTTPError, KeyError, ValueError) as exc:
                log.debug("watcher: %s", exc)
            self._halt.wait(self.poll_s)

    def _rpc(self, method: str, params: list[Any]) -> Any:
        reply = self._http.post(
            self.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        )
        body = reply.json()
        if "error" in body:
            raise ValueError(body["error"])
        return body["result"]

    def _blocks(self, now: float) -> None:
        head = int(self._rpc("eth_blockNumber", []), 16)
        if self._last < 0:
            self._last = head  # blocks before the watch started have no seen time
            return
        for n in range(self._last + 1, head + 1):
            b = self._rpc("eth_getBlockByNumber", [hex(n), False])
            self.watch.blocks.append(
                Block(
                    n, int(b["timestamp"], 16), now, int(b["gasUsed"], 16), int(b["gasLimit"], 16),
                    [str(h) for h in b["transactions"]],
                )
            )  # fmt: skip
        self._last = head

    def _pool(self, now: float) -> None:
        try:
            content = self._rpc("txpool_content", [])
        except ValueError:
            log.info("the node has no txpool_content: transaction waits are not watched")
            self._pool_ok = False
            return
        for part in ("pending", "queued"):
            for by_nonce in (content.get(part) or {}).values():
                for tx in by_nonce.values():
                    self.watch.pooled.setdefault(str(tx["hash"]), (now, self._last))

    def _metrics(self, now: float) -> None:
        assert self.metrics_url is not None
        values = parse_metrics(self._http.get(self.metrics_url).text)
        self.watch.metrics.extend((now, k, v) for k, v in values.items())
