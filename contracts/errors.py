"""The chain layer's errors: talking to the chain (`ChainError` and its kinds) and every Solidity custom
error as a Python exception (`ContractRevert` subclasses), with the decoder that maps revert data onto
them.

Each class below is named exactly as the Solidity error it stands for; `tests/contracts` checks that
every error in the ABIs has a class here. `decode_revert` turns raw revert data into an instance whose
`error_args` holds the decoded arguments.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import to_checksum_address

from base.errors import FlexsimError
from contracts.abi_function import abi_type, selector

# ---------------------------------------------------------------- the chain layer's errors


class ChainError(FlexsimError):
    """Talking to the chain failed."""


class RpcUnavailable(ChainError, ConnectionError):
    """The RPC endpoint cannot be reached."""


class WrongChain(ChainError):
    """The RPC endpoint serves another chain than the one expected."""


class InsufficientFunds(ChainError):
    """An account cannot pay for the gas it needs."""


class TransactionFailed(ChainError):
    """A transaction could not be sent, was dropped, or was not mined in time."""


class ContractRevert(ChainError):
    """A contract call reverted. Subclasses (in `contracts.errors`) name the Solidity custom error.

    `name` is the Solidity error name and `args` its decoded arguments, in declaration order.
    """

    def __init__(self, name: str, args: tuple[object, ...] = (), tx_hash: str | None = None) -> None:
        self.name = name
        self.error_args = args
        self.tx_hash = tx_hash
        shown = ", ".join(_show(a) for a in args)
        where = f" (tx {tx_hash})" if tx_hash else ""
        super().__init__(f"contract reverted: {name}({shown}){where}")


def _show(value: object) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return repr(value) if isinstance(value, str) else str(value)


# ---------------------------------------------------------------- Solidity custom errors

_BY_NAME: dict[str, type[ContractRevert]] = {}


class _Named(ContractRevert):
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _BY_NAME[cls.__name__] = cls


class UnknownRevert(ContractRevert):
    """Revert data that matches no known error (or no data at all)."""


class Error(_Named):
    """A `require`/`revert` with a reason string."""


class Panic(_Named):
    """A Solidity panic (assert, overflow, division by zero, invalid enum...)."""


# Access and wiring
class NotOwner(_Named):
    """Only the contract owner (the deployer) may do this."""


class NotAggregator(_Named):
    """Only the aggregator account set by the owner may do this."""


class NotMarket(_Named):
    """Only the FlexibilityMarket contract may do this."""


class NotRegistry(_Named):
    """Only the Registry contract may do this."""


class AlreadyConnected(_Named):
    """The contracts were already wired together."""


class ZeroAddress(_Named):
    """An address argument was the zero address."""


# Registry
class AlreadyRegistered(_Named):
    """The account already holds an active registration: renegotiate or remove it first."""


class NotRegistered(_Named):
    """The account holds no registration: register first."""


class ZeroCapacity(_Named):
    """A DER must have a positive capacity."""


class FlexibilityExceedsCapacity(_Named):
    """Contracted flexibility cannot exceed the DER's capacity."""


class ExpiryNotInFuture(_Named):
    """The contract expiry must be after the current block time."""


class CapacityOutOfRange(_Named):
    """A DER's capacity is above the registry's bound (`MAX_CAPACITY_W`, 100 MW)."""


class ExpectedEnergyOutOfRange(_Named):
    """|Expected energy per day| is above 24 hours at capacity."""


class DurationOutOfRange(_Named):
    """The guaranteed duration is above the registry's bound (`MAX_DURATION_S`, 7 days)."""


class TariffOutOfRange(_Named):
    """A tariff is above the registry's bound (`MAX_TARIFF`, 1e24 base units per kWh)."""


class ExpiryTooFar(_Named):
    """The expiry lies more than `MAX_TERM_S` (5 years) ahead."""


class ConsentRequired(_Named):
    """Registering, or raising any term or the expiry, needs the aggregator's consent (POST /consent)."""


class ConsentExpired(_Named):
    """The aggregator's consent has passed its deadline: ask the aggregator for a fresh one."""


class ConsentNotByAggregator(_Named):
    """The consent was not signed by the aggregator for exactly these terms, expiry and nonce."""


class InvalidSignature(_Named):
    """A signature is malformed (high s, v not 27/28) or recovers to no account."""


class ValueOutOfRange(_Named):
    """A value does not fit the field it is stored in (checked narrowing)."""


# FlexToken (ERC-6093)
class ERC20InsufficientBalance(_Named):
    """The sender's balance is below the amount."""


class ERC20InsufficientAllowance(_Named):
    """The spender's allowance is below the amount."""


class ERC20InvalidSender(_Named):
    """Tokens cannot come from the zero address."""


class ERC20InvalidReceiver(_Named):
    """Tokens cannot go to the zero address."""


class ERC20InvalidApprover(_Named):
    """The approver cannot be the zero address."""


class ERC20InvalidSpender(_Named):
    """The spender cannot be the zero address."""


class BalanceOverflow(_Named):
    """A balance would exceed 2^248 - 1 base units."""


class ZeroAmount(_Named):
    """Redeeming zero tokens is not allowed."""


# FlexibilityMarket: request life cycle
class RequestStillOpen(_Named):
    """Another request is open: finalise or cancel it first (one request at a time)."""


class UnknownRequest(_Named):
    """No request has this id."""


class RequestNotOpen(_Named):
    """The request is settled, cancelled or closed."""


class InvalidSchedule(_Named):
    """Times must satisfy now <= deadline <= start < end."""


class ZeroPower(_Named):
    """A request must ask for positive power."""


class ZeroDuration(_Named):
    """A request must last a positive number of seconds."""


class NoFlexibilityAvailable(_Named):
    """No registered prosumer offers flexibility in this direction."""


class WrongStrategy(_Named):
    """The call does not fit the request's strategy (accept is fair, applyFor and select are reputation)."""


class AlreadyStarted(_Named):
    """The request window has started; it can no longer be cancelled (close it after its grace)."""


class TermsChangeAfterJoin(_Named):
    """The power and duration of a request cannot change once prosumers joined it."""


class LimitBelowShare(_Named):
    """`acceptUpTo` with a limit below the prosumer's fair share: decline instead."""


class NotToppable(_Named):
    """Only an accepter not yet topped up can be topped up."""


class TopUpRoomChanged(_Named):
    """Every call of one top-up round must declare the same total room."""


class BookingOutOfBounds(_Named):
    """A top-up round books between the power and a quarter more, the same on every call."""


class TopUpRoomMismatch(_Named):
    """The rooms topped up do not add up to the declared total room."""


class TopUpIncomplete(_Named):
    """A top-up was begun but not every accepter was topped up yet."""


class CloseTooEarly(_Named):
    """An unfinished request can be closed only from `closableAt` (its end plus a grace)."""


class RequestLimitReached(_Named):
    """Request ids are stored in 24 bits: after 16,777,215 requests, deploy a new market."""


# FlexibilityMarket: prosumers
class AcceptanceClosed(_Named):
    """The acceptance deadline has passed."""


class AcceptanceStillOpen(_Named):
    """The selection can only be submitted after the acceptance deadline."""


class AlreadyResponded(_Named):
    """The prosumer already accepted, applied for or declined this request."""


class NotActive(_Named):
    """The prosumer's registration is missing or expired."""


class RegisteredAfterOpen(_Named):
    """The prosumer's current terms took effect after the request opened (not in its snapshot)."""


class NothingToCommit(_Named):
    """The prosumer's share (or offer) rounds to zero watts."""


class DurationBeyondContract(_Named):
    """The request lasts longer than the prosumer's contract guarantees."""


class UnknownDeclineReason(_Named):
    """A decline reason code outside `DeclineReason`."""


# FlexibilityMarket: relayed answers
class NotSelf(_Named):
    """`answerAs` is called by the market itself only: relay answers through `relayAnswers`."""


class UnknownAnswerAction(_Named):
    """An answer action code outside `AnswerAction` (accept, accept_up_to, apply, decline)."""


class AnswerOutOfGas(_Named):
    """A relayed answer ran out of gas, so the batch reverted: send more gas or smaller batches."""


# FlexibilityMarket: selection and settlement
class NotACandidate(_Named):
    """The address did not apply, or was already ranked."""


class SelectionOutOfOrder(_Named):
    """A selected candidate ranks above the one ranked before it (candidates go in ranking order)."""


class AlreadyCovered(_Named):
    """The request is already covered: further candidates must be displaced, not selected."""


class NotYetCovered(_Named):
    """Candidates can only be displaced once the request is covered."""


class DisplacedOutOfOrder(_Named):
    """A displaced candidate ranks above the one ranked before it (candidates go in ranking order)."""


class SelectionIncomplete(_Named):
    """Not every candidate has been selected or displaced yet."""


class WindowNotOver(_Named):
    """Deliveries can only be recorded after the request window ends."""


class LengthMismatch(_Named):
    """Two arrays that pair up element by element differ in length."""


class NotAParticipant(_Named):
    """The address is not an unsettled participant of this request."""


class UnsettledParticipants(_Named):
    """Some participants' deliveries are not recorded yet."""


# Anchored settlements (FlexibilityMarket.finaliseAnchored) and disputes (SettlementAnchor);
# docs/tamper-evidence.md
class EmptyAnchor(_Named):
    """`finaliseAnchored` needs a non-zero root and at least one leaf (finalise a request without
    participants with plain `finalise`)."""


class AnchorRequired(_Named):
    """Plain `finalise` of a request with recorded deliveries: call `finaliseAnchored(requestId, root,
    leafCount)` with the settlement root over one leaf per recorded delivery
    (`aggregator.anchoring.finalise_anchored` builds it; docs/tamper-evidence.md)."""


class LeafCountMismatch(_Named):
    """The anchored tree must have one leaf per delivery the market recorded for the request."""


class NotAnchored(_Named):
    """The request has no anchored settlement root to prove a leaf against."""


class InvalidProof(_Named):
    """The Merkle proof does not lead from the given leaf to the anchored root."""


class NoRecordedDelivery(_Named):
    """The market holds no settled commitment for the prosumer in this request (it did not take part, or
    its slot was reused by a newer request: raise delivery disputes before the prosumer's next answer)."""


class DeliveryMatches(_Named):
    """False dispute: the delivery the market recorded equals the anchored leaf."""


class NotSignedByProsumer(_Named):
    """The readings-root signature does not recover to the prosumer."""


class ReadingsRootMatches(_Named):
    """False dispute: the anchored leaf carries exactly the readings root the prosumer signed."""


class AlreadyUpheld(_Named):
    """A dispute about this request and prosumer was already upheld (each counts once)."""


def error_class(name: str) -> type[ContractRevert]:
    """The exception class for a Solidity error name (UnknownRevert if there is none)."""
    return _BY_NAME.get(name, UnknownRevert)


def known_error_names() -> set[str]:
    return set(_BY_NAME) - {"Error", "Panic"}


class RevertDecoder:
    """Decodes revert data using the custom errors declared in a set of ABIs."""

    def __init__(self, abis: Iterable[list[dict[str, Any]]]) -> None:
        self._errors: dict[bytes, tuple[str, list[str]]] = {
            selector("Error", ["string"]): ("Error", ["string"]),
            selector("Panic", ["uint256"]): ("Panic", ["uint256"]),
        }
        for abi in abis:
            for item in abi:
                if item.get("type") == "error":
                    types = [abi_type(i) for i in item["inputs"]]
                    self._errors[selector(item["name"], types)] = (item["name"], types)

    def error_name(self, selector: bytes) -> str:
        """The name of the custom error whose 4-byte selector this is (`AnswerRefused` carries one), or
        the selector in hex when no ABI declares it."""
        known = self._errors.get(bytes(selector[:4]))
        return known[0] if known else "0x" + bytes(selector).hex()

    def decode(self, data: bytes | str | None, tx_hash: str | None = None) -> ContractRevert:
        raw = _to_bytes(data)
        if len(raw) < 4 or raw[:4] not in self._errors:
            return UnknownRevert("unknown", (("0x" + raw.hex()) if raw else "no revert data",), tx_hash)
        name, types = self._errors[raw[:4]]
        try:
            args = tuple(
                to_checksum_address(v) if t == "address" else v
                for t, v in zip(types, abi_decode(types, raw[4:]), strict=True)
            )
        except Exception:  # malformed arguments: keep the name, show the raw data
            args = ("0x" + raw[4:].hex(),)
        return error_class(name)(name, args, tx_hash)


def _to_bytes(data: bytes | str | dict[str, Any] | None) -> bytes:
    if data is None:
        return b""
    if isinstance(data, dict):  # some nodes wrap it: {"data": "0x..."}
        return _to_bytes(data.get("data"))
    if isinstance(data, bytes):
        return data
    text = data[2:] if data.startswith("0x") else data
    try:
        return bytes.fromhex(text)
    except ValueError:
        return b""
