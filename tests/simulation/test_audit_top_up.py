"""The independent audit follows the fair top-up round: a commitment grown by ToppedUp is what the
delivery is checked and paid against; a top-up that does not add up, or of a non-participant, is a
problem (scripts/audit_run.py reads only events, so plain event tuples suffice here)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("audit_run", ROOT / "scripts" / "audit_run.py")
assert _spec is not None and _spec.loader is not None
audit_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(audit_run)

P = "0x" + "ab" * 20
TERMS = {"tariffUp": 3_600_000, "tariffDown": 3_600_000}
HOUR = 3_600


def events(extra_w: int, committed_w: int, who: str = P) -> list[tuple[str, dict[str, Any]]]:
    """A prosumer accepts 100 W for an hour, is topped up, delivers the topped-up energy and is paid."""
    delivered_wh = committed_w  # one hour
    payment = TERMS["tariffUp"] * committed_w * HOUR // 3_600_000
    return [
        ("Registered", {"prosumer": P, "terms": TERMS}),
        ("FlexibilityRequested", {"requestId": 1, "direction": 0, "durationS": HOUR}),
        ("Accepted", {"requestId": 1, "prosumer": P, "powerW": 100}),
        ("ToppedUp", {"requestId": 1, "prosumer": who, "extraW": extra_w, "committedW": committed_w}),
        ("DeliveryRecorded", {"requestId": 1, "prosumer": P, "committedW": committed_w,
                              "deliveredWh": delivered_wh, "compliant": True, "payment": payment}),
        ("RequestSettled", {"requestId": 1, "participants": 1, "compliant": 1,
                            "deliveredWh": delivered_wh, "paid": payment}),
        ("Transfer", {"from": audit_run.ZERO, "to": P, "value": payment}),
    ]  # fmt: skip


def test_a_topped_up_commitment_is_checked_and_paid_as_topped_up() -> None:
    verdict = audit_run.audit(events(extra_w=50, committed_w=150))
    assert verdict["ok"], verdict["problems"]


def test_a_top_up_that_does_not_add_up_is_a_problem() -> None:
    verdict = audit_run.audit(events(extra_w=50, committed_w=170))
    assert not verdict["ok"] and any("topped up 50 W from 100 W" in p for p in verdict["problems"])


def test_a_top_up_of_a_non_participant_is_a_problem() -> None:
    verdict = audit_run.audit(events(extra_w=50, committed_w=150, who="0x" + "cd" * 20))
    assert any("topped up without taking part" in p for p in verdict["problems"])
