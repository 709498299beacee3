"""The run's progress line: simulated time up to the scenario's end, then the wait for settlements."""

from __future__ import annotations

from simulation.orchestrator import _note
from simulation.scenario import load_scenario


def test_the_note_counts_simulated_time_within_the_scenario() -> None:
    s = load_scenario("quick")
    half = s.real_duration_s / 2
    note = _note(s, half, 12, 1)
    assert note.startswith(f"simulated {s.duration_s / 7200:5.2f} h of {s.duration_s / 3600:.2f}")
    assert "12 prosumers running, 1 removed" in note


def test_past_the_end_the_note_waits_for_settlements_instead_of_counting_on() -> None:
    s = load_scenario("quick")
    note = _note(s, s.real_duration_s + 30, 12, 0)
    hours = s.duration_s / 3600
    assert note.startswith(f"simulated {hours:.2f} h of {hours:.2f}; waiting 30 s for the last settlements")
