"""Group commit: one writer thread drains a bounded queue of readings into the store.

A request hands its rows to `submit`, which returns an asyncio future, and awaits it. The writer
thread takes as many queued submissions as fit in `batch_rows`, inserts them in one transaction, and
only after the commit resolves every future of the group (one `call_soon_threadsafe` per group). So a
2xx answer always means "committed", and one fsync serves many requests.

Backpressure: when the rows waiting (queued or being committed) would exceed `queue_rows`, `submit`
raises `QueueFull` with a Retry-After estimated from the recent commit rate; nothing is dropped. If a
commit fails, every future of the group fails with `StoreUnavailable` (503): nothing of it is
acknowledged, and the client retries (idempotent on (prosumer, seq)).
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aggregator.errors import QueueFull, StoreUnavailable, Unavailable
from aggregator.metrics import Metrics
from aggregator.store import Row

log = logging.getLogger(__name__)

InsertFn = Callable[[Sequence[Row]], list[bool]]


@dataclass
class _Job:
    rows: Sequence[Row]
    future: asyncio.Future[list[bool]]
    loop: asyncio.AbstractEventLoop
    queued_at: float


class Writer:
    def __init__(
        self, insert: InsertFn, metrics: Metrics, batch_rows: int = 5_000, queue_rows: int = 50_000
    ) -> None:
        self._insert = insert
        self.batch_rows = batch_rows
        self.queue_rows = queue_rows
        self._cond = threading.Condition()
        self._jobs: deque[_Job] = deque()
        self._pending_rows = 0  # queued + being committed
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._rate = 0.0  # rows/s, exponentially smoothed
        m = metrics
        self._m_ingested = m.counter("readings_ingested_total", "Readings stored (committed)")
        self._m_duplicates = m.counter("readings_duplicate_total", "Readings acknowledged as duplicates")
        self._m_full = m.counter("writer_queue_full_total", "Submissions refused because the queue was full")
        self._m_failed = m.counter("writer_commit_failures_total", "Group commits that failed")
        self._m_depth = m.gauge("writer_queue_rows", "Readings waiting for the writer (queued or committing)")
        self._m_commit = m.histogram("writer_commit_seconds", "Duration of one group commit")
        self._m_batch = m.histogram("writer_batch_rows", "Readings per group commit", buckets=BATCH_BUCKETS)
        self._m_wait = m.histogram("writer_ack_seconds", "From submit to commit, per submission")

    # ------------------------------------------------------------------ life cycle
    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="readings-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Commits what is queued, then ends the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def pending_rows(self) -> int:
        return self._pending_rows

    # ------------------------------------------------------------------ submit (event loop)
    def submit(self, rows: Sequence[Row]) -> asyncio.Future[list[bool]]:
        """Queues `rows`; the future resolves to one stored/duplicate flag per row once committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[bool]] = loop.create_future()
        with self._cond:
            if self._stopping or not self.alive:
                raise Unavailable("the aggregator is shutting down: retry shortly", retry_after_s=2)
            if self._pending_rows + len(rows) > self.queue_rows and self._pending_rows > 0:
                self._m_full.inc()
                raise QueueFull(
                    f"the readings queue is full ({self._pending_rows} waiting): nothing was stored; retry "
                    "after the Retry-After delay",
                    retry_after_s=self._retry_after(len(rows)),
                )
            self._jobs.append(_Job(rows, future, loop, time.perf_counter()))
            self._pending_rows += len(rows)
            self._m_depth.set(self._pending_rows)
            self._cond.notify()
        return future

    def _retry_after(self, rows: int) -> int:
        rate = self._rate if self._rate > 0 else 1_000.0
        return max(1, math.ceil((self._pending_rows + rows) / rate))

    # ------------------------------------------------------------------ the writer thread
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._jobs and not self._stopping:
                    self._cond.wait()
                if not self._jobs:
                    return
                group = self._take()
            self._commit(group)

    def _take(self) -> list[_Job]:
        group = [self._jobs.popleft()]
        size = len(group[0].rows)
        while self._jobs and size + len(self._jobs[0].rows) <= self.batch_rows:
            job = self._jobs.popleft()
            group.append(job)
            size += len(job.rows)
        return group

    def _commit(self, group: list[_Job]) -> None:
        rows = [row for job in group for row in job.rows]
        t0 = time.perf_counter()
        error: BaseException | None = None
        flags: list[bool] = []
        try:
            flags = self._insert(rows)
        except Exception as exc:  # any store failure: fail the group, keep the writer alive
            log.exception("group commit of %d readings failed", len(rows))
            self._m_failed.inc()
            error = StoreUnavailable(
                f"the store could not commit ({type(exc).__name__}): retry", retry_after_s=2
            )
        t1 = time.perf_counter()
        with self._cond:
            self._pending_rows -= len(rows)
            self._m_depth.set(self._pending_rows)
        self._observe(group, rows, flags, t0, t1, error is None)
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Job, list[bool]]]] = {}
        at = 0
        for job in group:
            n = len(job.rows)
            by_loop.setdefault(job.loop, []).append((job, flags[at : at + n]))
            at += n
        for loop, items in by_loop.items():
            try:
                loop.call_soon_threadsafe(_resolve, items, error)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                pass

    def _observe(
        self, group: list[_Job], rows: list[Row], flags: list[bool], t0: float, t1: float, ok: bool
    ) -> None:
        self._m_commit.observe(t1 - t0)
        self._m_batch.observe(len(rows))
        for job in group:
            self._m_wait.observe(t1 - job.queued_at)
        if ok:
            stored = sum(flags)
            self._m_ingested.inc(stored)
            self._m_duplicates.inc(len(rows) - stored)
            rate = len(rows) / max(t1 - t0, 1e-6)
            self._rate = rate if self._rate == 0 else 0.8 * self._rate + 0.2 * rate


BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)


def _resolve(items: list[tuple[_Job, list[bool]]], error: BaseException | None) -> None:
    for job, flags in items:
        if job.future.done():  # the client went away; what was committed stays committed
            continue
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(flags)
