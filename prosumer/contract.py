"""The prosumer's contract over time (rules R2, R3): pure functions of terms, time and a generator.

- The registered terms are the DER model's (`PopulationEntry.terms`), with an expiry
  `contract_horizon_s` simulated seconds ahead (on the chain clock, real seconds).
- Renegotiations arrive as a Poisson process (rate per simulated hour). Within `after_outage_window_s`
  after an outage the rate is the higher after-outage rate and the renegotiation goes **downwards**
  (less flexibility promised, so fewer penalties; the registry counts it against the reputation).
  Otherwise it goes down or, when the terms are below the model's, back up to them, with equal odds.
- A downward renegotiation keeps a uniform 50-90 % of the flexibility in each direction.
- Renewal: same terms, new expiry, once the expiry is within `renew_before_s` simulated seconds.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np

from contracts.types import Terms
from domain.outages import Outage

DOWN_KEEP = (0.5, 0.9)


def expiry_after(now_real: float, horizon_sim_s: float, speed: float) -> int:
    """Chain expiry (epoch s) `horizon_sim_s` simulated seconds after `now_real`."""
    return math.ceil(now_real + horizon_sim_s / speed)


def needs_renewal(expiry: int, now_real: float, renew_before_sim_s: float, speed: float) -> bool:
    """True when the contract expires within `renew_before_sim_s` simulated seconds."""
    return expiry - now_real <= renew_before_sim_s / speed


def event_probability(rate_per_hour: float, dt_sim_s: float) -> float:
    """Probability that a Poisson process of `rate_per_hour` fires within `dt_sim_s` seconds."""
    return 1.0 - math.exp(-max(0.0, rate_per_hour) * max(0.0, dt_sim_s) / 3600.0)


def after_outage(outages: list[Outage], now: datetime, window_s: float) -> bool:
    """True when an outage is ongoing or ended less than `window_s` ago (a start-sorted schedule)."""
    since = now - timedelta(seconds=window_s)
    return any(o.start <= now and o.end > since for o in outages)


def is_below(current: Terms, model: Terms) -> bool:
    return current.flex_up_w < model.flex_up_w or current.flex_down_w < model.flex_down_w


def downward(current: Terms, rng: np.random.Generator) -> Terms:
    """Less flexibility both ways: a uniform 50-90 % of the current amounts, whole W."""
    up = int(current.flex_up_w * rng.uniform(*DOWN_KEEP))
    down = int(current.flex_down_w * rng.uniform(*DOWN_KEEP))
    return replace(current, flex_up_w=up, flex_down_w=down)


def renegotiation(
    current: Terms,
    model: Terms,
    dt_sim_s: float,
    rate_per_hour: float,
    after_outage_rate_per_hour: float,
    recent_outage: bool,
    rng: np.random.Generator,
) -> Terms | None:
    """New terms if a renegotiation happens in the next `dt_sim_s` simulated seconds, else None.

    Two draws are always taken (whether it happens, which way), so the stream stays aligned."""
    rate = after_outage_rate_per_hour if recent_outage else rate_per_hour
    happens = rng.random() < event_probability(rate, dt_sim_s)
    coin = rng.random()
    if not happens:
        return None
    if not recent_outage and is_below(current, model) and coin < 0.5:
        return model
    new = downward(current, rng)
    return new if new != current else None
