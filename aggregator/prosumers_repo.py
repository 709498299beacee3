"""The registry mirror (`prosumers`) and the chain-sync cursor (`sync_state`), filled by chain sync.

`ProsumerRepo.upsert(address, registration, reputation)` writes what the chain says about a prosumer;
`SyncStateRepo.set(name, block)` persists how far an event stream was processed, so a restarted
aggregator resumes from there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from sqlalchemy import select

from aggregator.db import Database
from aggregator.tables import Prosumer, SyncState
from contracts.types import Registration


class ProsumerRepo:
    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._clock = clock

    def upsert(self, address: str, registration: Registration, reputation: int | None = None) -> Prosumer:
        return self.upsert_many([(address, registration, reputation)])[0]

    def upsert_many(self, items: Sequence[tuple[str, Registration, int | None]]) -> list[Prosumer]:
        """Inserts or updates each (address, registration, reputation) in one transaction."""
        now = self._clock()
        out: list[Prosumer] = []
        with self.db.session() as s:
            for address, reg, reputation in items:
                row = s.get(Prosumer, address.lower())
                if row is None:
                    row = Prosumer(address=address.lower())
                    s.add(row)
                t = reg.terms
                row.kind, row.capacity_w, row.expected_wh_per_day = (
                    int(t.kind),
                    t.capacity_w,
                    t.expected_wh_per_day,
                )
                row.flex_up_w, row.flex_down_w, row.max_duration_s = (
                    t.flex_up_w,
                    t.flex_down_w,
                    t.max_duration_s,
                )
                row.tariff_up, row.tariff_down = t.tariff_up, t.tariff_down
                row.expiry, row.terms_block, row.active = reg.expiry, reg.terms_block, reg.active
                if reputation is not None:
                    row.reputation = reputation
                row.updated_at = now
                out.append(row)
        return out

    def deactivate(self, address: str, reputation: int | None = None) -> Prosumer | None:
        """Marks a prosumer inactive (removed, terminated or expired), keeping its last terms; None if
        it was never mirrored."""
        with self.db.session() as s:
            row = s.get(Prosumer, address.lower())
            if row is not None:
                row.active = False
                if reputation is not None:
                    row.reputation = reputation
                row.updated_at = self._clock()
            return row

    def set_reputation(self, address: str, reputation: int) -> None:
        with self.db.session() as s:
            row = s.get(Prosumer, address.lower())
            if row is not None:
                row.reputation = reputation
                row.updated_at = self._clock()

    def get(self, address: str) -> Prosumer | None:
        with self.db.session() as s:
            return s.get(Prosumer, address.lower())

    def all(self, active_only: bool = False) -> Sequence[Prosumer]:
        stmt = select(Prosumer).order_by(Prosumer.address)
        if active_only:
            stmt = stmt.where(Prosumer.active.is_(True))
        with self.db.session() as s:
            return s.scalars(stmt).all()


class SyncStateRepo:
    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._clock = clock

    def get(self, name: str) -> int | None:
        """The last block processed for stream `name`, or None if it never ran."""
        with self.db.session() as s:
            row = s.get(SyncState, name)
            return None if row is None else row.last_block

    def set(self, name: str, last_block: int) -> None:
        with self.db.session() as s:
            row = s.get(SyncState, name)
            if row is None:
                s.add(SyncState(name=name, last_block=last_block, updated_at=self._clock()))
            else:
                row.last_block = last_block
                row.updated_at = self._clock()
