"""The aggregator's tables (SQLAlchemy 2 typed declarative). Times are Unix epoch seconds (float).

- `readings`: one row per (prosumer, seq); `t` is the *simulated* time of the measurement, `received_at`
  the real time it reached the store. `kind` is copied from the registry at ingest so queries by source
  need no join. Indexes: the primary key (prosumer, seq) makes ingest idempotent; (prosumer, t) serves
  per-prosumer ranges (profiles, delivery measurement); (t) serves fleet-wide ranges.
- `flex_requests` and `request_responses`: the grid operator's requests and every prosumer's answer.
- `prosumers` and `sync_state`: the registry mirror and the chain-sync cursor (filled by chain sync).
- `openadr_objects` and `openadr_links`: the OpenADR 3 VTN's objects (programs, events, reports, vens,
  subscriptions; the body as JSON text) and which flexibility request each event interval became.

Token amounts (tariffs, payments) can exceed 64 bits, so they are stored as decimal text (`IntText`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Double,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

ADDRESS = String(42)  # lower-case 0x-prefixed hex


class IntText(TypeDecorator[int]):
    """An arbitrary-size integer stored as decimal text (token base units)."""

    impl = String(80)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(int(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(value)


class Base(DeclarativeBase):
    pass


class Reading(Base):
    __tablename__ = "readings"

    prosumer: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    t: Mapped[float] = mapped_column(Double)
    kind: Mapped[int] = mapped_column(SmallInteger)
    power_w: Mapped[float] = mapped_column(Double)
    energy_wh: Mapped[float] = mapped_column(Double)
    soc: Mapped[float | None] = mapped_column(Double, nullable=True)
    status: Mapped[int] = mapped_column(SmallInteger)
    received_at: Mapped[float] = mapped_column(Double)
    available_w: Mapped[float | None] = mapped_column(Double, nullable=True)

    __table_args__ = (
        Index("ix_readings_prosumer_t", "prosumer", "t"),
        Index("ix_readings_t", "t"),
    )


class FlexRequest(Base):
    __tablename__ = "flex_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    direction: Mapped[str] = mapped_column(String(4))
    power_w: Mapped[int] = mapped_column(BigInteger)
    duration_s: Mapped[int] = mapped_column(Integer)
    lead_time_s: Mapped[int] = mapped_column(Integer)
    strategy: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), index=True)
    chain_request_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    opened_tx: Mapped[str | None] = mapped_column(String(66), nullable=True)
    start: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    end: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    deadline: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    requested_wh: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    committed_wh: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    delivered_wh: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    participants: Mapped[int | None] = mapped_column(Integer, nullable=True)
    compliant: Mapped[int | None] = mapped_column(Integer, nullable=True)
    paid: Mapped[int | None] = mapped_column(IntText, nullable=True)
    created_at: Mapped[float] = mapped_column(Double)
    updated_at: Mapped[float] = mapped_column(Double)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class RequestResponse(Base):
    __tablename__ = "request_responses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("flex_requests.id", ondelete="CASCADE"))
    prosumer: Mapped[str] = mapped_column(ADDRESS, index=True)
    kind: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    committed_w: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    delivered_wh: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    compliant: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    paid: Mapped[int | None] = mapped_column(IntText, nullable=True)
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    block: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[float] = mapped_column(Double)

    __table_args__ = (UniqueConstraint("request_id", "prosumer", "kind", name="uq_response"),)


class Prosumer(Base):
    """The registry mirror: a prosumer's current terms as chain sync last read them."""

    __tablename__ = "prosumers"

    address: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    kind: Mapped[int] = mapped_column(SmallInteger)
    capacity_w: Mapped[int] = mapped_column(BigInteger)
    expected_wh_per_day: Mapped[int] = mapped_column(BigInteger, default=0)
    flex_up_w: Mapped[int] = mapped_column(BigInteger)
    flex_down_w: Mapped[int] = mapped_column(BigInteger)
    max_duration_s: Mapped[int] = mapped_column(BigInteger, default=0)
    tariff_up: Mapped[int] = mapped_column(IntText)
    tariff_down: Mapped[int] = mapped_column(IntText)
    expiry: Mapped[int] = mapped_column(BigInteger)
    terms_block: Mapped[int] = mapped_column(BigInteger, default=0)
    active: Mapped[bool] = mapped_column(Boolean)
    reputation: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[float] = mapped_column(Double)


class SyncState(Base):
    """How far chain sync has processed each event stream."""

    __tablename__ = "sync_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_block: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[float] = mapped_column(Double)


class OpenadrObject(Base):
    """An OpenADR 3 object of the VTN (`aggregator.openadr`): its request fields as JSON text, the
    server-set metadata in columns. `owner` is the client id that created it (reports, vens)."""

    __tablename__ = "openadr_objects"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    object_type: Mapped[str] = mapped_column(String(16), index=True)
    body: Mapped[str] = mapped_column(Text)
    program_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    event_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    name: Mapped[str | None] = mapped_column(String(128), nullable=True)
    owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[float] = mapped_column(Double)
    modified_at: Mapped[float] = mapped_column(Double)


class OpenadrLink(Base):
    """Which flexibility request (a sub-interval of) an OpenADR event interval became."""

    __tablename__ = "openadr_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(128), index=True)
    interval_id: Mapped[int] = mapped_column(BigInteger)
    part: Mapped[int] = mapped_column(Integer)
    request_id: Mapped[int] = mapped_column(ForeignKey("flex_requests.id", ondelete="CASCADE"))
    wanted_start: Mapped[float] = mapped_column(Double)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
