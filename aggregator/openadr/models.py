"""The OpenADR 3.1.1 objects this VTN serves, as the specification's OpenAPI document defines them.

Requests (what a client sends) ignore unknown fields, as the document does not forbid them; responses
carry the server-set metadata `id`, `createdDateTime`, `modificationDateTime` (RFC 3339, UTC) and
`objectType` (one of `PROGRAM`, `EVENT`, `REPORT`, `SUBSCRIPTION`, `VEN`). Durations stay ISO 8601
strings on the wire (`timing.parse_duration` reads them); date-times are parsed and written back in UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
)

DURATION_PATTERN = (  # the specification's `duration` pattern
    r"^(-?)P(?=\d|T\d)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)([DW]))?"
    r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def rfc3339(value: datetime) -> str:
    return _utc(value).isoformat().replace("+00:00", "Z")


DateTime = Annotated[datetime, AfterValidator(_utc), PlainSerializer(rfc3339, return_type=str)]
_DURATION = re.compile(DURATION_PATTERN)


def _duration(value: str) -> str:
    if _DURATION.match(value) is None:
        raise ValueError(f"{value!r} is not an ISO 8601 duration (e.g. PT15M, PT1H, P1D)")
    return value


Duration = Annotated[str, StringConstraints(max_length=64), AfterValidator(_duration)]
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$")


def _uri(value: str) -> str:
    if _URI.match(value) is None:
        raise ValueError(f"{value!r} is not an absolute URI (RFC 3986), e.g. https://example.org/callback")
    return value


Uri = Annotated[str, StringConstraints(min_length=2, max_length=8000), AfterValidator(_uri)]
ObjectID = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9_-]*$", min_length=1, max_length=128)]
Name128 = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Target = Name128


class ObjectType(StrEnum):
    PROGRAM = "PROGRAM"
    EVENT = "EVENT"
    REPORT = "REPORT"
    SUBSCRIPTION = "SUBSCRIPTION"
    VEN = "VEN"
    RESOURCE = "RESOURCE"


class Wire(BaseModel):
    """camelCase names as in the specification; unknown fields ignored; absent values left out (the
    specification makes several of them non-nullable)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class IntervalPeriod(Wire):
    start: DateTime | None = None
    duration: Duration | None = None
    randomize_start: Duration | None = Field(None, alias="randomizeStart")


class Point(Wire):
    x: float
    y: float


Value = float | int | str | bool | Point


class ValuesMap(Wire):
    type: Name128
    values: list[Value]


class Interval(Wire):
    id: int = Field(ge=-(2**31), lt=2**31)
    interval_period: IntervalPeriod | None = Field(None, alias="intervalPeriod")
    payloads: list[ValuesMap]


class EventPayloadDescriptor(Wire):
    object_type: Literal["EVENT_PAYLOAD_DESCRIPTOR"] = Field(alias="objectType")
    payload_type: Name128 = Field(alias="payloadType")
    units: Name128 | None = None
    currency: str | None = None


class ReportPayloadDescriptor(Wire):
    object_type: Literal["REPORT_PAYLOAD_DESCRIPTOR"] = Field(alias="objectType")
    payload_type: Name128 = Field(alias="payloadType")
    reading_type: Name128 | None = Field(None, alias="readingType")
    units: Name128 | None = None
    accuracy: float | None = None
    confidence: int | None = Field(None, ge=0, le=100)


class ReportDescriptor(Wire):
    payload_type: Name128 = Field(alias="payloadType")
    reading_type: Name128 | None = Field(None, alias="readingType")
    units: Name128 | None = None
    targets: list[Target] | None = None
    aggregate: bool = False
    start_interval: int = Field(-1, alias="startInterval", ge=-(2**31), lt=2**31)
    num_intervals: int = Field(-1, alias="numIntervals", ge=-(2**31), lt=2**31)
    historical: bool = True
    frequency: int = Field(-1, ge=-(2**31), lt=2**31)
    repeat: int = Field(1, ge=-(2**31), lt=2**31)
    report_intervals: Literal["INTERVALS", "SUB_INTERVALS", "OPEN_INTERVALS"] = Field(
        "INTERVALS", alias="reportIntervals"
    )


class ProgramDescription(Wire):
    url: Uri = Field(alias="URL")


class ProgramRequest(Wire):
    program_name: Name128 = Field(alias="programName")
    interval_period: IntervalPeriod | None = Field(None, alias="intervalPeriod")
    program_descriptions: list[ProgramDescription] | None = Field(None, alias="programDescriptions")
    payload_descriptors: list[EventPayloadDescriptor | ReportPayloadDescriptor] | None = Field(
        None, alias="payloadDescriptors"
    )
    attributes: list[ValuesMap] | None = None
    targets: list[Target] | None = None


class EventRequest(Wire):
    program_id: ObjectID = Field(alias="programID")
    event_name: str | None = Field(None, alias="eventName")
    duration: Duration | None = None
    priority: int | None = Field(None, ge=0, lt=2**63)
    targets: list[Target] | None = None
    report_descriptors: list[ReportDescriptor] | None = Field(None, alias="reportDescriptors")
    payload_descriptors: list[EventPayloadDescriptor] | None = Field(None, alias="payloadDescriptors")
    interval_period: IntervalPeriod | None = Field(None, alias="intervalPeriod")
    intervals: list[Interval] | None = None


class ReportResource(Wire):
    resource_name: Name128 = Field(alias="resourceName")
    interval_period: IntervalPeriod | None = Field(None, alias="intervalPeriod")
    intervals: list[Interval]


class ReportRequest(Wire):
    event_id: ObjectID = Field(alias="eventID")
    client_name: Name128 = Field(alias="clientName")
    report_name: str | None = Field(None, alias="reportName")
    payload_descriptors: list[ReportPayloadDescriptor] | None = Field(None, alias="payloadDescriptors")
    resources: list[ReportResource]


class ObjectOperation(Wire):
    objects: list[ObjectType]
    operations: list[Literal["READ", "CREATE", "UPDATE", "DELETE"]]
    callback_url: Uri = Field(alias="callbackUrl")
    bearer_token: str | None = Field(None, alias="bearerToken")


class SubscriptionRequest(Wire):
    client_name: Name128 = Field(alias="clientName")
    program_id: ObjectID | None = Field(None, alias="programID")
    object_operations: list[ObjectOperation] = Field(alias="objectOperations")
    targets: list[Target] | None = None


class BlVenRequest(Wire):
    object_type: Literal["BL_VEN_REQUEST"] = Field(alias="objectType")
    client_id: Name128 = Field(alias="clientID")
    targets: list[Target] | None = None
    ven_name: Name128 = Field(alias="venName")
    attributes: list[ValuesMap] | None = None


class VenVenRequest(Wire):
    object_type: Literal["VEN_VEN_REQUEST"] = Field(alias="objectType")
    ven_name: Name128 = Field(alias="venName")
    attributes: list[ValuesMap] | None = None


class Metadata(Wire):
    """The server-set fields of every object (`objectMetadata`)."""

    id: ObjectID
    created_date_time: DateTime = Field(alias="createdDateTime")
    modification_date_time: DateTime = Field(alias="modificationDateTime")
    object_type: ObjectType = Field(alias="objectType")


class Program(Metadata, ProgramRequest):
    pass


class Event(Metadata, EventRequest):
    pass


class Report(Metadata, ReportRequest):
    client_id: Name128 = Field(alias="clientID")


class Subscription(Metadata, SubscriptionRequest):
    client_id: Name128 = Field(alias="clientID")


class Ven(Metadata):
    """A VEN as stored: `BlVenRequest`'s fields with the server's metadata (`objectType` VEN)."""

    client_id: Name128 = Field(alias="clientID")
    targets: list[Target] | None = None
    ven_name: Name128 = Field(alias="venName")
    attributes: list[ValuesMap] | None = None


class Problem(Wire):
    type: str = "about:blank"
    title: str
    status: int
    detail: str


class AuthServerInfo(Wire):
    token_url: str = Field(alias="tokenURL")


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    scope: str | None = None


REQUEST_MODELS: dict[ObjectType, type[Wire]] = {
    ObjectType.PROGRAM: ProgramRequest,
    ObjectType.EVENT: EventRequest,
    ObjectType.REPORT: ReportRequest,
    ObjectType.SUBSCRIPTION: SubscriptionRequest,
}
OBJECT_MODELS: dict[ObjectType, type[Metadata]] = {
    ObjectType.PROGRAM: Program,
    ObjectType.EVENT: Event,
    ObjectType.REPORT: Report,
    ObjectType.SUBSCRIPTION: Subscription,
    ObjectType.VEN: Ven,
}
