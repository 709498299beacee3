"""`ObjectBook`: the VTN's OpenADR objects and event-interval links in the aggregator's database.

Each object is one `tables.OpenadrObject` row: the client's fields as JSON, the server-set metadata
(`id`, created and modified times, `objectType`) in columns, plus what lists filter on (program,
event, name, owner). Returned values are the specification's objects (`models.OBJECT_MODELS`).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update

from aggregator.db import Database
from aggregator.errors import Conflict, NotFound
from aggregator.openadr.models import OBJECT_MODELS, ObjectType
from aggregator.tables import OpenadrLink, OpenadrObject

UNIQUE_NAMES = {ObjectType.PROGRAM: "programName", ObjectType.VEN: "venName"}


def to_wire(row: OpenadrObject) -> dict[str, Any]:
    """The specification's object of a row (validated through its model)."""
    kind = ObjectType(row.object_type)
    fields = {
        **json.loads(row.body),
        "id": row.id,
        "createdDateTime": datetime.fromtimestamp(row.created_at, UTC),
        "modificationDateTime": datetime.fromtimestamp(row.modified_at, UTC),
        "objectType": kind.value,
    }
    return OBJECT_MODELS[kind].model_validate(fields).wire()


class ObjectBook:
    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._clock = clock

    def create(self, kind: ObjectType, body: dict[str, Any], owner: str | None = None) -> OpenadrObject:
        now = self._clock()
        row = OpenadrObject(
            id=f"{kind.value.lower()}-{uuid.uuid4().hex[:16]}",
            object_type=kind.value,
            created_at=now,
            modified_at=now,
            owner=owner,
            **self._columns(kind, body),
        )
        with self.db.session() as s:
            self._check_unique(s, kind, row.name, None)
            s.add(row)
        return row

    def get(self, kind: ObjectType, object_id: str) -> OpenadrObject:
        with self.db.session() as s:
            row = s.get(OpenadrObject, object_id)
        if row is None or row.object_type != kind.value:
            raise NotFound(
                f"no {kind.value.lower()} {object_id!r}: list them with GET /{kind.value.lower()}s"
            )
        return row

    def find(self, kind: ObjectType, object_id: str) -> OpenadrObject | None:
        try:
            return self.get(kind, object_id)
        except NotFound:
            return None

    def list(
        self,
        kind: ObjectType,
        program_id: str | None = None,
        event_id: str | None = None,
        name: str | None = None,
        owner: str | None = None,
    ) -> Sequence[OpenadrObject]:
        stmt = select(OpenadrObject).where(OpenadrObject.object_type == kind.value)
        for column, value in (
            (OpenadrObject.program_id, program_id),
            (OpenadrObject.event_id, event_id),
            (OpenadrObject.name, name),
            (OpenadrObject.owner, owner),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        with self.db.session() as s:
            return s.scalars(stmt.order_by(OpenadrObject.created_at, OpenadrObject.id)).all()

    def replace(self, kind: ObjectType, object_id: str, body: dict[str, Any]) -> OpenadrObject:
        columns = self._columns(kind, body)
        with self.db.session() as s:
            self._check_unique(s, kind, columns["name"], object_id)
            changed = s.execute(
                update(OpenadrObject)
                .where(OpenadrObject.id == object_id, OpenadrObject.object_type == kind.value)
                .values(**columns, modified_at=self._clock())
            ).rowcount  # type: ignore[attr-defined]
        if changed == 0:
            self.get(kind, object_id)  # NotFound
        return self.get(kind, object_id)

    def delete(self, kind: ObjectType, object_id: str) -> OpenadrObject:
        row = self.get(kind, object_id)
        with self.db.session() as s:
            s.execute(delete(OpenadrObject).where(OpenadrObject.id == object_id))
        return row

    @staticmethod
    def _columns(kind: ObjectType, body: dict[str, Any]) -> dict[str, Any]:
        name_field = {
            ObjectType.PROGRAM: "programName",
            ObjectType.EVENT: "eventName",
            ObjectType.REPORT: "clientName",
            ObjectType.SUBSCRIPTION: "clientName",
            ObjectType.VEN: "venName",
        }[kind]
        name = body.get(name_field)
        return {
            "body": json.dumps(body, separators=(",", ":"), sort_keys=True),
            "program_id": body.get("programID"),
            "event_id": body.get("eventID"),
            "name": None if name is None else str(name)[:128],
        }

    @staticmethod
    def _check_unique(s: Any, kind: ObjectType, name: str | None, own_id: str | None) -> None:
        if kind not in UNIQUE_NAMES or name is None:
            return
        clash = s.scalars(
            select(OpenadrObject.id).where(
                OpenadrObject.object_type == kind.value, OpenadrObject.name == name
            )
        ).first()
        if clash is not None and clash != own_id:
            raise Conflict(
                f"a {kind.value.lower()} named {name!r} exists already ({clash}): use another name"
            )

    # ------------------------------------------------------------------ event interval -> request
    def link(self, event_id: str, interval_id: int, part: int, request_id: int, wanted_start: float) -> None:
        with self.db.session() as s:
            s.add(
                OpenadrLink(
                    event_id=event_id,
                    interval_id=interval_id,
                    part=part,
                    request_id=request_id,
                    wanted_start=wanted_start,
                    active=True,
                )
            )

    def links(self, event_id: str | None = None, active: bool | None = True) -> Sequence[OpenadrLink]:
        stmt = select(OpenadrLink)
        if event_id is not None:
            stmt = stmt.where(OpenadrLink.event_id == event_id)
        if active is not None:
            stmt = stmt.where(OpenadrLink.active == active)
        with self.db.session() as s:
            return s.scalars(stmt.order_by(OpenadrLink.id)).all()

    def retire(self, link_id: int) -> None:
        """The link no longer belongs to the event (interval removed or replaced)."""
        with self.db.session() as s:
            s.execute(update(OpenadrLink).where(OpenadrLink.id == link_id).values(active=False))

    def restart(self, link_id: int, wanted_start: float) -> None:
        with self.db.session() as s:
            s.execute(update(OpenadrLink).where(OpenadrLink.id == link_id).values(wanted_start=wanted_start))

    def report_of(self, event_id: str, owner: str) -> OpenadrObject | None:
        rows = self.list(ObjectType.REPORT, event_id=event_id, owner=owner)
        return rows[0] if rows else None
