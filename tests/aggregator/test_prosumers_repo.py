"""The registry mirror and the chain-sync cursor that chain sync fills."""

from __future__ import annotations

from dataclasses import replace

from aggregator.db import Database
from aggregator.prosumers_repo import ProsumerRepo, SyncStateRepo
from contracts.types import SourceKind
from tests.aggregator.factories import make_registration

A, B = "0x" + "Aa" * 20, "0x" + "bb" * 20


def test_upsert_inserts_then_updates(db: Database) -> None:
    repo = ProsumerRepo(db)
    reg = make_registration(SourceKind.WIND, capacity_w=2_000_000, flex_w=500_000)
    repo.upsert(A, reg, reputation=500)
    repo.upsert(B, make_registration(SourceKind.CONSUMER))
    renegotiated = replace(reg, terms=replace(reg.terms, flex_up_w=400_000, tariff_up=10**30), active=False)
    repo.upsert(A, renegotiated)
    row = repo.get(A.upper().replace("0X", "0x"))
    assert row is not None
    assert (row.address, row.kind, row.flex_up_w, row.tariff_up, row.active, row.reputation) == (
        A.lower(),
        int(SourceKind.WIND),
        400_000,
        10**30,
        False,
        500,
    )
    assert [p.address for p in repo.all()] == [A.lower(), B]
    assert [p.address for p in repo.all(active_only=True)] == [B]
    repo.set_reputation(B, 525)
    assert repo.get(B).reputation == 525  # type: ignore[union-attr]
    assert repo.get("0x" + "00" * 20) is None
    gone = repo.deactivate(B, reputation=480)
    assert gone is not None
    assert (gone.active, gone.reputation, gone.kind) == (False, 480, int(SourceKind.CONSUMER))
    assert repo.all(active_only=True) == [] and repo.deactivate("0x" + "00" * 20) is None


def test_sync_state_persists_the_last_block(db: Database) -> None:
    state = SyncStateRepo(db)
    assert state.get("registry") is None
    state.set("registry", 120)
    state.set("registry", 130)
    state.set("market", 7)
    assert (state.get("registry"), state.get("market")) == (130, 7)
    assert SyncStateRepo(db).get("registry") == 130
