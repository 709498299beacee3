"""Readings to the aggregator: a bounded buffer and a sender thread (rule R4).

The reading loop `put`s each reading in the buffer and never waits for the network; the reading is
serialised to its JSON bytes once, there (`Reading.wire_json`: no dict, no model per reading). The
sender thread logs in (challenge, EIP-191 signature, bearer token), sends what is buffered (one
reading with `POST /readings`, more with `POST /readings/batch`, at most `batch` at a time) and
removes readings from the buffer only once the aggregator acknowledged them (2xx means committed;
resending after a timeout is safe, the aggregator answers `duplicate`).

Availability (`declare_availability`): every few seconds the sender asks the DER what it could deliver
now and tells the aggregator (`PUT /availability`) only when that is news: a direction moved by more than
a tolerance, a refresh is due (an unchanged declaration is repeated well within the aggregator's
two online windows, after which it would no longer count), or the session is new. A thousand steady
prosumers then make a fraction of the requests that declaring every turn cost.

Pacing: it sends once `every` readings wait, or once the oldest has waited `hold_s` (so a prosumer
that samples every second and sends every second reading makes half the requests, and no reading
waits more than about one interval); a backlog goes at once, in batches of up to `batch`; at stop,
whatever waits goes at once.

- 401: the token expired or the aggregator restarted: log in again at once.
- 403 at login: the registry does not (yet) list the account as active: retry every few seconds.
- 503: the aggregator is saturated; 429: it rate-limits this client (too many login challenges or
  failed bearer attempts): wait `Retry-After` seconds (capped) plus up to a quarter more at random (so
  the prosumers of one fleet, refused together, do not come back together), then resend. Never gives up.
- Connection errors, timeouts, other 5xx: exponential backoff (0.5 s doubling to 5 s); readings stay
  buffered.
- A reading the aggregator rejects (422 or `rejected` in a batch) is logged with the reason and dropped:
  resending it cannot succeed.

**Bound**: the buffer holds at most `bound` readings. When it is full, the OLDEST reading is dropped to
make room: the newest readings say what the DER does now (what the live overview and a request's
return-to-baseline check need), while the oldest are the least useful and would be sent last. The
first drop of an outage logs a warning; when the aggregator answers again (or at shutdown) one line
says how many readings were dropped. Within the bound nothing is lost.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct

from aggregator.wire import BatchAck, ChallengeOut, TokenOut
from aggregator.wire_answers import ActionName, AnswerIn, AnswerOut, AnswerState
from contracts.anchor import LeafReading
from contracts.answers import SignedAnswer
from prosumer.meter import Reading
from prosumer.net import jittered, tls_context
from prosumer.plain_http import HttpxHttp, PlainHttp, Reply, Transport, Unreachable

log = logging.getLogger(__name__)

BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 5.0
RETRY_AFTER_MAX_S = 30.0
NOT_ACTIVE_RETRY_S = 2.0
IDLE_WAIT_S = 1.0  # with nothing to send, how long one wait lasts (a stop or a due declaration is seen)


class Queued(NamedTuple):
    """A reading waiting in the buffer: its sequence number, when it was put (monotonic s) and its
    JSON body, serialised once when it was taken."""

    seq: int
    put_at: float
    body: bytes


class ReadingBuffer:
    """A bounded FIFO of readings as JSON bytes, shared by the reading loop and the sender thread."""

    def __init__(self, bound: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.bound = bound
        self._items: deque[Queued] = deque()
        self._cond = threading.Condition()
        self._clock = clock
        self.dropped_total = 0
        self._dropped_episode = 0

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

    def put(self, reading: Reading) -> None:
        """Adds a reading; drops the oldest when the buffer is full."""
        body = reading.wire_json()
        if body is None:
            log.error(
                "reading %s is not valid on the wire (a number is not finite) and is dropped", reading.seq
            )
            return
        with self._cond:
            if len(self._items) >= self.bound:
                self._items.popleft()
                self.dropped_total += 1
                self._dropped_episode += 1
                if self._dropped_episode == 1:
                    log.warning(
                        "uplink buffer full (%d readings) while the aggregator is unreachable: "
                        "dropping the oldest readings from now on",
                        self.bound,
                    )
            self._items.append(Queued(reading.seq, self._clock(), body))
            self._cond.notify()

    def peek(self, n: int) -> list[Queued]:
        with self._cond:
            return [self._items[i] for i in range(min(n, len(self._items)))]

    def ack(self, last_seq: int) -> None:
        """Removes every reading up to `last_seq` (sequence numbers only grow)."""
        with self._cond:
            while self._items and self._items[0].seq <= last_seq:
                self._items.popleft()

    def wait(self, timeout: float, count: int = 1, hold_s: float = 0.0) -> bool:
        """True once `count` readings wait, or the oldest has waited `hold_s`; False after `timeout`."""
        deadline = self._clock() + timeout
        with self._cond:
            while True:
                now = self._clock()
                if len(self._items) >= count or (self._items and now - self._items[0].put_at >= hold_s):
                    return True
                until = deadline if not self._items else min(deadline, self._items[0].put_at + hold_s)
                if now >= deadline:
                    return False
                self._cond.wait(max(0.0, until - now))

    def report_drops(self) -> int:
        """Logs (once) how many readings the last outage cost; returns that count."""
        with self._cond:
            n, self._dropped_episode = self._dropped_episode, 0
        if n:
            log.warning(
                "uplink dropped %d readings (the oldest; buffer bound %d) while the aggregator was "
                "unreachable; %d dropped since start",
                n,
                self.bound,
                self.dropped_total,
            )
        return n


class AckedReadings:
    """The readings the aggregator acknowledged (stored or duplicate), newest last, at most `bound`:
    what the prosumer signs its readings roots over (docs/tamper-evidence.md). Read back from the very
    JSON bytes that were sent, so the signed values are the stored ones."""

    def __init__(self, bound: int = 100_000) -> None:
        self._items: deque[LeafReading] = deque(maxlen=bound)
        self._lock = threading.Lock()

    def add(self, items: list[Queued]) -> None:
        leaves = [_leaf(i.body) for i in items]
        with self._lock:
            self._items.extend(leaves)

    def last_ms(self) -> int | None:
        """The timestamp (ms) of the newest acknowledged reading."""
        with self._lock:
            return self._items[-1].timestamp_ms if self._items else None

    def first_ms(self) -> int | None:
        with self._lock:
            return self._items[0].timestamp_ms if self._items else None

    def between(self, from_ms: int, to_ms: int) -> list[LeafReading]:
        with self._lock:
            return [r for r in self._items if from_ms <= r.timestamp_ms <= to_ms]


def _leaf(body: bytes) -> LeafReading:
    d = json.loads(body)
    t = datetime.fromisoformat(d["timestamp"]).timestamp()
    return LeafReading(d["seq"], t, d["power_w"], d["energy_wh"], d.get("available_w"))


class LockedTransport:
    """One transport shared by the uplink thread, the chain worker (relayed answers) and the evidence
    keeper: `PlainHttp` is one keep-alive connection, which two threads must not use at once."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self._lock = threading.Lock()

    def request(
        self, method: str, path: str, body: bytes, headers: dict[str, str], timeout_s: float
    ) -> Reply:
        with self._lock:
            return self.inner.request(method, path, body, headers, timeout_s)

    def close(self) -> None:
        with self._lock:
            self.inner.close()


class Retry(Exception):
    """Sending failed in a way that resending later can fix."""

    def __init__(self, delay_s: float, why: str, unreachable: bool = False) -> None:
        super().__init__(why)
        self.delay_s = delay_s
        self.unreachable = unreachable


class Uplink:
    """Logs in and sends buffered readings from its own thread."""

    def __init__(
        self,
        base_url: str,
        key: str,
        buffer: ReadingBuffer,
        batch: int = 500,
        timeout_s: float = 10.0,
        client: httpx.Client | None = None,
        wall: Callable[[], float] = time.monotonic,
        every: int = 1,
        hold_s: float = 0.0,
    ) -> None:
        self.account = Account.from_key(key)
        self.buffer = buffer
        self.batch = batch
        self.every = every
        self.hold_s = hold_s
        self.timeout_s = timeout_s
        self.http: Transport = LockedTransport(
            HttpxHttp(client) if client is not None else PlainHttp(base_url, tls_context())
        )
        self._wall = wall
        self._token: str | None = None
        self._stop = threading.Event()
        self._deadline: float | None = None
        self._thread: threading.Thread | None = None
        self._backoff = BACKOFF_START_S
        self._unreachable_since: float | None = None
        self.sent = 0
        self._availability: Callable[[], tuple[int, int]] | None = None
        self._availability_every_s = 0.0
        self._availability_due = 0.0
        self._availability_refresh_s = 0.0
        self._availability_tolerance = 0.0
        self._declared: tuple[int, int] | None = None  # what the aggregator was told last, and when
        self._declared_at = 0.0
        self._answer_lock = threading.Lock()
        self.acked = AckedReadings()

    def declare_availability(
        self,
        source: Callable[[], tuple[int, int]],
        every_s: float,
        refresh_s: float = 0.0,
        tolerance: float = 0.0,
    ) -> None:
        """Also asks `source`, every `every_s` real seconds, what it can deliver (up, down) now, and tells
        the aggregator (`PUT /availability`) when that is news: a direction moved by more than
        `tolerance` of what was declared last, `refresh_s` passed since, or it logged in again (a
        restarted aggregator forgot). A failure is logged and retried at the next turn."""
        self._availability, self._availability_every_s = source, every_s
        self._availability_refresh_s, self._availability_tolerance = refresh_s, tolerance

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="uplink", daemon=True)
        self._thread.start()

    def stop(self, flush_timeout_s: float) -> int:
        """Keeps sending for at most `flush_timeout_s`, then stops; returns the readings left unsent."""
        self._deadline = self._wall() + flush_timeout_s
        self._stop.set()
        if self._thread is not None:
            self._thread.join(flush_timeout_s + 1.0)
        self.buffer.report_drops()
        left = len(self.buffer)
        if left:
            log.warning("stopping with %d readings not acknowledged by the aggregator", left)
        self.http.close()
        return left

    # ------------------------------------------------------------------ the thread

    def _run(self) -> None:
        while True:
            if self._stop.is_set() and (not len(self.buffer) or self._remaining() <= 0):
                return
            self._declare_if_due()
            stopping = self._stop.is_set()  # then flush whatever waits
            if not self.buffer.wait(
                IDLE_WAIT_S, 1 if stopping else self.every, 0.0 if stopping else self.hold_s
            ):
                continue
            try:
                self.send_once()
            except Retry as r:
                self._note_failure(r)
                self._pause(r.delay_s)
            except Exception:  # never let the thread die: readings would pile up silently
                log.exception("uplink: unexpected error; retrying")
                self._pause(BACKOFF_MAX_S)

    def send_once(self) -> int:
        """Sends the oldest buffered readings once; returns how many were acknowledged."""
        items = self.buffer.peek(self.batch)
        if not items:
            return 0
        if self._token is None:
            self._login()
        if len(items) == 1:
            taken = self._post("/readings", items[0].body, items)
        else:
            body = b'{"readings":[' + b",".join(i.body for i in items) + b"]}"
            taken = self._post("/readings/batch", body, items)
        self.acked.add(taken)
        self.buffer.ack(items[-1].seq)
        self.sent += len(items)
        self._backoff = BACKOFF_START_S
        if self._unreachable_since is not None:
            log.info(
                "aggregator reachable again after %.1f s; %d readings buffered",
                self._wall() - self._unreachable_since,
                len(self.buffer),
            )
            self._unreachable_since = None
        self.buffer.report_drops()
        return len(items)

    def _declare_if_due(self) -> None:
        if self._availability is None or self._token is None or self._stop.is_set():
            return
        now = self._wall()
        if now < self._availability_due:
            return
        self._availability_due = now + self._availability_every_s
        try:
            up, down = self._availability()
            if not availability_news(
                self._declared,
                (up, down),
                now - self._declared_at,
                self._availability_refresh_s,
                self._availability_tolerance,
            ):
                return
            reply = self.http.request(
                "PUT",
                "/availability",
                b'{"up_w":%d,"down_w":%d}' % (up, down),
                {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"},
                self._timeout(),
            )
        except Unreachable as exc:
            log.info("availability not sent (%s); next turn", type(exc).__name__)
            return
        except Exception:  # a model failure must not stop the readings
            log.exception("availability not computed; next turn")
            return
        if reply.status_code in (401, 403):
            self._token = None
        elif reply.status_code != 200:
            log.info("availability refused: HTTP %d %s", reply.status_code, _detail(reply))
        else:
            self._declared, self._declared_at = (up, down), now

    # ------------------------------------------------------------------ relayed answers

    def send_answer(self, answer: SignedAnswer) -> AnswerState | None:
        """Posts a signed answer for the aggregator to relay (`POST /answers`); blocking, called from the
        chain worker. Returns its state (queued, submitted, recorded...), or None when the aggregator
        could not take it (unreachable, busy, refused): the caller then answers with a transaction."""
        body = (
            AnswerIn(
                request_id=answer.request_id,
                action=ActionName(answer.action.label),
                value=answer.value,
                v=answer.v,  # type: ignore[arg-type]  # 27 or 28 from eth_account
                r="0x" + answer.r.hex(),
                s="0x" + answer.s.hex(),
            )
            .model_dump_json()
            .encode()
        )
        with self._answer_lock:
            try:
                for _ in range(2):  # a second time after logging in again (401: token expired)
                    if self._token is None:
                        self._login()
                    headers = {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"}
                    try:
                        reply = self.http.request("POST", "/answers", body, headers, self._timeout())
                    except Unreachable as exc:
                        raise self._unreachable(exc) from None
                    if reply.status_code == 401:
                        self._token = None
                        continue
                    if reply.status_code == 202:
                        return AnswerOut.model_validate_json(reply.content).state
                    log.info("request %d: answer not relayed: HTTP %d %s", answer.request_id,
                             reply.status_code, _detail(reply))  # fmt: skip
                    return None
            except Retry as exc:
                log.info("request %d: answer not relayed (%s)", answer.request_id, exc)
        return None

    def authed(self, method: str, path: str, body: dict[str, Any] | None = None) -> Reply:
        """One call as the logged-in prosumer (logs in when needed, once more after a 401); for the
        evidence calls of other threads (`prosumer.evidence`). Raises `Retry` when unreachable."""
        data = b"" if body is None else json.dumps(body).encode()
        for _ in range(2):
            if self._token is None:
                self._login()
            headers = {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"}
            try:
                reply = self.http.request(method, path, data, headers, self._timeout())
            except Unreachable as exc:
                raise self._unreachable(exc) from None
            if reply.status_code != 401:
                return reply
            self._token = None
        return reply

    # ------------------------------------------------------------------ HTTP

    def _login(self) -> None:
        address = self.account.address
        reply = self._call("/auth/challenge", {"address": address})
        if reply.status_code != 200:
            raise self._failure(reply, "login challenge")
        challenge = ChallengeOut.model_validate_json(reply.content)
        signature = self.account.sign_message(encode_defunct(text=challenge.message)).signature.hex()
        body = {
            "address": address,
            "nonce": challenge.nonce,
            "signature": "0x" + signature.removeprefix("0x"),
        }
        reply = self._call("/auth/login", body)
        if reply.status_code == 403:
            raise Retry(
                NOT_ACTIVE_RETRY_S, f"login refused, not active on the registry yet: {_detail(reply)}"
            )
        if reply.status_code != 200:
            raise self._failure(reply, "login")
        self._token = TokenOut.model_validate_json(reply.content).access_token
        self._declared = None  # a new session: declare again at the next turn
        log.info("logged in to the aggregator as %s", address)

    def _post(self, path: str, body: bytes, items: list[Queued]) -> list[Queued]:
        """Sends; returns the items the aggregator holds now (stored or duplicate)."""
        headers = {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"}
        try:
            reply = self.http.request("POST", path, body, headers, self._timeout())
        except Unreachable as exc:
            raise self._unreachable(exc) from None
        if reply.status_code == 200:
            if path.endswith("batch") and b'"rejected":0,' not in reply.content:
                ack = BatchAck.model_validate_json(reply.content)
                self._log_rejected(ack, items)
                return [items[i.index] for i in ack.items if i.status != "rejected"]
            return items
        if reply.status_code == 422:  # refused as invalid: resending cannot help
            log.warning(
                "aggregator rejected %d reading(s) from seq %d: %s", len(items), items[0].seq, _detail(reply)
            )
            return []
        if reply.status_code in (401, 403):
            self._token = None
            raise Retry(
                0.0 if reply.status_code == 401 else NOT_ACTIVE_RETRY_S, f"{reply.status_code}: log in again"
            )
        raise self._failure(reply, "sending readings")

    def _call(self, path: str, body: dict[str, Any]) -> Reply:
        try:
            data = json.dumps(body).encode()
            return self.http.request(
                "POST", path, data, {"Content-Type": "application/json"}, self._timeout()
            )
        except Unreachable as exc:
            raise self._unreachable(exc) from None

    def _failure(self, reply: Reply, what: str) -> Retry:
        if reply.status_code in (429, 503):
            delay = _retry_after(reply)
            why = "busy" if reply.status_code == 503 else "rate-limited this client"
            return Retry(delay, f"{what}: aggregator {why} ({reply.status_code}), retry after {delay:g} s")
        return Retry(self._next_backoff(), f"{what}: HTTP {reply.status_code}: {_detail(reply)}")

    def _unreachable(self, exc: Exception) -> Retry:
        why = str(exc) if isinstance(exc, Unreachable) else type(exc).__name__
        return Retry(self._next_backoff(), f"aggregator unreachable: {why}", unreachable=True)

    def _log_rejected(self, ack: BatchAck, items: list[Queued]) -> None:
        for item in ack.items:
            if item.status == "rejected":
                log.warning("aggregator rejected reading %s: %s", items[item.index].seq, item.reason)

    # ------------------------------------------------------------------ pacing

    def _note_failure(self, r: Retry) -> None:
        if r.unreachable and self._unreachable_since is None:
            self._unreachable_since = self._wall()
            log.warning("%s; buffering readings (bound %d)", r, self.buffer.bound)
        elif not r.unreachable:
            log.info("uplink: %s", r)

    def _next_backoff(self) -> float:
        delay, self._backoff = self._backoff, min(self._backoff * 2, BACKOFF_MAX_S)
        return delay

    def _pause(self, delay_s: float) -> None:
        """Waits before a retry; a stop request cuts the wait short (flushing retries quickly)."""
        if self._stop.is_set():
            time.sleep(min(delay_s, 0.5, max(0.0, self._remaining())))
        else:
            self._stop.wait(delay_s)

    def _remaining(self) -> float:
        return float("inf") if self._deadline is None else self._deadline - self._wall()

    def _timeout(self) -> float:
        return max(0.1, min(self.timeout_s, self._remaining()))


def availability_news(
    declared: tuple[int, int] | None,
    now: tuple[int, int],
    age_s: float,
    refresh_s: float,
    tolerance: float,
) -> bool:
    """Whether `now` is worth a `PUT /availability` after `declared` was sent `age_s` ago: nothing
    declared yet, due for a refresh, or a direction moved by more than `tolerance` of its declared value
    (of 1 W when that was 0)."""
    if declared is None or age_s >= refresh_s:
        return True
    return any(abs(n - d) > tolerance * max(abs(d), 1) for n, d in zip(now, declared, strict=True))


def _retry_after(reply: Reply) -> float:
    """`Retry-After` (capped), jittered upwards by up to a quarter: never sooner than asked."""
    try:
        delay = min(RETRY_AFTER_MAX_S, max(0.1, float(reply.headers.get("retry-after", "1"))))
    except ValueError:
        delay = 1.0
    return jittered(delay)


def _detail(reply: Reply) -> str:
    try:
        body = reply.json()
        return str(body.get("detail", body)) if isinstance(body, dict) else str(body)
    except ValueError:
        return reply.text[:200]
