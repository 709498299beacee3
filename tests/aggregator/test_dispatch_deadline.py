"""A stage allowed only after the deadline is tried again while the chain still sees the deadline."""

from __future__ import annotations

from typing import Any, cast

import pytest

from aggregator.dispatch import Dispatcher
from contracts.errors import AcceptanceStillOpen


class Info:
    request_id = 1
    start = 100


def dispatcher(now: list[float]) -> Dispatcher:
    def sleep(s: float) -> None:
        now[0] += s

    return Dispatcher(cast(Any, None), cast(Any, None), wall=lambda: now[0], sleep=sleep, block_time_s=1.0)


def test_a_stage_the_chain_refuses_before_its_deadline_is_tried_again() -> None:
    now = [50.0]
    tries: list[float] = []

    def stage() -> None:
        tries.append(now[0])
        if len(tries) < 3:
            raise AcceptanceStillOpen("AcceptanceStillOpen", (1, 49))

    dispatcher(now)._after_deadline(cast(Any, Info()), stage)
    assert len(tries) == 3 and tries[0] < tries[1] < tries[2]


def test_it_gives_up_just_before_the_start() -> None:
    now = [97.0]

    def stage() -> None:
        raise AcceptanceStillOpen("AcceptanceStillOpen", (1, 49))

    with pytest.raises(AcceptanceStillOpen):
        dispatcher(now)._after_deadline(cast(Any, Info()), stage)
    assert now[0] >= 98.0
