"""Tables of tamper evidence (docs/tamper-evidence.md): prosumers' signed readings roots and the
anchored settlements with their leaves. Request ids are the chain's.

- `signed_roots`: one per (prosumer, request): the EIP-712 `ReadingsRoot` the prosumer signed over its
  readings with timestamps in [from_ms, to_ms], verified against the stored readings when it arrived.
- `settlement_anchors`: one per anchored request: the root, the leaf count, the anchor transaction, and
  the measurement span the deliveries were computed over (simulated epoch seconds, the direction and
  the baseline margin), so that anyone can recompute them from the signed readings.
- `settlement_leaves`: one per recorded delivery of an anchored request, in leaf order.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Double, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from aggregator.tables import ADDRESS, Base

HASH = String(66)  # 0x-prefixed 32-byte hex


class SignedReadingsRoot(Base):
    __tablename__ = "signed_roots"

    prosumer: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    request_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    from_ms: Mapped[int] = mapped_column(BigInteger)
    to_ms: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer)
    root: Mapped[str] = mapped_column(HASH)
    signature: Mapped[str] = mapped_column(String(132))  # 0x r ++ s ++ v
    received_at: Mapped[float] = mapped_column(Double)


class SettlementAnchorRecord(Base):
    __tablename__ = "settlement_anchors"

    request_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    root: Mapped[str] = mapped_column(HASH)
    leaf_count: Mapped[int] = mapped_column(Integer)
    direction: Mapped[int] = mapped_column(SmallInteger)
    sim_start: Mapped[float] = mapped_column(Double)
    sim_end: Mapped[float] = mapped_column(Double)
    margin_s: Mapped[float] = mapped_column(Double)
    tx_hash: Mapped[str | None] = mapped_column(HASH, nullable=True)
    block: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    anchored_at: Mapped[float] = mapped_column(Double)


class SettlementLeafRecord(Base):
    __tablename__ = "settlement_leaves"

    request_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    prosumer: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    delivered_wh: Mapped[int] = mapped_column(BigInteger)
    readings_root: Mapped[str] = mapped_column(HASH)
