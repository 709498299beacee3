""" "Notified" measured from the prosumers' own records: the line each logs when a request reaches it,
gathered per request; the last prosumer and the 95th percentile, against the same bound."""

from __future__ import annotations

from pathlib import Path

from prosumer.worker import NOTICE
from simulation.notices import notified_stats, parse_notices, read_notices
from simulation.summary import latencies
from tests.simulation.test_bounds import run_data


def line(rid: int, at: float) -> str:
    return "2026-11-30 18:00:00,000 INFO prosumer-3 prosumer.worker: " + NOTICE % (rid, 7, at)


def test_a_prosumer_log_says_when_it_learned_of_each_request() -> None:
    lines = ["noise", line(1, 105.25), line(2, 300.5), line(1, 109.0)]  # a repeat keeps the first
    assert parse_notices(lines) == {1: 105.25, 2: 300.5}


def test_the_notices_of_a_fleet_are_gathered_per_request(tmp_path: Path) -> None:
    (tmp_path / "prosumer-0000.log").write_text(line(1, 105.5) + "\n")
    (tmp_path / "prosumer-0001.log").write_text(line(1, 106.0) + "\n" + line(2, 200.0) + "\n")
    (tmp_path / "aggregator.log").write_text(line(1, 999.0) + "\n")  # not a prosumer's
    assert read_notices(tmp_path) == {1: [105.5, 106.0], 2: [200.0]}


def test_notified_is_the_last_prosumer_and_the_95th_percentile() -> None:
    times = [100.0 + 0.1 * k for k in range(40)]
    assert notified_stats(times, since=99.0) == (4.9, 4.7)  # 38th of 40 by nearest rank
    assert notified_stats([], since=99.0) is None


def test_a_run_reports_the_prosumers_records_not_the_block() -> None:
    run = run_data(101.5)
    (chain_only,) = latencies(run)
    assert chain_only.notified_s == 8.5 and chain_only.notified_p95_s is None  # the block seen at 110
    run.notices = {1: [110.2, 110.4, 111.9]}
    (told,) = latencies(run)
    assert (told.notified_s, told.notified_p95_s, told.notified_prosumers) == (10.4, 10.4, 3)
