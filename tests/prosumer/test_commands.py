"""The commands file a driver (the console) gives a running prosumer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from domain.terms import Terms
from domain.vocabulary import SourceKind
from prosumer.commands import CommandInbox, outage_from, terms_from

TERMS = Terms(SourceKind.SOLAR, 8_000, 20_000, 400, 1_600, 1_800, 2 * 10**17, 10**17)


def test_the_inbox_reads_each_complete_line_once(tmp_path: Path) -> None:
    path = tmp_path / "p.commands.jsonl"
    inbox = CommandInbox(path)
    assert inbox.poll() == []
    path.write_text('{"outage_s": 60}\nnot json\n[1]\n{"renegotiate"')
    assert inbox.poll() == [{"outage_s": 60}]
    with path.open("a") as f:
        f.write(': {"flex_up_w": 100}}\n')
    assert inbox.poll() == [{"renegotiate": {"flex_up_w": 100}}]
    assert inbox.poll() == []


def test_an_outage_starts_now_for_its_duration() -> None:
    now = datetime(2025, 6, 21, 9, tzinfo=UTC)
    assert outage_from({"outage_s": 1800}, now) == (now, now + timedelta(seconds=1800))
    for bad in ({}, {"outage_s": 0}, {"outage_s": True}, {"outage_s": "60"}, {"outage_s": 10**9}):
        assert outage_from(bad, now) is None


def test_new_terms_change_only_what_is_given_and_stay_valid() -> None:
    new = terms_from({"renegotiate": {"flex_up_w": 200, "kind": 3, "capacity_w": 1}}, TERMS)
    assert (
        new is not None and new.flex_up_w == 200 and new.capacity_w == 8_000 and new.kind == SourceKind.SOLAR
    )
    assert terms_from({"renegotiate": {"flex_up_w": 9_000}}, TERMS) is None  # above the capacity
    assert terms_from({"renegotiate": {}}, TERMS) is None
    assert terms_from({"outage_s": 5}, TERMS) is None


def test_a_clock_command_is_the_clock_from_then_on_and_the_last_one_wins_at_start(tmp_path: Path) -> None:
    from prosumer.commands import clock_from, last_clock

    start = datetime(2025, 6, 21, 10, tzinfo=UTC)
    c = clock_from({"clock": {"sim_start": start.isoformat(), "speed": 120, "real_start": 1000.0}})
    assert c is not None and c.sim_time(1001.0) == start + timedelta(seconds=120)
    assert clock_from({"clock": {"sim_start": start.isoformat(), "speed": 0, "real_start": 1}}) is None
    assert clock_from({"clock": {"speed": 2}}) is None
    path = tmp_path / "p.commands.jsonl"
    assert last_clock(path) is None
    path.write_text(
        '{"clock": {"sim_start": "2025-06-21T10:00:00Z", "speed": 60, "real_start": 5}}\n'
        '{"outage_s": 60}\n'
        '{"clock": {"sim_start": "2025-06-21T11:00:00Z", "speed": 0.001, "real_start": 9}}\n'
    )
    last = last_clock(path)
    assert last is not None and last.speed == 0.001 and last.sim_start == start + timedelta(hours=1)
