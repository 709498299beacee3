"""A stateful property test of the three contracts (issue 10, item 3; STYLE 15): seeded random walks.

Each walk runs hundreds of operations drawn with fixed weights from every public state-changing
function, from every role (owner, aggregator, prosumers, a stranger), with valid and hostile
arguments: registrations with and without the aggregator's consent, terms at and beyond their bounds,
renegotiations up and down, requests of both strategies with good and bad schedules, answers,
rankings in the documented order and out of it, deliveries near and far from the commitments (and at
the int64 extremes), finalising, cancelling, closing, moving the clock, token transfers and
redemptions. After every operation it checks:

- a revert is always one of the contracts' custom errors, never a panic (overflow, bad enum) or an
  unexplained revert;
- token supply equals the sum of balances, and the sum of what was paid minus what was redeemed;
- the registry's totals equal the sum over the registrations in force;
- every recorded delivery was a commitment (the power an Accepted or Selected event gave it) and was
  paid exactly the tariff for the committed energy when within the ±10 % rule, and nothing otherwise;
- liveness: from the current state the aggregator opens a new request within two calls (cancel or
  close, then open), after waiting at most until `closableAt`, whenever the registry holds
  flexibility. The probe runs on a snapshot that is reverted afterwards.

A walk is a plain `random.Random(seed)`: the same operations on every run, and a failure names its
seed and step. Each walk starts from the session deployment (snapshot) and ends by reverting to it.
At the end the test checks that the walks reached every outcome worth reaching (settled, closed and
cancelled requests, complete and refused selections, paid and penalised deliveries, refused consents),
so a change that makes them unreachable fails here instead of silently testing less.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from contracts import errors
from contracts.anchor import merkle_root, settlement_leaves
from contracts.consent import Consent
from contracts.errors import ContractRevert
from contracts.sender import Receipt, Sender
from contracts.types import Direction, RequestInfo, RequestStatus, Response, SourceKind, Strategy, Terms
from tests.contracts import reference
from tests.contracts.clock import Clock
from tests.contracts.conftest import ChainSession
from tests.contracts.consent import grant

pytestmark = [pytest.mark.chain, pytest.mark.slow]

SEEDS = range(6)
STEPS = 100
INT64_MAX, INT64_MIN = 2**63 - 1, -(2**63)
UINT32_MAX = 2**32 - 1
DAY = 86_400
DURATIONS = [300, 600, 1_800, 3_600, 7_200]


class Walk:
    def __init__(self, session: ChainSession, seed: int, outcomes: Counter[str]) -> None:
        self.rng = random.Random(seed)
        self.d = session.deployment
        self.clock = Clock(session.chain.w3)
        self.aggregator, self.owner, self.stranger = session.aggregator, session.owner, session.stranger
        self.prosumers = session.prosumers[:5]
        self.actors = [self.owner, self.aggregator, *self.prosumers, self.stranger]
        self.outcomes = outcomes
        self.committed: dict[tuple[int, str], int] = {}  # (request, prosumer) -> W, from the events
        self.delivered: dict[int, dict[str, int]] = {}  # request -> prosumer -> recorded Wh, from the events
        self.paid = self.redeemed = 0
        self.initial_supply = self.d.token.total_supply()

    # ------------------------------------------------------------------ the walk
    def run(self, steps: int) -> None:
        for who in self.prosumers[:4]:  # a population to start from
            terms = replace(self.terms_ok(), kind=self.pick(list(SourceKind)))
            expiry = self.now() + 30 * DAY
            self.d.registry.register(who, terms, expiry, grant(self.d.registry, who.address, terms, expiry))
        for step in range(steps):
            action = self.next_action()
            try:
                action()
                self.check_invariants()
            except AssertionError as exc:
                raise AssertionError(f"step {step} ({action.__name__}): {exc}") from exc

    def next_action(self) -> Callable[[], None]:
        """Every action stays possible in every phase; the weights follow the open request's phase, so
        the walk gets through whole requests instead of mostly knocking on closed doors."""
        cur, now = self.current(), self.now()
        phase = "idle"
        if cur is not None:
            info = cur[1]
            between = "rank" if info.strategy == Strategy.REPUTATION else "top up"
            phase = (
                "answer"
                if now <= info.deadline
                else between
                if now < info.start
                else ("deliver" if now < info.end else "settle")
            )
        w = {
            "idle": dict(register=8, renegotiate=4, open_request=10, answer=2),
            "answer": dict(answer=20, open_request=2, modify=3, cancel=1, warp=4),
            "rank": dict(select=10, modify=2, cancel=2, warp=4, answer=2),
            "top up": dict(top_up=10, modify=2, cancel=1, warp=4, answer=2),
            "deliver": dict(warp=6, record=2, finalise=1, cancel=1, close=1),
            "settle": dict(record=10, finalise=6, close=2, warp=2, select=2),
        }[phase]
        base = dict(
            register=2,
            renegotiate=1,
            remove=1,
            terminate=1,
            expire=1,
            open_request=1,
            modify=1,
            cancel=1,
            close=1,
            answer=1,
            select=1,
            top_up=1,
            record=1,
            finalise=1,
            warp=2,
            token_ops=2,
        )
        names = list(base)
        name = self.rng.choices(names, [base[n] + w.get(n, 0) for n in names])[0]
        return getattr(self, name)  # type: ignore[no-any-return]

    def attempt(self, call: Any, *args: Any, **kwargs: Any) -> Receipt | None:
        """Runs a transaction; a custom-error revert is an allowed outcome, anything else fails."""
        name = getattr(call, "__name__", "?")
        try:
            receipt = call(*args, **kwargs)
        except (errors.Panic, errors.UnknownRevert, errors.Error) as exc:
            raise AssertionError(f"{name}{args}: not a custom error: {exc!r}") from None
        except ContractRevert as exc:
            self.outcomes[f"{name}:{exc.name}"] += 1
            return None
        self.outcomes[name] += 1
        return receipt  # type: ignore[no-any-return]

    def pick(self, items: list[Any]) -> Any:
        return self.rng.choice(items)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def now(self) -> int:
        return self.clock.now()

    def current(self) -> tuple[int, RequestInfo] | None:
        rid = self.d.market.current_request_id()
        return (rid, self.d.market.request(rid)) if rid else None

    def request_id(self) -> int:
        cur = self.current()
        return cur[0] if cur and self.chance(0.9) else self.rng.randint(0, 4)

    # ------------------------------------------------------------------ registry
    def terms_ok(self) -> Terms:
        r = self.rng
        cap = r.randint(1_000, 40_000)
        up, down = int(cap * r.uniform(0.05, 0.5)), int(cap * r.uniform(0.05, 0.5))
        expected = int(cap * 24 * r.uniform(-0.5, 0.5))
        return Terms(SourceKind(r.randint(0, 3)), cap, expected, up, down, r.choice(DURATIONS[2:]),
                     r.randint(10**16, 10**18), r.randint(10**16, 10**18))  # fmt: skip

    def terms(self) -> Terms:
        if self.chance(0.6):
            return self.terms_ok()
        r = self.rng
        cap = (
            r.randint(1, 40_000)
            if self.chance(0.9)
            else r.choice([0, 3, 100_000_000, 100_000_001, UINT32_MAX])
        )
        share = (lambda: r.uniform(0, 0.5)) if self.chance(0.9) else (lambda: r.choice([1.0, 1.2]))
        up, down = (min(UINT32_MAX, int(cap * share())) for _ in range(2))
        expected = int(cap * 24 * (r.uniform(-1, 1) if self.chance(0.95) else 1.01))
        duration = r.choice(DURATIONS) if self.chance(0.9) else r.choice([0, 7 * DAY + 1])
        tariffs = [r.randint(0, 10**18) if self.chance(0.95) else 10**24 + 1 for _ in range(2)]
        return Terms(SourceKind(r.randint(0, 3)), cap, expected, up, down, duration, *tariffs)

    def consent(self, who: Sender, terms: Terms, expiry: int) -> Consent:
        how = self.rng.choices(["aggregator", "none", "stranger"], [6, 1, 1])[0]
        if how == "none":
            return Consent.NONE
        key = "0x" + bytes((self.aggregator if how == "aggregator" else self.stranger).account.key).hex()
        return grant(self.d.registry, who.address, terms, expiry, key=key)

    def register(self) -> None:
        who = self.pick([*self.prosumers, self.stranger])
        expiry = max(
            1,
            self.now()
            + (self.pick([DAY, 2 * DAY]) if self.chance(0.8) else self.pick([-10, 0, 6 * 365 * DAY])),
        )
        terms = self.terms()
        self.attempt(self.d.registry.register, who, terms, expiry, self.consent(who, terms, expiry))

    def renegotiate(self) -> None:
        who = self.pick(self.prosumers)
        current = self.d.registry.registration_of(who.address).terms
        change = self.pick(["lower", "raise", "same", "other"])
        terms = {
            "lower": replace(current, flex_up_w=current.flex_up_w // 2, flex_down_w=current.flex_down_w // 2),
            "raise": replace(current, flex_up_w=min(current.capacity_w, current.flex_up_w + 500)),
            "same": current,
            "other": self.terms(),
        }[change]
        expiry = self.now() + self.pick([600, DAY, 30 * DAY])
        given = self.consent(who, terms, expiry) if self.chance(0.7) else Consent.NONE
        self.attempt(self.d.registry.renegotiate, who, terms, expiry, given)

    def remove(self) -> None:
        self.attempt(self.d.registry.remove, self.pick([*self.prosumers, self.stranger]))

    def terminate(self) -> None:
        by = self.pick([self.aggregator, self.aggregator, self.stranger, self.owner])
        self.attempt(self.d.registry.terminate, by, self.pick(self.prosumers).address)

    def expire(self) -> None:
        who = [p.address for p in self.rng.sample(self.prosumers, self.rng.randint(0, 5))]
        self.attempt(self.d.registry.expire, self.pick(self.actors), who)

    # ------------------------------------------------------------------ requests
    def schedule(self) -> tuple[int, int, int]:
        """(deadline, start, end): mostly valid and short, sometimes in the past or empty."""
        r = self.rng
        deadline = self.now() + (r.randint(20, 120) if self.chance(0.9) else r.randint(-5, 5))
        start = deadline + (r.randint(5, 120) if self.chance(0.95) else -1)
        return deadline, start, start + (r.randint(30, 900) if self.chance(0.95) else 0)

    def open_request(self) -> None:
        r = self.rng
        by = self.aggregator if self.chance(0.85) else self.pick([self.stranger, self.owner])
        power = r.randint(1, 20_000) if self.chance(0.95) else r.choice([0, UINT32_MAX])
        duration = r.choice(DURATIONS) if self.chance(0.95) else 0
        deadline, start, end = self.schedule()
        lapsed = [p.address for p in r.sample(self.prosumers, r.randint(0, 2))]
        self.attempt(
            self.d.market.open_request, by, self.pick(list(Direction)), power, duration, start, end,
            deadline, self.pick(list(Strategy)), lapsed=lapsed,
        )  # fmt: skip

    def modify(self) -> None:
        cur = self.current()
        if cur is None:
            return
        rid, info = cur
        by = self.aggregator if self.chance(0.8) else self.stranger
        power, duration = (
            (info.power_w, info.duration_s) if self.chance(0.5)
            else (self.rng.randint(1, 20_000), self.pick(DURATIONS))
        )  # fmt: skip
        deadline, start, end = self.schedule()
        self.attempt(self.d.market.modify_request, by, rid, power, duration, start, end, deadline)

    def cancel(self) -> None:
        by = self.aggregator if self.chance(0.8) else self.stranger
        self.attempt(self.d.market.cancel_request, by, self.request_id())

    def close(self) -> None:
        by = self.aggregator if self.chance(0.8) else self.stranger
        self.attempt(self.d.market.close_request, by, self.request_id())

    def answer(self) -> None:
        m, rid = self.d.market, self.request_id()
        who = self.pick([*self.prosumers, *self.prosumers, self.stranger, self.aggregator])
        cur = self.current()
        fitting = "accept" if cur is None or cur[1].strategy == Strategy.FAIR else "apply"
        action = fitting if self.chance(0.7) else self.pick(["accept", "apply", "decline"])
        if action == "decline":
            self.attempt(
                m.decline, who, rid, self.rng.randint(0, 5) if self.chance(0.9) else self.rng.randint(6, 255)
            )
            return
        if action == "accept" and self.chance(0.4):  # a limit on the top-up, sometimes below the share
            receipt = self.attempt(m.accept_up_to, who, rid, self.rng.choice([0, 1, 500, 2_000, 2**32 - 1]))
        else:
            receipt = self.attempt(m.accept if action == "accept" else m.apply_for, who, rid)
        if receipt is not None and action == "accept":
            (event,) = m.events(receipt, "Accepted")
            self.committed[(rid, who.address)] = int(event["args"]["powerW"])

    def select(self) -> None:
        cur = self.current()
        if cur is None:
            return
        rid, info = cur
        m = self.d.market
        applied = [str(a["prosumer"]) for a in m.request_events("Applied", rid, info.opened_block)]
        pending = [a for a in applied if m.commitment_of(rid, a).response == Response.APPLIED]
        keys, offers = {}, {}
        for a in pending:
            c = m.commitment_of(rid, a)
            keys[a], offers[a] = reference.RankKey.of(c.reputation, c.power_w, c.tariff), c.power_w
        remaining = max(0, info.power_w - info.committed_w)
        selected, displaced, _ = reference.select(remaining, keys, offers)
        if remaining == 0:
            selected, displaced = [], selected + displaced
        mode = self.rng.choices(["ranked", "first only", "reversed", "shuffled"], [5, 2, 2, 1])[0]
        if mode == "first only" and len(selected) > 1:  # the ranking split over two calls
            selected, displaced = selected[:1], []
        elif mode == "reversed":  # the ranking backwards: out of order whenever two keys differ
            ranked = (selected + displaced)[::-1]
            selected, displaced = ranked[: len(selected)], ranked[len(selected) :]
        elif mode == "shuffled":
            chosen = self.rng.sample(pending, len(pending))
            cut = self.rng.randint(0, len(chosen))
            selected, displaced = chosen[:cut], chosen[cut:]
        by = self.aggregator if self.chance(0.85) else self.stranger
        receipt = self.attempt(m.select, by, rid, selected, displaced)
        if receipt is not None:
            for event in m.events(receipt, "Selected"):
                self.committed[(rid, str(event["args"]["prosumer"]))] = int(event["args"]["powerW"])
            if m.events(receipt, "SelectionCompleted"):
                self.outcomes["selection completed"] += 1

    def top_up(self) -> None:
        """The fair top-up round: the right total room and every accepter (mostly), or not."""
        cur = self.current()
        if cur is None:
            return
        rid, info = cur
        m = self.d.market
        accepted = [str(a["prosumer"]) for a in m.request_events("Accepted", rid, info.opened_block)]
        commitments = {p: m.commitment_of(rid, p) for p in accepted}
        pending = [p for p, c in commitments.items() if c.response == Response.ACCEPTED]
        declared = sum(c.room_w for c in commitments.values())
        if self.chance(0.15):
            declared += self.rng.choice([-500, -1, 1, 500])
        batch = self.rng.sample(pending, self.rng.randint(min(1, len(pending)), len(pending)))
        if self.chance(0.1):
            batch.append(self.pick([self.stranger.address, *batch]))
        by = self.aggregator if self.chance(0.9) else self.stranger
        receipt = self.attempt(m.top_up, by, rid, max(0, declared), batch)
        if receipt is None:
            return
        for event in m.events(receipt, "ToppedUp"):
            a = event["args"]
            before = commitments[str(a["prosumer"])]
            assert a["extraW"] <= before.room_w, "a top-up beyond the accepter's room"
            assert a["committedW"] == before.power_w + a["extraW"]
            self.committed[(rid, str(a["prosumer"]))] = int(a["committedW"])
        assert m.request(rid).committed_w <= info.power_w, "the top-up committed more than the request"
        if m.events(receipt, "TopUpCompleted"):
            self.outcomes["top-up completed"] += 1

    def record(self) -> None:
        cur = self.current()
        if cur is None:
            return
        rid, info = cur
        m = self.d.market
        name = "Accepted" if info.strategy == Strategy.FAIR else "Selected"
        todo = [str(a["prosumer"]) for a in m.request_events(name, rid, info.opened_block)]
        waiting = (Response.ACCEPTED, Response.SELECTED, Response.TOPPED_UP)
        todo = [p for p in todo if m.commitment_of(rid, p).response in waiting]
        batch = self.rng.sample(todo, self.rng.randint(min(1, len(todo)), len(todo)))
        if self.chance(0.1):  # someone who is not a participant, or one twice in the batch
            batch.append(self.pick([self.stranger.address, *batch]))
        values = []
        for p in batch:
            wh = m.commitment_of(rid, p).power_w * info.duration_s // 3600
            how = self.rng.choices(
                ["exact", "near", "far", "zero", "negative", "extreme"], [4, 4, 2, 1, 1, 1]
            )[0]
            values.append({
                "exact": wh, "near": wh + self.rng.randint(-(wh // 8), wh // 8), "far": 2 * wh + 1,
                "zero": 0, "negative": -wh - 1, "extreme": self.pick([INT64_MAX, INT64_MIN, 2**62]),
            }[how])  # fmt: skip
        if self.chance(0.05) and values:
            values.pop()  # a length mismatch
        by = self.aggregator if self.chance(0.9) else self.stranger
        before = self.d.token.total_supply()
        receipt = self.attempt(m.record_deliveries, by, rid, batch, values)
        if receipt is None:
            return
        minted = 0
        for event in m.events(receipt, "DeliveryRecorded"):
            a = event["args"]
            committed = self.committed.get((rid, str(a["prosumer"])))
            assert committed is not None and committed == a["committedW"], f"not a commitment: {dict(a)}"
            ok = reference.is_compliant(committed, info.duration_s, a["deliveredWh"])
            assert a["compliant"] == ok
            tariff = m.commitment_of(rid, a["prosumer"]).tariff
            assert a["payment"] == (reference.payment(tariff, committed, info.duration_s) if ok else 0)
            self.outcomes["delivery paid" if ok else "delivery penalised"] += 1
            self.delivered.setdefault(rid, {})[str(a["prosumer"])] = int(a["deliveredWh"])
            minted += a["payment"]
        assert self.d.token.total_supply() == before + minted
        self.paid += minted

    def finalise(self) -> None:
        """Plain `finalise`; with deliveries recorded it must revert (AnchorRequired, or an earlier
        refusal), and the request is then finalised anchored over them, as the aggregator does."""
        by = self.aggregator if self.chance(0.85) else self.stranger
        rid = self.request_id()
        delivered = self.delivered.get(rid, {})
        plain = self.attempt(self.d.market.finalise, by, rid)
        if not delivered:
            return
        assert plain is None, f"request {rid} with recorded deliveries finalised without its anchor"
        leaves = settlement_leaves(rid, delivered)
        if self.attempt(self.d.market.finalise_anchored, by, rid, merkle_root(leaves), len(leaves)):
            assert self.d.market.settlement_root(rid) == merkle_root(leaves)

    # ------------------------------------------------------------------ clock and token
    def warp(self) -> None:
        cur = self.current()
        if cur is not None and self.chance(0.5):  # to the next interesting moment of the open request
            info, closable = cur[1], self.d.market.closable_at(cur[0])
            moments = [t for t in (info.deadline + 1, info.start, info.end, closable) if t > self.now()]
            target = (moments[0] if self.chance(0.7) else self.pick(moments)) if moments else 0
            if target > self.now():
                self.clock.advance_to(target)
                return
        self.clock.advance(self.pick([1, 30, 61, 300, 3_600]) if self.chance(0.95) else 3 * DAY)

    def token_ops(self) -> None:
        who = self.pick(self.prosumers)
        amount = int(self.d.token.balance_of(who.address) * self.rng.uniform(0, 1.5))
        if self.chance(0.5):
            self.attempt(self.d.token.transfer, who, self.pick(self.actors).address, amount)
        elif self.attempt(self.d.token.redeem, who, amount) is not None:
            self.redeemed += amount

    # ------------------------------------------------------------------ invariants
    def check_invariants(self) -> None:
        t, registry = self.d.token, self.d.registry
        supply = t.total_supply()
        assert supply == sum(t.balance_of(a.address) for a in self.actors), "supply != sum of balances"
        assert supply == self.initial_supply + self.paid - self.redeemed, "supply != paid - redeemed"
        up = down = count = 0
        for a in self.actors:
            terms = registry.registration_of(a.address).terms
            if terms.capacity_w:
                up, down, count = up + terms.flex_up_w, down + terms.flex_down_w, count + 1
        assert registry.totals() == (up, down, count), "registry totals != sum of registrations"
        self.probe_liveness(up, down)

    def probe_liveness(self, up: int, down: int) -> None:
        snapshot = self.clock.rpc("evm_snapshot")
        try:
            m, agg, calls = self.d.market, self.aggregator, 0
            cur = self.current()
            if cur is not None:
                rid, info = cur
                if self.now() + 2 < info.start:
                    m.cancel_request(agg, rid)
                else:
                    self.clock.advance_to(max(self.now() + 1, m.closable_at(rid)))
                    m.close_request(agg, rid)
                calls += 1
                assert m.request(rid).status in (RequestStatus.CANCELLED, RequestStatus.CLOSED)
            if up or down:
                now = self.now()
                direction = Direction.UP if up else Direction.DOWN
                m.open_request(agg, direction, 1_000, 600, now + 60, now + 660, now + 30, Strategy.FAIR)
                calls += 1
                assert m.current_request_id() != 0
            assert calls <= 2
        except ContractRevert as exc:
            raise AssertionError(f"the aggregator could not move on: {exc!r}") from None
        finally:
            assert self.clock.rpc("evm_revert", snapshot) is True
            agg.resync_nonce()  # the probe sends from the aggregator only
            self.d.chain.reset_fee_cache()


@pytest.fixture
def walks(chain_session: ChainSession) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    clock = Clock(chain_session.chain.w3)
    for seed in SEEDS:
        snapshot = clock.rpc("evm_snapshot")
        clock.mine()
        try:
            Walk(chain_session, seed, outcomes).run(STEPS)
        except AssertionError as exc:
            raise AssertionError(f"walk with seed {seed}: {exc}") from exc
        finally:
            assert clock.rpc("evm_revert", snapshot) is True
            for sender in chain_session.senders:
                sender.resync_nonce()
            chain_session.chain.reset_fee_cache()
    return outcomes


def test_no_sequence_of_calls_jams_or_skews_the_market(walks: Counter[str]) -> None:
    """The invariants held at every step of every walk (checked inside); here: what the walks reached."""
    reached = {
        "register": 10, "register:ConsentRequired": 2, "register:ConsentNotByAggregator": 1,
        "renegotiate": 5, "renegotiate:ConsentRequired": 2, "open_request": 20, "accept": 2,
        "apply_for": 10, "decline": 2, "selection completed": 8,  "delivery paid": 2,
        "delivery penalised": 2, "finalise": 5, "close_request": 2, "cancel_request": 5,
        "finalise:AnchorRequired": 2, "finalise_anchored": 4,
        "modify_request:AcceptanceClosed": 2, "record_deliveries:NotAParticipant": 1,
        "top-up completed": 2,
        "accept_up_to:LimitBelowShare": 1,
    }  # fmt: skip
    short = {k: (walks[k], n) for k, n in reached.items() if walks[k] < n}
    assert not short, f"the walks reached too few of (seen, wanted): {short}\nall: {sorted(walks.items())}"
