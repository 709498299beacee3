"""The VTN's object routes: programs, events, reports, subscriptions and vens (OpenADR 3.1.1).

Who may do what (the specification's scopes): the business-logic client (the grid operator) writes
programs and events and reads everything; a VEN (a prosumer) reads programs and events, and writes and
reads its own reports, subscriptions and ven. Lists take `skip` and `limit` (at most 50) and the
filters the specification names. Blocking database work runs in FastAPI's thread pool (plain `def`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, status
from pydantic import BaseModel, ValidationError

from aggregator.context import AppContext
from aggregator.errors import Conflict, Forbidden, NotFound
from aggregator.openadr import vtn
from aggregator.openadr.auth import BusinessLogic, Caller
from aggregator.openadr.mapping import REPORT_CLIENT
from aggregator.openadr.models import (
    BlVenRequest,
    EventRequest,
    ObjectType,
    ProgramRequest,
    ReportRequest,
    SubscriptionRequest,
    VenVenRequest,
)
from aggregator.openadr.objects import ObjectBook, to_wire
from aggregator.openadr.timing import TimingError, interval_windows
from aggregator.openadr.tokens import Client
from aggregator.tables import OpenadrObject

router = APIRouter()
ID = Annotated[str, Path(pattern=r"^[a-zA-Z0-9_-]*$", min_length=1, max_length=128)]
Skip = Annotated[int, Query(ge=0, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=0, le=50)]
Targets = Annotated[list[Annotated[str, Query(min_length=1, max_length=128)]] | None, Query()]
Name = Annotated[str | None, Query(min_length=1, max_length=128)]
ObjID = Annotated[str | None, Query(pattern=r"^[a-zA-Z0-9_-]*$", min_length=1, max_length=128)]


class BadRequest(vtn.EventInvalid):
    """A body that is not the object the route takes (400)."""


def _ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


def _book(request: Request) -> ObjectBook:
    return ObjectBook(_ctx(request).db)


def _body(raw: bytes, model: type[BaseModel]) -> dict[str, Any]:
    """The body validated by `model`, as the wire dict to store (400 with every problem otherwise)."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadRequest("the body is not JSON: send the object as application/json") from None
    if not isinstance(data, dict):
        raise BadRequest(f"the body must be a JSON object ({model.__name__})")
    try:
        obj = model.model_validate(data)
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise BadRequest(f"invalid {model.__name__}: {detail}") from None
    return obj.model_dump(mode="json", by_alias=True)


def _page(
    rows: Sequence[OpenadrObject], skip: int, limit: int | None, targets: list[str] | None
) -> list[dict[str, Any]]:
    objects = [to_wire(r) for r in rows]
    if targets:
        objects = [o for o in objects if set(o.get("targets") or ()) & set(targets)]
    return objects[skip : skip + (50 if limit is None else limit)]


# ----------------------------------------------------------------------------------- programs


@router.get("/programs", tags=["programs"])
def search_programs(
    request: Request, _: Caller, targets: Targets = None, skip: Skip = 0, limit: Limit | None = None
) -> list[dict[str, Any]]:
    return _page(_book(request).list(ObjectType.PROGRAM), skip, limit, targets)


@router.post("/programs", tags=["programs"], status_code=status.HTTP_201_CREATED)
async def create_program(request: Request, _: BusinessLogic) -> dict[str, Any]:
    body = _body(await request.body(), ProgramRequest)
    return to_wire(_book(request).create(ObjectType.PROGRAM, body))


@router.get("/programs/{programID}", tags=["programs"])
def get_program(request: Request, _: Caller, programID: ID) -> dict[str, Any]:  # noqa: N803
    return to_wire(_book(request).get(ObjectType.PROGRAM, programID))


@router.put("/programs/{programID}", tags=["programs"])
async def update_program(request: Request, _: BusinessLogic, programID: ID) -> dict[str, Any]:  # noqa: N803
    body = _body(await request.body(), ProgramRequest)
    return to_wire(_book(request).replace(ObjectType.PROGRAM, programID, body))


@router.delete("/programs/{programID}", tags=["programs"])
def delete_program(request: Request, _: BusinessLogic, programID: ID) -> dict[str, Any]:  # noqa: N803
    book = _book(request)
    book.get(ObjectType.PROGRAM, programID)
    events = book.list(ObjectType.EVENT, program_id=programID)
    if events:
        raise BadRequest(f"program {programID} has {len(events)} event(s): delete them first")
    return to_wire(book.delete(ObjectType.PROGRAM, programID))


# ------------------------------------------------------------------------------------- events


@router.get("/events", tags=["events"])
def search_events(
    request: Request,
    _: Caller,
    programID: ObjID = None,  # noqa: N803
    targets: Targets = None,
    skip: Skip = 0,
    limit: Limit | None = None,
    active: bool | None = None,
) -> list[dict[str, Any]]:
    """Events; `active=true`: only those whose lifespan includes now (User Guide 7.3), `false`: the others."""
    rows = _book(request).list(ObjectType.EVENT, program_id=programID)
    if active is not None:
        now = _ctx(request).clock.now_epoch()
        rows = [r for r in rows if _is_active(r, now) == active]
    return _page(rows, skip, limit, targets)


def _is_active(row: OpenadrObject, now: float) -> bool:
    try:
        windows = interval_windows(EventRequest.model_validate(json.loads(row.body)), now)
    except (ValueError, TimingError):
        return False
    return bool(windows) and windows[0].start <= now < max(w.start + w.duration_s for w in windows)


def _event_in(request: Request, raw: bytes) -> tuple[dict[str, Any], EventRequest]:
    body = _body(raw, EventRequest)
    event = EventRequest.model_validate(body)
    if _book(request).find(ObjectType.PROGRAM, event.program_id) is None:
        raise Conflict(f"no program {event.program_id!r}: create it with POST /programs first")
    return body, event


@router.post("/events", tags=["events"], status_code=status.HTTP_201_CREATED)
async def create_event(request: Request, _: BusinessLogic) -> dict[str, Any]:
    body, event = _event_in(request, await request.body())
    ctx, book = _ctx(request), _book(request)
    planned = vtn.plan(ctx, event)  # refuses what cannot become requests before anything is stored
    row = book.create(ObjectType.EVENT, body)
    vtn.open_requests(ctx, book, row.id, planned)
    return to_wire(row)


@router.get("/events/{eventID}", tags=["events"])
def get_event(request: Request, _: Caller, eventID: ID) -> dict[str, Any]:  # noqa: N803
    return to_wire(_book(request).get(ObjectType.EVENT, eventID))


@router.put("/events/{eventID}", tags=["events"])
async def update_event(request: Request, _: BusinessLogic, eventID: ID) -> dict[str, Any]:  # noqa: N803
    book, ctx = _book(request), _ctx(request)
    book.get(ObjectType.EVENT, eventID)
    body, event = _event_in(request, await request.body())
    vtn.update_requests(ctx, book, eventID, vtn.plan(ctx, event))
    return to_wire(book.replace(ObjectType.EVENT, eventID, body))


@router.delete("/events/{eventID}", tags=["events"])
def delete_event(request: Request, _: BusinessLogic, eventID: ID) -> dict[str, Any]:  # noqa: N803
    book = _book(request)
    book.get(ObjectType.EVENT, eventID)
    vtn.cancel_requests(_ctx(request), book, eventID)  # 409 with the reason when one has started
    return to_wire(book.delete(ObjectType.EVENT, eventID))


# ------------------------------------------------------------------------------------ reports


def _own(client: Client, row: OpenadrObject) -> None:
    if client.role != "bl" and row.owner != client.client_id:
        raise NotFound(f"no {row.object_type.lower()} {row.id!r} of client {client.client_id}")


@router.get("/reports", tags=["reports"])
def search_reports(
    request: Request,
    client: Caller,
    programID: ObjID = None,
    eventID: ObjID = None,  # noqa: N803
    clientName: Name = None,
    skip: Skip = 0,
    limit: Limit | None = None,  # noqa: N803
) -> list[dict[str, Any]]:
    book = _book(request)
    owner = None if client.role == "bl" else client.client_id
    rows = book.list(ObjectType.REPORT, event_id=eventID, name=clientName, owner=owner)
    if programID is not None:
        events = {e.id for e in book.list(ObjectType.EVENT, program_id=programID)}
        rows = [r for r in rows if r.event_id in events]
    return _page(rows, skip, limit, None)


async def _report_in(request: Request, client: Client) -> dict[str, Any]:
    if client.role != "ven":
        raise Forbidden("only a VEN writes reports (write_reports); the aggregator writes its own")
    body = _body(await request.body(), ReportRequest)
    if _book(request).find(ObjectType.EVENT, body["eventID"]) is None:
        raise BadRequest(f"no event {body['eventID']!r}: a report belongs to an event")
    body["clientID"] = client.client_id
    return body


@router.post("/reports", tags=["reports"], status_code=status.HTTP_201_CREATED)
async def create_report(request: Request, client: Caller) -> dict[str, Any]:
    body = await _report_in(request, client)
    return to_wire(_book(request).create(ObjectType.REPORT, body, owner=client.client_id))


@router.get("/reports/{reportID}", tags=["reports"])
def get_report(request: Request, client: Caller, reportID: ID) -> dict[str, Any]:  # noqa: N803
    row = _book(request).get(ObjectType.REPORT, reportID)
    _own(client, row)
    return to_wire(row)


@router.put("/reports/{reportID}", tags=["reports"])
async def update_report(request: Request, client: Caller, reportID: ID) -> dict[str, Any]:  # noqa: N803
    book = _book(request)
    _own(client, book.get(ObjectType.REPORT, reportID))
    body = await _report_in(request, client)
    return to_wire(book.replace(ObjectType.REPORT, reportID, body))


@router.delete("/reports/{reportID}", tags=["reports"])
def delete_report(request: Request, client: Caller, reportID: ID) -> dict[str, Any]:  # noqa: N803
    book = _book(request)
    row = book.get(ObjectType.REPORT, reportID)
    _own(client, row)
    if row.owner == REPORT_CLIENT:
        raise Forbidden("the aggregator's settlement reports cannot be deleted")
    return to_wire(book.delete(ObjectType.REPORT, reportID))


# ------------------------------------------------------------------------------ subscriptions


@router.get("/subscriptions", tags=["subscriptions"])
def search_subscriptions(
    request: Request,
    client: Caller,
    programID: ObjID = None,
    clientName: Name = None,  # noqa: N803
    targets: Targets = None,
    objects: Annotated[list[ObjectType] | None, Query()] = None,
    skip: Skip = 0,
    limit: Limit | None = None,
) -> list[dict[str, Any]]:
    owner = None if client.role == "bl" else client.client_id
    rows = _book(request).list(ObjectType.SUBSCRIPTION, program_id=programID, name=clientName, owner=owner)
    return _page(rows, skip, limit, targets)


async def _subscription_in(request: Request, client: Client) -> dict[str, Any]:
    body = _body(await request.body(), SubscriptionRequest)
    body["clientID"] = client.client_id
    return body


@router.post("/subscriptions", tags=["subscriptions"], status_code=status.HTTP_201_CREATED)
async def create_subscription(request: Request, client: Caller) -> dict[str, Any]:
    body = await _subscription_in(request, client)
    return to_wire(_book(request).create(ObjectType.SUBSCRIPTION, body, owner=client.client_id))


@router.get("/subscriptions/{subscriptionID}", tags=["subscriptions"])
def get_subscription(request: Request, client: Caller, subscriptionID: ID) -> dict[str, Any]:  # noqa: N803
    row = _book(request).get(ObjectType.SUBSCRIPTION, subscriptionID)
    _own(client, row)
    return to_wire(row)


@router.put("/subscriptions/{subscriptionID}", tags=["subscriptions"])
async def update_subscription(request: Request, client: Caller, subscriptionID: ID) -> dict[str, Any]:  # noqa: N803
    book = _book(request)
    _own(client, book.get(ObjectType.SUBSCRIPTION, subscriptionID))
    body = await _subscription_in(request, client)
    return to_wire(book.replace(ObjectType.SUBSCRIPTION, subscriptionID, body))


@router.delete("/subscriptions/{subscriptionID}", tags=["subscriptions"])
def delete_subscription(request: Request, client: Caller, subscriptionID: ID) -> dict[str, Any]:  # noqa: N803
    book = _book(request)
    _own(client, book.get(ObjectType.SUBSCRIPTION, subscriptionID))
    return to_wire(book.delete(ObjectType.SUBSCRIPTION, subscriptionID))


# --------------------------------------------------------------------------------------- vens


@router.get("/vens", tags=["vens"])
def search_vens(
    request: Request,
    client: Caller,
    venName: Name = None,
    targets: Targets = None,  # noqa: N803
    skip: Skip = 0,
    limit: Limit | None = None,
) -> list[dict[str, Any]]:
    owner = None if client.role == "bl" else client.client_id
    return _page(_book(request).list(ObjectType.VEN, name=venName, owner=owner), skip, limit, targets)


async def _ven_in(request: Request, client: Client) -> dict[str, Any]:
    raw = await request.body()
    model: type[BaseModel] = BlVenRequest if client.role == "bl" else VenVenRequest
    body = _body(raw, model)
    kind = body.pop("objectType")
    if client.role == "ven":
        body["clientID"] = client.client_id
    elif kind != "BL_VEN_REQUEST":  # pragma: no cover - the model's literal guarantees it
        raise BadRequest("the business-logic client sends objectType BL_VEN_REQUEST")
    return body


@router.post("/vens", tags=["vens"], status_code=status.HTTP_201_CREATED)
async def create_ven(request: Request, client: Caller) -> dict[str, Any]:
    body = await _ven_in(request, client)
    try:
        row = _book(request).create(ObjectType.VEN, body, owner=body["clientID"])
    except Conflict as exc:  # the specification documents no 409 here
        raise BadRequest(str(exc)) from None
    return to_wire(row)


@router.get("/vens/{venID}", tags=["vens"])
def get_ven(request: Request, client: Caller, venID: ID) -> dict[str, Any]:  # noqa: N803
    row = _book(request).get(ObjectType.VEN, venID)
    _own(client, row)
    return to_wire(row)


@router.put("/vens/{venID}", tags=["vens"])
async def update_ven(request: Request, client: Caller, venID: ID) -> dict[str, Any]:  # noqa: N803
    book = _book(request)
    _own(client, book.get(ObjectType.VEN, venID))
    body = await _ven_in(request, client)
    return to_wire(book.replace(ObjectType.VEN, venID, body))


@router.delete("/vens/{venID}", tags=["vens"])
def delete_ven(request: Request, client: Caller, venID: ID) -> dict[str, Any]:  # noqa: N803
    book = _book(request)
    _own(client, book.get(ObjectType.VEN, venID))
    return to_wire(book.delete(ObjectType.VEN, venID))
