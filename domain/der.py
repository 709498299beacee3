"""One DER as a stateful object: its model, state, contract limits, commitment and outages.

`make_der(entry, profiles)` builds the right model for a population entry; the caller then calls
`der.step(t, dt_s, rng)` once per interval and gets the mean power over [t, t + dt) in W (+ to the
grid). What the object adds to the pure models:

- flexibility (R7): `commit` a `Commitment`; inside its window the power is modulated, after it the
  DER returns to baseline. Producers keep their contracted up-headroom (see `domain.flexibility`).
- outages (R12): during an outage of its schedule the DER delivers 0 W; its weather and load state
  keep evolving, so it comes back where the world is.
- `feasible_w(direction, duration_s)` says how much it could move now, for accept/decline decisions.
"""

import bisect
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Generic, Protocol, TypeVar

import numpy as np

from domain import battery, load, solar, wind
from domain.delivery import (
    PowerHistory,
    Reference,
    Shape,
    baseline_risk_w,
    controlled_power,
    reference,
    shortfall_risk_w,
)
from domain.errors import FlexibilityError, ParameterError
from domain.flexibility import (
    RULE_SHARE,
    Commitment,
    Envelope,
    apply_commitment,
    battery_envelope,
    consumer_envelope,
    curtailed_baseline_w,
    feasible_w,
    max_modulation_w,
    producer_envelope,
)
from domain.outages import Outage, in_outage
from domain.population import PopulationEntry, Stream
from domain.profiles import Profiles
from domain.realism import IDEAL, Realism, Traits, late_share, ramp_limited
from domain.vocabulary import Direction, SourceKind

P = TypeVar("P")
S = TypeVar("S")


class Der(Protocol):
    """What a caller needs from any DER, whatever its kind."""

    kind: SourceKind
    capacity_w: float
    last_power_w: float
    last_baseline_w: float
    traits: Traits

    def step(self, t: datetime, dt_s: float, rng: np.random.Generator) -> float: ...
    def commit(self, commitment: Commitment) -> None: ...
    def cancel(self) -> None: ...
    def limit_w(self, direction: Direction) -> float: ...
    def feasible_w(self, direction: Direction, duration_s: float, forecast_error: float = 0.0) -> float: ...
    def delivery_risk_w(
        self, t: datetime, direction: Direction, amount_w: float, window_s: float
    ) -> float | None: ...
    def in_outage(self, t: datetime) -> bool: ...
    def add_outage(self, outage: Outage) -> None: ...


class _DerBase:
    """Contract limits, the current commitment, the outage schedule and the history of delivered power
    shared by every kind."""

    def __init__(
        self,
        kind: SourceKind,
        capacity_w: float,
        flex_up_w: float,
        flex_down_w: float,
        outages: Iterable[Outage],
    ) -> None:
        self.kind = kind
        self.capacity_w = float(capacity_w)
        self.flex_w = {Direction.UP: float(flex_up_w), Direction.DOWN: float(flex_down_w)}
        self.outages: list[Outage] = sorted(outages)
        self.commitment: Commitment | None = None
        self.last_power_w = 0.0
        self.last_baseline_w = 0.0
        self.history = PowerHistory()
        self.traits: Traits = IDEAL  # the prosumer's imperfections (domain.realism); ideal by default
        self._deviation_w = 0.0  # how far the device is from its natural power now (ramp state)

    def limit_w(self, direction: Direction) -> float:
        """The most this DER may be asked to move in `direction` (contract and 25 % rule)."""
        return max_modulation_w(self.capacity_w, self.flex_w[direction])

    def commit(self, commitment: Commitment) -> None:
        """Hold `commitment` from now on; replaces any earlier one."""
        limit = self.limit_w(commitment.direction)
        if commitment.committed_w > limit * (1 + 1e-9):
            raise FlexibilityError(
                f"{self.kind.label} DER may move at most {limit:.0f} W {commitment.direction.label} "
                f"(contract and 25 % rule), asked {commitment.committed_w:.0f} W: commit less"
            )
        self.commitment = commitment

    def cancel(self) -> None:
        """Drop the current commitment (back to baseline at once)."""
        self.commitment = None

    def in_outage(self, t: datetime) -> bool:
        """True when `t` lies in an outage of the schedule."""
        return in_outage(self.outages, t)

    def add_outage(self, outage: Outage) -> None:
        """An outage injected from outside the schedule (an incident of the console, R15)."""
        bisect.insort(self.outages, outage)

    def _actuate(self, t: datetime, dt_s: float, natural_w: float, ideal_w: float) -> float:
        """The mean power over [t, t + dt) of a device told to be at `ideal_w` rather than its natural
        `natural_w`, with this prosumer's traits: a careless one moves only `care` of the way, the
        command reaches the device `delay_s` into the window, and it ramps at most `ramp_w_per_s`."""
        tr = self.traits
        if tr is IDEAL:
            return ideal_w
        target = ideal_w - natural_w
        c = self.commitment
        if c is not None and c.active(t):
            target *= tr.care * (1.0 - late_share(t.timestamp(), dt_s, c.start.timestamp(), tr.delay_s))
        mean, self._deviation_w = ramp_limited(self._deviation_w, target, dt_s, tr.ramp_w_per_s)
        return natural_w + mean

    def _record(self, t: datetime, dt_s: float, baseline_w: float, power_w: float) -> float:
        self.last_baseline_w = baseline_w
        self.last_power_w = 0.0 if self.in_outage(t) else power_w
        self.history.add(t.timestamp(), dt_s, self.last_power_w)
        return self.last_power_w


def _check_dt(dt_s: float) -> None:
    if not dt_s > 0:
        raise ParameterError(f"dt_s must be > 0 seconds, got {dt_s}")


class ProducerDer(_DerBase, Generic[P, S]):
    """Solar or wind: baseline curtailed by the up-headroom; UP releases it, DOWN curtails more.

    Its inverter (or turbine controller) measures the power the weather allows, `available_w`, and
    reports it with every reading; the settlement measures a producer's delivery against
    `available - headroom` (the available-power method of Germany's Redispatch 2.0), not against a
    before/after baseline. So in a window it moves its *current* baseline by the commitment, and its
    baseline risk is 0: what it cannot deliver is what the weather takes, not a measuring error."""

    def __init__(
        self,
        kind: SourceKind,
        params: P,
        state: S,
        step_fn: Callable[[P, S, datetime, float, np.random.Generator], tuple[S, float]],
        capacity_w: float,
        flex_up_w: float,
        flex_down_w: float,
        outages: Iterable[Outage] = (),
    ) -> None:
        super().__init__(kind, capacity_w, flex_up_w, flex_down_w, outages)
        self.params, self.state, self._step_fn = params, state, step_fn
        self.headroom_w = self.limit_w(Direction.UP)
        self.available_w = 0.0
        self.available_history = PowerHistory()

    def step(self, t: datetime, dt_s: float, rng: np.random.Generator) -> float:
        """Advance and return the mean power over [t, t + dt) (W, >= 0)."""
        _check_dt(dt_s)
        self.state, self.available_w = self._step_fn(self.params, self.state, t, dt_s, rng)
        baseline = curtailed_baseline_w(self.available_w, self.headroom_w)
        power = apply_commitment(self.commitment, t, baseline, producer_envelope(self.available_w))
        power = self._record(t, dt_s, baseline, self._actuate(t, dt_s, baseline, power))
        if self.in_outage(t):
            self.available_w = 0.0  # offline: nothing available to deliver or to curtail
        self.available_history.add(t.timestamp(), dt_s, self.available_w)
        return power

    def delivery_risk_w(
        self, t: datetime, direction: Direction, amount_w: float, window_s: float
    ) -> float | None:
        """The weather's risk: settled against its measured available power (see the class), a producer
        misses only what the weather takes away from the room it needs (`shortfall_risk_w`)."""
        h = self.headroom_w

        def room(available: float) -> float:
            return min(h, available) if direction is Direction.UP else max(0.0, available - h)

        return shortfall_risk_w(self.available_history, room, amount_w, t.timestamp(), window_s)

    def feasible_w(self, direction: Direction, duration_s: float, forecast_error: float = 0.0) -> float:
        """Room at the last step (persistence forecast of the weather), capped by the contract; with a
        `forecast_error`, the weather's available power as forecast is off by that share."""
        if forecast_error:
            available = max(0.0, self.available_w * (1.0 + forecast_error))
            baseline = curtailed_baseline_w(available, self.headroom_w)
            return feasible_w(direction, baseline, producer_envelope(available), self.limit_w(direction))
        envelope = producer_envelope(self.available_w)
        return feasible_w(direction, self.last_baseline_w, envelope, self.limit_w(direction))


class ConsumerDer(_DerBase):
    """A load: UP draws less (never below 0 W), DOWN draws more (up to its capacity). In a window its
    energy manager shifts controllable load by at most the 25 % rule's share of its capacity around
    what the household draws."""

    def __init__(
        self,
        params: load.LoadParams,
        state: load.LoadState,
        capacity_w: float,
        flex_up_w: float,
        flex_down_w: float,
        outages: Iterable[Outage] = (),
    ) -> None:
        super().__init__(SourceKind.CONSUMER, capacity_w, flex_up_w, flex_down_w, outages)
        self.params, self.state = params, state
        self.shape: Shape = params.profile.at_epoch  # the standard load profile's predictable part
        self._reference: Reference | None = None

    def cancel(self) -> None:
        """Drop the current commitment and its reference (back to baseline at once)."""
        super().cancel()
        self._reference = None

    def step(self, t: datetime, dt_s: float, rng: np.random.Generator) -> float:
        """Advance and return the mean power over [t, t + dt) (W, <= 0)."""
        _check_dt(dt_s)
        self.state, baseline = load.step(self.params, self.state, t, dt_s, rng)
        envelope = consumer_envelope(self.capacity_w)
        reach = RULE_SHARE * self.capacity_w
        low, high = envelope.clamp(baseline - reach), envelope.clamp(baseline + reach)
        power = self._controlled(t, dt_s, baseline, low, high, envelope)
        return self._record(t, dt_s, baseline, self._actuate(t, dt_s, baseline, power))

    def feasible_w(self, direction: Direction, duration_s: float, forecast_error: float = 0.0) -> float:
        """Room around the last baseline, capped by the contract; with a `forecast_error`, the load as
        forecast is off by that share."""
        envelope = consumer_envelope(self.capacity_w)
        baseline = self.last_baseline_w * (1.0 + forecast_error)
        return feasible_w(direction, baseline, envelope, self.limit_w(direction))

    def delivery_risk_w(
        self, t: datetime, direction: Direction, amount_w: float, window_s: float
    ) -> float | None:
        """How far (W, RMS) the measured delivery of `amount_w` over `window_s` may miss it: the
        settlement baseline's error, from its own history; None while it does not know yet (see
        `domain.delivery.baseline_risk_w`)."""
        return baseline_risk_w(self.history, self.shape, t.timestamp(), window_s)

    def _controlled(
        self, t: datetime, dt_s: float, natural_w: float, low_w: float, high_w: float, envelope: Envelope
    ) -> float:
        """Power over [t, t + dt): inside a window, the reference line moved by the commitment, held
        within [low, high] (setpoint control); outside it, the natural power (return to baseline).
        Without a reference (no readings before the window) the natural power moved by the commitment."""
        c = self.commitment
        if c is None or not c.active(t):
            return natural_w
        start, end = c.start.timestamp(), c.end.timestamp()
        ref = self._reference
        if ref is None or (ref.start_s, ref.end_s) != (start, end):
            ref = self._reference = reference(self.history, self.shape, start, end)
        if ref is None:
            return apply_commitment(c, t, natural_w, envelope)
        target = ref.at(t.timestamp() + dt_s / 2) + c.direction.sign * c.committed_w
        return controlled_power(target, low_w, high_w)


class BatteryDer(_DerBase):
    """A battery: idle baseline; UP discharges, DOWN charges, within power and SoC limits."""

    def __init__(
        self,
        params: battery.BatteryParams,
        state: battery.BatteryState,
        capacity_w: float,
        flex_up_w: float,
        flex_down_w: float,
        outages: Iterable[Outage] = (),
    ) -> None:
        super().__init__(SourceKind.BATTERY, capacity_w, flex_up_w, flex_down_w, outages)
        self.params, self.state = params, state
        self.baseline_setpoint_w = 0.0

    @property
    def soc(self) -> float:
        """State of charge (fraction of the energy capacity)."""
        return self.state.soc

    def step(self, t: datetime, dt_s: float, rng: np.random.Generator) -> float:
        """Apply baseline or commitment for `dt_s`; return the power actually delivered (W)."""
        _check_dt(dt_s)
        envelope = self._envelope(dt_s)
        natural = envelope.clamp(self.baseline_setpoint_w)
        target = self._actuate(t, dt_s, natural, apply_commitment(self.commitment, t, natural, envelope))
        if self.in_outage(t):
            target = 0.0
        state = replace(self.state, setpoint_w=target)
        self.state, power = battery.step(self.params, state, t, dt_s, rng)
        return self._record(t, dt_s, self.baseline_setpoint_w, power)

    def delivery_risk_w(
        self, t: datetime, direction: Direction, amount_w: float, window_s: float
    ) -> float | None:
        """0 W: an idle battery's baseline is its setpoint, exactly known, and `feasible_w` already
        checked that its charge sustains the amount."""
        return 0.0

    def feasible_w(self, direction: Direction, duration_s: float, forecast_error: float = 0.0) -> float:
        """What the battery can hold for `duration_s` from its SoC as its management system estimates
        it (the trait `soc_error`), capped by the contract. Nothing to forecast: `forecast_error` is
        not used."""
        return feasible_w(
            direction, self.baseline_setpoint_w, self.believed_envelope(duration_s), self.limit_w(direction)
        )

    def _envelope(self, duration_s: float) -> Envelope:
        charge, discharge = battery.power_limits_w(self.params, self.state.soc, duration_s)
        return battery_envelope(charge, discharge)

    def believed_envelope(self, duration_s: float) -> Envelope:
        """The envelope its battery management system believes in: from the SoC as estimated (off by
        the trait `soc_error`)."""
        soc = min(1.0, max(0.0, self.state.soc + self.traits.soc_error))
        charge, discharge = battery.power_limits_w(self.params, soc, duration_s)
        return battery_envelope(charge, discharge)


WARM_UP_S = 3 * 3600.0
"""How much past a new DER runs through before its first reading: the meter history a real prosumer
has, which its risk estimates need (`Der.delivery_risk_w`)."""


def warm_up(der: Der, until: datetime, rng: np.random.Generator, dt_s: float = 120.0) -> None:
    """Runs `der` (no commitment) over the `WARM_UP_S` before `until`, filling its history."""
    steps = int(WARM_UP_S // dt_s)
    t0 = until.timestamp() - steps * dt_s
    for k in range(steps):
        der.step(datetime.fromtimestamp(t0 + k * dt_s, until.tzinfo), dt_s, rng)


def make_der(
    entry: PopulationEntry,
    profiles: Profiles,
    outages: Iterable[Outage] = (),
    realism: Realism | None = None,
    traits: Traits = IDEAL,
) -> Der:
    """Build the DER of a population entry, its initial state drawn from the entry's INIT stream; with
    the scenario's `realism` (battery efficiency and SoC window) and the prosumer's `traits`."""
    der = _make_der(entry, profiles, outages, realism or Realism())
    der.traits = traits
    return der


def _make_der(entry: PopulationEntry, profiles: Profiles, outages: Iterable[Outage], realism: Realism) -> Der:
    rng = entry.rng(Stream.INIT)
    terms, spec = entry.terms, entry.spec
    limits = (terms.capacity_w, terms.flex_up_w, terms.flex_down_w)
    if isinstance(spec, solar.PvSystem):
        sp = solar.SolarParams(spec, profiles.pv(spec.lat, spec.lon, spec.tilt_deg, spec.azimuth_deg))
        return ProducerDer(
            SourceKind.SOLAR, sp, solar.initial_state(sp, rng), solar.step, *limits, outages=outages
        )
    if isinstance(spec, wind.WindParams):
        return ProducerDer(
            SourceKind.WIND, spec, wind.initial_state(spec, rng), wind.step, *limits, outages=outages
        )
    if isinstance(spec, load.LoadSpec):
        lp = load.params_for(spec, profiles.load(spec.sector))
        return ConsumerDer(lp, load.initial_state(lp, rng), *limits, outages=outages)
    if realism.battery_round_trip_efficiency is not None:
        spec = replace(spec, round_trip_efficiency=realism.battery_round_trip_efficiency)
    if realism.battery_soc_window is not None:
        spec = replace(spec, soc_min=realism.battery_soc_window[0], soc_max=realism.battery_soc_window[1])
    return BatteryDer(spec, battery.initial_state(spec, rng), *limits, outages=outages)
