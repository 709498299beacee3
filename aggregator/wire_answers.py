"""Wire models of relayed answers (`POST /answers`, `GET /answers/{request_id}`): a prosumer's signed
answer to a request, which the aggregator relays on chain in batches (`FlexibilityMarket.relayAnswers`).

The prosumer signs the EIP-712 typed data `Answer(uint256 requestId,uint8 action,uint32 value)` under the
market's domain (`contracts.answers`) with its own key; the signature must recover to the logged-in
prosumer. Strict: no coercion, no unknown fields.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from aggregator.wire import Address
from domain.vocabulary import AnswerAction

UINT32 = 2**32 - 1
MAX_REQUEST_ID = 2**24 - 1  # request ids are stored in 24 bits on chain
Hex32 = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$", description="32 bytes, 0x-prefixed hex")]


class ActionName(StrEnum):
    """An answer on the wire: the label of `domain.vocabulary.AnswerAction` (one vocabulary)."""

    ACCEPT = AnswerAction.ACCEPT.label
    ACCEPT_UP_TO = AnswerAction.ACCEPT_UP_TO.label
    APPLY = AnswerAction.APPLY.label
    DECLINE = AnswerAction.DECLINE.label

    @property
    def code(self) -> AnswerAction:
        return AnswerAction.parse(self.value)


class AnswerState(StrEnum):
    """Where a relayed answer is: waiting for the next batch, sent in a transaction not mined yet,
    recorded on chain, refused by the contract (`reason` says why), or dropped without being sent
    (the request closed or its deadline passed first)."""

    QUEUED = "queued"
    SUBMITTED = "submitted"
    RECORDED = "recorded"
    REFUSED = "refused"
    DROPPED = "dropped"


class AnswerIn(BaseModel):
    """A signed answer: the request, the action and its value (the limit in W for `accept_up_to`, the
    `DeclineReason` code for `decline`, 0 otherwise), and the signature's v, r, s."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
        json_schema_extra={
            "examples": [
                {
                    "request_id": 3,
                    "action": "accept_up_to",
                    "value": 1_900,
                    "v": 27,
                    "r": "0x" + "11" * 32,
                    "s": "0x" + "22" * 32,
                }
            ]
        },
    )
    request_id: int = Field(ge=1, le=MAX_REQUEST_ID)
    action: ActionName
    value: int = Field(0, ge=0, le=UINT32)
    v: Literal[27, 28]
    r: Hex32
    s: Hex32


class AnswerOut(BaseModel):
    """The state of one relayed answer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "request_id": 3,
                    "prosumer": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
                    "action": "accept_up_to",
                    "value": 1_900,
                    "state": "recorded",
                    "reason": None,
                    "tx_hash": "0x" + "ab" * 32,
                }
            ]
        }
    )

    request_id: int
    prosumer: Address
    action: ActionName
    value: int
    state: AnswerState
    reason: str | None = Field(None, description="Why it was refused or dropped")
    tx_hash: str | None = Field(None, description="The relayAnswers transaction, once submitted")
