"""Event intervals -> flexibility requests, ISO 8601 durations and the report's shape (pure, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aggregator.openadr.mapping import (
    AGGREGATED,
    MappingError,
    Outcome,
    Participant,
    plan_requests,
    report_body,
)
from aggregator.openadr.models import EventRequest, Report
from aggregator.openadr.timing import TimingError, parse_duration
from tests.aggregator.openadr.factories import make_event, make_interval

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC).timestamp()
START = "2026-06-01T12:30:00Z"


def event(*values: float, **kw: object) -> EventRequest:
    return EventRequest.model_validate(make_event("program-1", START, *values, **kw))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT15M", 900),
        ("PT1H", 3600),
        ("P1D", 86_400),
        ("P1W", 7 * 86_400),
        ("PT1H30M15S", 5415),
        ("PT0.5S", 0.5),
        ("P1Y", 365 * 86_400),
        ("-PT5M", -300),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_p9999y_is_infinity_and_garbage_is_refused() -> None:
    assert parse_duration("P9999Y") is None
    with pytest.raises(TimingError, match="ISO 8601"):
        parse_duration("15 minutes")


def test_consecutive_capacity_intervals_become_requests_in_order() -> None:
    planned = plan_requests(event(20, 10), NOW)
    assert [(p.interval_id, p.direction, p.power_w, p.duration_s) for p in planned] == [
        (0, "up", 20_000, 600),
        (1, "up", 10_000, 600),
    ]
    start = datetime(2026, 6, 1, 12, 30, tzinfo=UTC).timestamp()
    assert [p.start for p in planned] == [start, start + 600]  # the second follows the first
    assert planned[0].lead_time_s(NOW, 300) == 1800 and planned[1].lead_time_s(NOW, 300) == 2400
    assert planned[0].lead_time_s(start + 100, 300) == 300  # a start that passed gets the shortest lead


@pytest.mark.parametrize(
    ("kind", "value", "direction", "power"),
    [
        ("IMPORT_CAPACITY_LIMIT", 5, "up", 5_000),
        ("EXPORT_CAPACITY_LIMIT", 5, "down", 5_000),
        ("DISPATCH_SETPOINT_RELATIVE", -2.5, "up", 2_500),  # consume 2.5 kW less: more to the grid
        ("DISPATCH_SETPOINT_RELATIVE", 3, "down", 3_000),
    ],
)
def test_direction_and_sign_convention(kind: str, value: float, direction: str, power: int) -> None:
    [p] = plan_requests(event(value, kind=kind), NOW)
    assert (p.direction, p.power_w, p.payload_type) == (direction, power, kind)


@pytest.mark.parametrize(("units", "watts"), [("KW", 2_000), ("W", 2), ("MW", 2_000_000), ("kw", 2_000)])
def test_units(units: str, watts: int) -> None:
    assert plan_requests(event(2, units=units), NOW)[0].power_w == watts


def test_now_start_and_own_periods() -> None:
    body = make_event("p", "0001-01-01T00:00:00Z", 1, 2)
    body["intervals"][1]["intervalPeriod"] = {"start": "2026-06-01T13:00:00Z", "duration": "PT5M"}
    planned = plan_requests(EventRequest.model_validate(body), NOW)
    assert planned[0].start == NOW and planned[0].duration_s == 600  # 'now', the event's duration
    assert (
        planned[1].start == datetime(2026, 6, 1, 13, tzinfo=UTC).timestamp() and planned[1].duration_s == 300
    )


def test_event_duration_cuts_later_intervals_and_multi_values_split() -> None:
    cut = {**make_event("p", START, 1, 2, 3), "duration": "PT15M"}  # the third starts after 15 min
    assert len(plan_requests(EventRequest.model_validate(cut), NOW)) == 2
    body = make_event("p", START, 1)
    body["intervals"][0]["payloads"][0]["values"] = [4, 8]
    parts = plan_requests(EventRequest.model_validate(body), NOW)
    assert [(p.part, p.power_w, p.duration_s) for p in parts] == [(0, 4_000, 300), (1, 8_000, 300)]
    assert parts[1].start - parts[0].start == 300


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"intervals": [make_interval(0, 5, "PRICE")]}, r"\['PRICE'\] are not supported"),
        ({"intervals": [make_interval(0, -5)]}, "must be positive"),
        ({"intervals": [make_interval(0, 0, "DISPATCH_SETPOINT_RELATIVE")]}, "not a power"),
        (
            {"intervals": [{"id": 0, "payloads": [{"type": "IMPORT_CAPACITY_LIMIT", "values": ["x"]}]}]},
            "needs a number",
        ),
        ({"intervalPeriod": {"start": START}}, "has no duration"),
        ({"intervalPeriod": {"start": START, "duration": "P9999Y"}}, "finite, positive duration"),
        ({"intervalPeriod": {"start": "2026-06-01T10:00:00Z", "duration": "PT10M"}}, "already ended"),
        (
            {
                "payloadDescriptors": [
                    {
                        "objectType": "EVENT_PAYLOAD_DESCRIPTOR",
                        "payloadType": "IMPORT_CAPACITY_LIMIT",
                        "units": "KWH",
                    }
                ]
            },
            "units 'KWH'",
        ),
        ({"intervalPeriod": {"start": START, "duration": "P8D"}}, "1 s to 604800 s"),
    ],
)
def test_refusals_say_what_to_change(change: dict[str, object], message: str) -> None:
    body = {**make_event("p", START, 5), **change}
    with pytest.raises(MappingError, match=message):
        plan_requests(EventRequest.model_validate(body), NOW)


def test_report_body_is_a_valid_report_with_delivery_and_participants() -> None:
    done = Outcome(
        interval_id=0,
        part=0,
        request_id=7,
        status="settled",
        power_w=4_000,
        duration_s=600,
        start=1_780_000_000,
        end=1_780_000_600,
        chain_request_id=3,
        requested_wh=667,
        delivered_wh=600,
        participants=2,
        compliant=1,
        responses=[Participant("0xaa", 2_000, 330, True), Participant("0xbb", 2_000, 270, False)],
    )
    body = report_body("event-1", "capacity", [done])
    report = Report.model_validate(
        {
            **body,
            "id": "r-1",
            "createdDateTime": "2026-06-01T12:00:00Z",
            "modificationDateTime": "2026-06-01T12:00:00Z",
            "objectType": "REPORT",
            "clientID": "flexsim-aggregator",
        }
    )
    agg, first, second = report.resources
    assert agg.resource_name == AGGREGATED and [r.resource_name for r in (first, second)] == ["0xaa", "0xbb"]
    values = {p.type: p.values for p in agg.intervals[0].payloads}
    assert values["REQUESTED_POWER"] == [4.0] and values["DELIVERED_POWER"] == [3.6]  # 600 Wh in 10 min
    assert values["COMPLIANCE"] == [pytest.approx(89.96, abs=0.01)] and values["PARTICIPANTS"] == [2]
    assert values["COMPLIANT_PARTICIPANTS"] == [1] and values["REQUEST_STATUS"] == ["settled"]
    assert {p.type: p.values for p in second.intervals[0].payloads}["COMPLIANT"] == [False]
    assert (
        agg.intervals[0].interval_period is not None and agg.intervals[0].interval_period.duration == "PT600S"
    )
