"""Relayed answers: a prosumer's accept / accept-up-to / apply / decline as EIP-712 typed data.

A prosumer in relayed mode signs its answer instead of sending a transaction; the aggregator collects
the signatures and submits them in bounded batches (`FlexibilityMarket.relayAnswers`), and the contract
records each exactly as the signer's direct answer. The typed data is

    EIP712Domain(name="flexsim FlexibilityMarket", version="1", chainId, verifyingContract=<market>)
    Answer(uint256 requestId, uint8 action, uint32 value)

`action` is an `AnswerAction` code; `value` is the limit (W) for ACCEPT_UP_TO, the `DeclineReason` code
for DECLINE and 0 otherwise. The signer is not part of the message: the contract recovers it, so an
answer can only ever be the signer's own. `tests/contracts/test_relay.py` checks `typed_data_digest`
against the contract's `answerDigest`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_keys import keys
from eth_keys.exceptions import BadSignature
from eth_utils import keccak, to_checksum_address

from domain.vocabulary import AnswerAction

DOMAIN_NAME = "flexsim FlexibilityMarket"
DOMAIN_VERSION = "1"
ANSWER_FIELDS: list[dict[str, str]] = [
    {"name": "requestId", "type": "uint256"},
    {"name": "action", "type": "uint8"},
    {"name": "value", "type": "uint32"},
]
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
HALF_ORDER = SECP256K1_N // 2
"""The largest `s` the contract accepts (EIP-2: the twin signature with n - s is refused)."""
MAX_VALUE = 2**32 - 1


class InvalidAnswerSignature(ValueError):
    """A signature the contract would refuse: high s, v not 27/28, or no recoverable signer."""


@dataclass(frozen=True)
class SignedAnswer:
    """An answer and its signature, as `relayAnswers` takes it (`as_tuple`)."""

    request_id: int
    action: AnswerAction
    value: int
    v: int
    r: bytes
    s: bytes

    def as_tuple(self) -> tuple[int, int, int, bytes, bytes]:
        """The Solidity `SignedAnswer` struct: (action, value, v, r, s); the request id goes alongside."""
        return (int(self.action), self.value, self.v, self.r, self.s)


def typed_data(
    chain_id: int, market: str, request_id: int, action: AnswerAction, value: int
) -> dict[str, Any]:
    """The full EIP-712 message (as `eth_account.messages.encode_typed_data` and wallets take it)."""
    if not 0 <= value <= MAX_VALUE:
        raise ValueError(f"answer value {value} does not fit uint32")
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Answer": ANSWER_FIELDS,
        },
        "primaryType": "Answer",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": to_checksum_address(market),
        },
        "message": {"requestId": request_id, "action": int(action), "value": value},
    }


def typed_data_digest(chain_id: int, market: str, request_id: int, action: AnswerAction, value: int) -> bytes:
    """keccak256(0x1901 || domainSeparator || structHash): what the prosumer's key signs."""
    signable = encode_typed_data(full_message=typed_data(chain_id, market, request_id, action, value))
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def sign_answer(
    key: str | bytes, chain_id: int, market: str, request_id: int, action: AnswerAction, value: int = 0
) -> SignedAnswer:
    """Signs an answer with the prosumer's key (eth_account produces low-s signatures, v in {27, 28})."""
    message = typed_data(chain_id, market, request_id, action, value)
    signed = Account.sign_message(encode_typed_data(full_message=message), key)
    r, s = (int(x).to_bytes(32, "big") for x in (signed.r, signed.s))
    return SignedAnswer(request_id, AnswerAction(action), value, int(signed.v), r, s)


def signer_of(chain_id: int, market: str, answer: SignedAnswer) -> str:
    """The account that signed `answer`, checked as the contract checks it (low s, v in {27, 28}, a
    recoverable non-zero signer); `InvalidAnswerSignature` otherwise."""
    s = int.from_bytes(answer.s, "big")
    r = int.from_bytes(answer.r, "big")
    if answer.v not in (27, 28):
        raise InvalidAnswerSignature(f"v must be 27 or 28, got {answer.v}")
    if s > HALF_ORDER:
        raise InvalidAnswerSignature("s is in the upper half of the curve order (a malleable twin)")
    if not (0 < r < SECP256K1_N and 0 < s):
        raise InvalidAnswerSignature("r and s must be in (0, n)")
    digest = typed_data_digest(chain_id, market, answer.request_id, answer.action, answer.value)
    try:
        key = keys.Signature(vrs=(answer.v - 27, r, s)).recover_public_key_from_msg_hash(digest)
    except (BadSignature, ValueError) as e:
        raise InvalidAnswerSignature(f"no signer can be recovered: {e}") from None
    return to_checksum_address(key.to_canonical_address())
