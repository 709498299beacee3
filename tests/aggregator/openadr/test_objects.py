"""`ObjectBook` on SQLite and PostgreSQL: objects with their server-set metadata, unique names, filters,
and the event-interval links."""

from __future__ import annotations

import pytest

from aggregator.db import Database
from aggregator.errors import Conflict, NotFound
from aggregator.openadr.models import ObjectType
from aggregator.openadr.objects import ObjectBook, to_wire
from aggregator.requests_repo import RequestQueue
from tests.aggregator.openadr.factories import make_event, make_program


def test_objects_round_trip_with_metadata(db: Database) -> None:
    t = [1_780_000_000.0]
    book = ObjectBook(db, clock=lambda: t[0])
    program = book.create(ObjectType.PROGRAM, make_program("a"))
    event = book.create(ObjectType.EVENT, make_event(program.id, "2026-06-01T12:00:00Z", 5))
    assert to_wire(book.get(ObjectType.EVENT, event.id))["programID"] == program.id
    assert [e.id for e in book.list(ObjectType.EVENT, program_id=program.id)] == [event.id]
    assert book.list(ObjectType.EVENT, program_id="other") == []
    with pytest.raises(Conflict, match="exists already"):
        book.create(ObjectType.PROGRAM, make_program("a"))
    t[0] += 60
    wire = to_wire(book.replace(ObjectType.PROGRAM, program.id, make_program("b")))
    assert wire["programName"] == "b" and wire["createdDateTime"] == "2026-05-28T20:26:40Z"
    assert wire["modificationDateTime"] == "2026-05-28T20:27:40Z"
    with pytest.raises(NotFound):
        book.get(ObjectType.PROGRAM, event.id)  # an event is not a program
    book.delete(ObjectType.EVENT, event.id)
    assert book.find(ObjectType.EVENT, event.id) is None


def test_links_follow_an_events_requests(db: Database) -> None:
    book, queue = ObjectBook(db), RequestQueue(db)
    ids = [queue.enqueue("up", 1_000, 600, 900, "fair").id for _ in range(2)]
    for i, rid in enumerate(ids):
        book.link("event-1", i, 0, rid, 100.0 + i)
    assert [x.request_id for x in book.links("event-1")] == ids
    book.retire(book.links("event-1")[0].id)
    assert [x.request_id for x in book.links("event-1")] == ids[1:]
    assert len(book.links("event-1", active=None)) == 2
