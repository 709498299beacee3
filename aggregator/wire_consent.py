"""Wire models of the consent endpoint (`POST /consent`): a prosumer asks the aggregator to agree to
its contract terms before it registers them on chain. Power in W, durations in s, tariffs in token base
units (1e-18 token) per kWh, times in chain epoch seconds. Strict: no coercion, no unknown fields."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from aggregator.wire import EXAMPLE_ADDRESS, Address
from contracts.types import SourceKind, Terms

STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
UINT32 = 2**32 - 1
UINT88 = 2**88 - 1
Hex32 = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$", description="32 bytes, 0x-prefixed hex")]


class KindName(StrEnum):
    """A source kind on the wire: the label of `domain.vocabulary.SourceKind` (one vocabulary)."""

    SOLAR = SourceKind.SOLAR.label
    WIND = SourceKind.WIND.label
    CONSUMER = SourceKind.CONSUMER.label
    BATTERY = SourceKind.BATTERY.label

    @property
    def code(self) -> SourceKind:
        return SourceKind.parse(self.value)


class TermsIn(BaseModel):
    """A DER contract's terms (rule R2), as the Registry stores them."""

    model_config = STRICT
    kind: KindName
    capacity_w: int = Field(gt=0, le=UINT32)
    expected_wh_per_day: int = Field(ge=-(2**39), lt=2**39, description="signed: production positive")
    flex_up_w: int = Field(ge=0, le=UINT32)
    flex_down_w: int = Field(ge=0, le=UINT32)
    max_duration_s: int = Field(ge=0, le=UINT32)
    tariff_up: int = Field(ge=0, le=UINT88, description="token base units per kWh")
    tariff_down: int = Field(ge=0, le=UINT88, description="token base units per kWh")

    def to_terms(self) -> Terms:
        return Terms(
            self.kind.code,
            self.capacity_w,
            self.expected_wh_per_day,
            self.flex_up_w,
            self.flex_down_w,
            self.max_duration_s,
            self.tariff_up,
            self.tariff_down,
        )

    @classmethod
    def of(cls, terms: Terms) -> TermsIn:
        return cls(
            kind=KindName(SourceKind(terms.kind).label),
            capacity_w=terms.capacity_w,
            expected_wh_per_day=terms.expected_wh_per_day,
            flex_up_w=terms.flex_up_w,
            flex_down_w=terms.flex_down_w,
            max_duration_s=terms.max_duration_s,
            tariff_up=terms.tariff_up,
            tariff_down=terms.tariff_down,
        )


class ConsentIn(BaseModel):
    """Proof of the prosumer's key (a login challenge from `POST /auth/challenge`, signed), the
    aggregator's enrolment credential, and the terms and expiry to consent to."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
        json_schema_extra={
            "examples": [
                {
                    "address": EXAMPLE_ADDRESS,
                    "nonce": "kq3T0d1yX2m4b8sJ",
                    "signature": "0x" + "ab" * 65,
                    "enrolment_token": "the aggregator's enrolment credential",
                    "terms": {
                        "kind": "solar",
                        "capacity_w": 8000,
                        "expected_wh_per_day": 20000,
                        "flex_up_w": 400,
                        "flex_down_w": 2000,
                        "max_duration_s": 3600,
                        "tariff_up": 200000000000000000,
                        "tariff_down": 150000000000000000,
                    },
                    "expiry": 1767225600,
                }
            ]
        },
    )
    address: Address
    nonce: str = Field(min_length=1, max_length=100)
    signature: str = Field(
        min_length=2, max_length=200, description="65-byte signature of the challenge, hex"
    )
    enrolment_token: str = Field(min_length=1, max_length=200)
    terms: TermsIn
    expiry: int = Field(gt=0, lt=2**40, description="chain epoch s at which the contract ends")


class ConsentOut(BaseModel):
    """The aggregator's EIP-712 consent: pass (deadline, v, r, s) to `Registry.register` (or
    `renegotiate`) with exactly these terms and expiry, before `deadline` (chain epoch s)."""

    model_config = STRICT
    prosumer: Address
    terms: TermsIn
    expiry: int
    nonce: int = Field(description="the prosumer's consent nonce this consent is for (single use)")
    deadline: int
    v: int
    r: Hex32
    s: Hex32
    registry: Address
    chain_id: int
