"""The readings store: idempotent batch inserts and the queries behind the readings API and profiles.

`insert(rows)` writes a batch in ONE transaction and says, per row, whether it was stored or was a
duplicate of a stored (prosumer, seq). The common case (no duplicates) is one `executemany` of
`INSERT ... ON CONFLICT DO NOTHING` whose row count equals the batch size. When it does not, the
transaction is rolled back and redone knowing which keys already exist, so each row's answer is exact.
Rows repeated inside one batch are stored once: the first is "stored", the others "duplicate".
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import BigInteger, Connection, and_, case, cast, func, select, tuple_
from sqlalchemy.sql.elements import ColumnElement

from aggregator.db import Database
from aggregator.tables import Reading

log = logging.getLogger(__name__)

# (prosumer, seq, t, kind, power_w, energy_wh, soc, status, received_at, available_w)
Row = tuple[str, int, float, int, float, float, float | None, int, float, float | None]
COLUMNS = (
    "prosumer",
    "seq",
    "t",
    "kind",
    "power_w",
    "energy_wh",
    "soc",
    "status",
    "received_at",
    "available_w",
)
KEY_CHUNK = 400

readings = Reading.__table__


def insert_sql(dialect: str, table: str = "readings") -> str:
    """The fast path's statement, in the driver's own parameter style."""
    mark = "?" if dialect == "sqlite" else "%s"
    marks = ", ".join([mark] * len(COLUMNS))
    return (
        f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({marks}) ON CONFLICT (prosumer, seq) DO NOTHING"
    )


@dataclass(frozen=True)
class ReadingFilter:
    prosumer: str | None = None  # lower-case address
    kind: int | None = None
    start: float | None = None  # simulated epoch s, inclusive
    end: float | None = None  # simulated epoch s, exclusive
    incidents_only: bool = False
    prosumers: tuple[str, ...] | None = None  # lower-case addresses: any of them

    def clauses(self) -> list[ColumnElement[bool]]:
        c = readings.c
        out: list[ColumnElement[bool]] = []
        if self.prosumer is not None:
            out.append(c.prosumer == self.prosumer)
        if self.prosumers is not None:
            out.append(c.prosumer.in_(self.prosumers))
        if self.kind is not None:
            out.append(c.kind == self.kind)
        if self.start is not None:
            out.append(c.t >= self.start)
        if self.end is not None:
            out.append(c.t < self.end)
        if self.incidents_only:
            out.append(c.status != 0)
        return out


@dataclass(frozen=True)
class Bucket:
    prosumer: str
    kind: int
    start: float
    power_w: float
    soc: float | None
    samples: int
    incidents: int


class ReadingStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._sql = insert_sql(db.dialect)

    # ------------------------------------------------------------------ writes
    def insert(self, rows: Sequence[Row]) -> list[bool]:
        """Stores `rows` in one transaction; True per row that was stored, False per duplicate."""
        first: dict[tuple[str, int], int] = {}
        for i, row in enumerate(rows):
            first.setdefault((row[0], row[1]), i)
        unique = [rows[i] for i in first.values()]
        with self.db.engine.connect() as conn:
            with conn.begin() as trans:
                inserted = conn.exec_driver_sql(self._sql, unique).rowcount if unique else 0
                if inserted != len(unique):
                    trans.rollback()
            if inserted == len(unique):
                new = set(first)
            else:
                with conn.begin():
                    new = self._insert_new(conn, unique)
        return [(row[0], row[1]) in new and first[(row[0], row[1])] == i for i, row in enumerate(rows)]

    def _insert_new(self, conn: Connection, unique: Sequence[Row]) -> set[tuple[str, int]]:
        keys = [(r[0], r[1]) for r in unique]
        existing: set[tuple[str, int]] = set()
        c = readings.c
        for k in range(0, len(keys), KEY_CHUNK):
            chunk = keys[k : k + KEY_CHUNK]
            found = conn.execute(select(c.prosumer, c.seq).where(tuple_(c.prosumer, c.seq).in_(chunk)))
            existing.update((p, int(s)) for p, s in found)
        fresh = [r for r in unique if (r[0], r[1]) not in existing]
        if fresh:
            conn.exec_driver_sql(self._sql, fresh)
        return {(r[0], r[1]) for r in fresh}

    # ------------------------------------------------------------------ queries
    def query(self, f: ReadingFilter, limit: int) -> list[Reading]:
        """Raw readings matching `f`, in time order, at most `limit`."""
        c = readings.c
        stmt = select(*(c[name] for name in COLUMNS)).where(and_(True, *f.clauses()))
        stmt = stmt.order_by(c.t, c.prosumer, c.seq).limit(limit)
        with self.db.engine.connect() as conn:
            return [Reading(**row._mapping) for row in conn.execute(stmt)]

    def buckets(self, f: ReadingFilter, resolution_s: int, limit: int) -> list[Bucket]:
        """Per prosumer, the mean power and state of charge in buckets of `resolution_s` simulated seconds."""
        c = readings.c
        start = (cast(c.t, BigInteger) // resolution_s) * resolution_s
        incidents = func.sum(case((c.status != 0, 1), else_=0))
        stmt = (
            select(
                c.prosumer,
                c.kind,
                start.label("start"),
                func.avg(c.power_w),
                func.avg(c.soc),
                func.count(),
                incidents,
            )
            .where(and_(True, *f.clauses()))
            .group_by(c.prosumer, c.kind, start)
            .order_by(start, c.prosumer)
            .limit(limit)
        )
        with self.db.engine.connect() as conn:
            return [
                Bucket(p, int(k), float(s), float(pw), None if soc is None else float(soc), int(n), int(inc))
                for p, k, s, pw, soc, n, inc in conn.execute(stmt)
            ]

    def count(self, f: ReadingFilter | None = None) -> int:
        f = f or ReadingFilter()
        stmt = select(func.count()).select_from(readings).where(and_(True, *f.clauses()))
        with self.db.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def last_seq(self, prosumer: str) -> int | None:
        """The highest sequence number stored for `prosumer` (lower case): where a client resumes."""
        c = readings.c
        with self.db.engine.connect() as conn:
            value = conn.execute(select(func.max(c.seq)).where(c.prosumer == prosumer)).scalar_one()
        return None if value is None else int(value)
