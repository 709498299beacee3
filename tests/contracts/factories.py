"""Plain factory functions for terms, schedules and fresh accounts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from eth_account import Account

from contracts.chain import Chain
from contracts.sender import Sender
from contracts.types import SourceKind, Terms

TARIFF_UP = 2 * 10**17  # 0.2 token per kWh
TARIFF_DOWN = 15 * 10**16  # 0.15 token per kWh
DAY_S = 86_400


def make_terms(**overrides: Any) -> Terms:
    """A solar DER: 8 kW, 2 kW up and down (so 25 % of capacity), 0.2 / 0.15 token per kWh."""
    terms = Terms(
        kind=SourceKind.SOLAR,
        capacity_w=8_000,
        expected_wh_per_day=20_000,
        flex_up_w=2_000,
        flex_down_w=2_000,
        max_duration_s=3_600,
        tariff_up=TARIFF_UP,
        tariff_down=TARIFF_DOWN,
    )
    return replace(terms, **overrides)


@dataclass(frozen=True)
class Schedule:
    """A request's times: acceptance closes at `deadline`, the window is [start, end)."""

    deadline: int
    start: int
    end: int
    duration_s: int

    def args(self) -> tuple[int, int, int, int]:
        """As `MarketBinding.modify_request` takes them after the power: duration, start, end, deadline."""
        return self.duration_s, self.start, self.end, self.deadline


def make_schedule(
    now: int, deadline_in: int = 60, start_in: int = 120, duration_s: int = 3_600, window_s: int | None = None
) -> Schedule:
    """Times relative to `now` (the latest block's timestamp); the window lasts `duration_s` unless given."""
    start = now + start_in
    return Schedule(
        deadline=now + deadline_in,
        start=start,
        end=start + (duration_s if window_s is None else window_s),
        duration_s=duration_s,
    )


def new_key() -> str:
    return "0x" + bytes(Account.create().key).hex()


def funded_senders(chain: Chain, funder: Sender, count: int, wei: int = 10**18) -> list[Sender]:
    """`count` senders with fresh keys, each funded by `funder` through `Sender.send_value`.

    The transfers run from a thread pool: the sender serialises the sends (one nonce each) and the
    waits for receipts overlap.
    """
    senders = [Sender(chain, new_key()) for _ in range(count)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda s: funder.send_value(s.address, wei), senders))
    return senders
