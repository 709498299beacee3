"""The readings store on SQLite (WAL, a temporary file) and on PostgreSQL (a throwaway schema)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from aggregator.db import Database, normalise_url
from aggregator.store import ReadingFilter, ReadingStore, Row

A, B = "0x" + "aa" * 20, "0x" + "bb" * 20
T = 1_748_779_200.0  # 2025-06-01T12:00:00Z


def row(
    prosumer: str = A,
    seq: int = 1,
    t: float = T,
    kind: int = 0,
    power: float = 100.0,
    status: int = 0,
    soc: float | None = None,
) -> Row:
    return (prosumer, seq, t, kind, power, seq * 10.0, soc, status, 1.0, None)


def test_insert_says_stored_or_duplicate_per_row(db: Database) -> None:
    store = ReadingStore(db)
    assert store.insert([row(seq=1), row(seq=2), row(B, 1)]) == [True, True, True]
    # duplicates of stored rows, a repeat inside the batch, and new rows, all in one call
    assert store.insert([row(seq=2), row(seq=3), row(seq=3), row(B, 1), row(B, 2)]) == [
        False,
        True,
        False,
        False,
        True,
    ]
    assert store.count() == 5
    assert store.last_seq(A) == 3 and store.last_seq(B) == 2 and store.last_seq("0x" + "cc" * 20) is None


def test_first_write_wins(db: Database) -> None:
    store = ReadingStore(db)
    store.insert([row(seq=1, power=1.0)])
    store.insert([row(seq=1, power=2.0)])
    (only,) = store.query(ReadingFilter(), 10)
    assert only.power_w == 1.0


def test_empty_batch(db: Database) -> None:
    assert ReadingStore(db).insert([]) == []


def test_a_failed_batch_stores_nothing(db: Database) -> None:
    store = ReadingStore(db)
    bad = (
        "0x" + "aa" * 30,
        1,
        T,
        0,
        1.0,
        1.0,
        None,
        0,
        1.0,
        None,
    )  # prosumer longer than the column (PostgreSQL)
    rows = (
        [row(seq=1), bad]
        if db.dialect == "postgresql"
        else [row(seq=1), (A, 2, None, 0, 1.0, 1.0, None, 0, 1.0, None)]
    )
    with pytest.raises(Exception):  # noqa: B017 - driver-specific integrity / data errors
        store.insert(rows)  # type: ignore[arg-type]
    assert store.count() == 0


def test_query_filters(db: Database) -> None:
    store = ReadingStore(db)
    store.insert(
        [
            row(A, 1, T, kind=0, power=500.0),
            row(A, 2, T + 60, kind=0, power=0.0, status=1),
            row(B, 1, T + 30, kind=2, power=-800.0),
            row(B, 2, T + 3600, kind=2, power=-900.0, status=2),
        ]
    )
    seqs = lambda f: [(r.prosumer, r.seq) for r in store.query(f, 100)]  # noqa: E731
    assert seqs(ReadingFilter()) == [(A, 1), (B, 1), (A, 2), (B, 2)]  # time order
    assert seqs(ReadingFilter(prosumer=B)) == [(B, 1), (B, 2)]
    assert seqs(ReadingFilter(prosumers=(B,))) == [(B, 1), (B, 2)]
    assert seqs(ReadingFilter(prosumers=(A, B), end=T + 60)) == [(A, 1), (B, 1)]
    assert seqs(ReadingFilter(prosumers=())) == []
    assert seqs(ReadingFilter(kind=0)) == [(A, 1), (A, 2)]
    assert seqs(ReadingFilter(start=T + 30, end=T + 3600)) == [(B, 1), (A, 2)]
    assert seqs(ReadingFilter(incidents_only=True)) == [(A, 2), (B, 2)]
    assert len(store.query(ReadingFilter(), 2)) == 2
    assert store.count(ReadingFilter(kind=2)) == 2


def test_buckets_are_means_per_prosumer(db: Database) -> None:
    store = ReadingStore(db)
    rows = [row(A, i, T + 10 * i, power=100.0 * i, status=1 if i == 7 else 0) for i in range(12)]  # 0..110 s
    rows += [row(B, i, T + 10 * i, kind=3, power=-50.0, soc=0.1 * i) for i in range(6)]
    store.insert(rows)
    got = store.buckets(ReadingFilter(), 60, 100)
    by = {(b.prosumer, b.start): b for b in got}
    a0, a1, b0 = by[(A, T)], by[(A, T + 60)], by[(B, T)]
    assert (a0.samples, a0.power_w, a0.incidents) == (6, 250.0, 0)
    assert (a1.samples, a1.power_w, a1.incidents) == (6, 850.0, 1)
    assert b0.kind == 3 and b0.samples == 6 and b0.soc == pytest.approx(0.25) and b0.power_w == -50.0
    assert a0.soc is None
    assert [b.start for b in got] == sorted(b.start for b in got)
    only_incidents = store.buckets(ReadingFilter(incidents_only=True), 60, 100)
    assert [(b.prosumer, b.start, b.samples, b.power_w) for b in only_incidents] == [(A, T + 60, 1, 700.0)]


def test_schema_is_created_once_and_reopened(db: Database) -> None:
    store = ReadingStore(db)
    store.insert([row()])
    again = Database.connect(db.engine.url.render_as_string(hide_password=False), schema=_schema(db))
    try:
        assert ReadingStore(again).count() == 1
    finally:
        again.dispose()


def _schema(db: Database) -> str | None:
    if db.dialect != "postgresql":
        return None
    with db.engine.connect() as conn:
        return str(conn.execute(text("SELECT current_schema()")).scalar_one())


def test_sqlite_runs_in_wal_mode_with_full_sync(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = Database.connect(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    finally:
        db.dispose()


def test_postgres_urls_use_psycopg3() -> None:
    assert normalise_url("postgresql://root@/test") == "postgresql+psycopg://root@/test"
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"
