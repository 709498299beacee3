"""The VTN's objects against the specification's own schemas (tests/data/openadr3/openadr3.yaml)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from aggregator.openadr.mapping import Outcome, report_body
from aggregator.openadr.models import OBJECT_MODELS, EventRequest, ObjectType, ProgramRequest, rfc3339
from tests.aggregator.openadr.factories import make_event, make_program
from tests.aggregator.openadr.spec import errors

T = datetime(2026, 6, 1, 12, 0, 30, 123456, tzinfo=UTC)


def server_object(kind: ObjectType, fields: dict[str, Any]) -> dict[str, Any]:
    meta = {
        "id": f"{kind.value.lower()}-1",
        "createdDateTime": T,
        "modificationDateTime": T,
        "objectType": kind.value,
    }
    return OBJECT_MODELS[kind].model_validate({**fields, **meta}).wire()


def test_metadata_is_exactly_the_specifications() -> None:
    program = server_object(ObjectType.PROGRAM, make_program())
    assert program["id"] == "program-1" and program["objectType"] == "PROGRAM"
    assert program["createdDateTime"] == "2026-06-01T12:00:30.123456Z" == program["modificationDateTime"]
    assert rfc3339(datetime(2026, 1, 1)) == "2026-01-01T00:00:00Z"  # naive times are UTC


@pytest.mark.parametrize(
    ("kind", "schema", "fields"),
    [
        (
            ObjectType.PROGRAM,
            "program",
            make_program(intervalPeriod={"start": "2026-06-01T00:00:00Z", "duration": "P1Y"}),
        ),
        (ObjectType.EVENT, "event", make_event("program-1", "2026-06-01T12:30:00Z", 20, 10)),
        (
            ObjectType.REPORT,
            "report",
            {
                **report_body(
                    "event-1",
                    None,
                    [Outcome(0, 0, 1, "settled", 1000, 600, 1_780_000_000, 1_780_000_600, 1, 167, 160, 1, 1)],
                ),
                "clientID": "agg",
            },
        ),
        (
            ObjectType.SUBSCRIPTION,
            "subscription",
            {
                "clientName": "grid",
                "clientID": "grid",
                "objectOperations": [
                    {"objects": ["EVENT"], "operations": ["CREATE"], "callbackUrl": "https://example.org/cb"}
                ],
            },
        ),
    ],
)
def test_server_objects_conform_to_the_specification(
    kind: ObjectType, schema: str, fields: dict[str, Any]
) -> None:
    obj = server_object(kind, fields)
    assert errors(schema, obj) == []


def test_the_validator_can_fail() -> None:
    obj = server_object(ObjectType.PROGRAM, make_program())
    assert any("objectType" in e for e in errors("program", {**obj, "objectType": "PROG"}))
    assert any(
        "createdDateTime" in e
        for e in errors("program", {k: v for k, v in obj.items() if k != "createdDateTime"})
    )


def test_the_specifications_ven_schema_cannot_be_met() -> None:
    """`ven` is allOf objectMetadata (objectType in PROGRAM..RESOURCE) and BlVenRequest (objectType
    BL_VEN_REQUEST): no object satisfies both; the VTN answers objectType VEN (docs/openadr.md)."""
    ven = server_object(ObjectType.VEN, {"clientID": "0xaa", "venName": "ven-1"})
    assert ven["objectType"] == "VEN"
    assert any("BL_VEN_REQUEST" in e for e in errors("ven", ven))
    assert any(
        '"BL_VEN_REQUEST" is not one of' in e for e in errors("ven", {**ven, "objectType": "BL_VEN_REQUEST"})
    )


def test_requests_accept_what_the_specifications_examples_send() -> None:
    event = EventRequest.model_validate(make_event("p-1", "0001-01-01", 5))
    assert event.interval_period is not None and event.interval_period.start is not None
    assert event.interval_period.start.year == 1
    assert ProgramRequest.model_validate({"programName": "x", "unknownField": 1}).program_name == "x"
    with pytest.raises(ValueError, match="programID"):
        EventRequest.model_validate({"programID": "has space"})
