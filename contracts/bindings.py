"""Typed bindings for Registry, FlexToken and FlexibilityMarket.

Views return dataclasses from `contracts.types`; state-changing methods take the `Sender` that signs
them and return its `Receipt`; reverts raise the typed exceptions of `contracts.errors`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from web3 import Web3

from contracts.abi_function import AbiFunction, EncodedCall, functions_of
from contracts.answers import SignedAnswer
from contracts.chain import Chain
from contracts.consent import Consent
from contracts.sender import Receipt, Sender
from contracts.types import (
    Commitment,
    Counters,
    Direction,
    Registration,
    RequestInfo,
    RequestResult,
    RequestStatus,
    Response,
    Strategy,
    Terms,
    TopUpRound,
)

DECLINE_TIP_SHARE = 0.5
"""Share of the priority fee a `decline` pays (see `MarketBinding.decline`)."""

FINALISE_GAS = 150_000
"""Gas limit for a `finaliseAnchored` sent before the deliveries it closes are mined: it uses about
69,000 (`flexsim bench gas`) whatever the number of participants (no loop over them)."""


class _Binding:
    label = ""  # the contract's name, as `contracts.events` names it

    def __init__(self, chain: Chain, address: str, abi: list[dict[str, Any]]) -> None:
        self.chain = chain
        self.address = Web3.to_checksum_address(address)
        self.contract = chain.w3.eth.contract(address=self.address, abi=abi)
        self.functions: dict[str, AbiFunction] = functions_of(abi)  # for raw JSON-RPC (`Chain.lean`)
        self._events: Any = None  # a `contracts.events.EventDecoder`, made at the first lean receipt

    def _call(self, name: str, *args: Any) -> Any:
        """The call to `name` as web3 builds it, or encoded with eth_abi when the chain speaks raw
        JSON-RPC (`Chain.use_plain_http`)."""
        if self.chain.lean is not None:
            return self.functions[name].encode(self.address, args)
        return self.contract.functions[name](*args)

    def _view(self, name: str, *args: Any) -> Any:
        call = self._call(name, *args)
        if isinstance(call, EncodedCall):
            return self.chain.call_encoded(self.functions[name], call)
        return self.chain.call(call)

    def _tx(
        self, sender: Sender, name: str, *args: Any, gas: int | None = None, tip_share: float = 1.0
    ) -> Receipt:
        return sender.transact(self._call(name, *args), gas=gas, tip_share=tip_share)

    def _submit(self, sender: Sender, name: str, *args: Any, gas: int | None = None) -> str:
        """Sends without waiting (`Sender.submit`); returns the transaction hash."""
        return sender.submit(self._call(name, *args), gas=gas)

    def events(self, receipt: Receipt, name: str) -> list[Any]:
        """Decoded events named `name` from a receipt (others ignored)."""
        if self.chain.lean is not None and not hasattr(receipt.raw, "logs"):  # a raw JSON-RPC receipt
            return self._raw_events(receipt, name)
        from web3.logs import DISCARD

        return list(self.contract.events[name]().process_receipt(receipt.raw, errors=DISCARD))

    def event_decoder(self) -> Any:
        """This contract's `contracts.events.EventDecoder`, made once (a fleet's parent makes it
        before it forks: it builds web3's event classes)."""
        if self._events is None:
            from contracts.events import EventDecoder

            label = self.label or type(self).__name__
            self._events = EventDecoder({label: (self.address, list(self.contract.abi))})
        return self._events

    def _raw_events(self, receipt: Receipt, name: str) -> list[dict[str, Any]]:
        """Events of a raw receipt as web3's `process_receipt` gives them (`event`, `args`, ...)."""
        decoder = self.event_decoder()
        out = []
        for log in receipt.logs:
            event = decoder.decode(log)
            if event is not None and event.name == name:
                out.append({"event": event.name, "args": event.args, "blockNumber": event.block,
                            "logIndex": event.log_index, "transactionHash": event.tx_hash})  # fmt: skip
        return out


def _cs(address: str) -> str:
    return Web3.to_checksum_address(address)


def _commitment(c: Sequence[Any]) -> Commitment:
    return Commitment(Response(c[0]), int(c[1]), int(c[2]), int(c[3]), int(c[4]), int(c[5]))


class RegistryBinding(_Binding):
    label = "Registry"

    def register(self, sender: Sender, terms: Terms, expiry: int, consent: Consent) -> Receipt:
        """Registers `sender`'s DER with terms the aggregator consented to (`contracts.consent`)."""
        return self._tx(sender, "register", terms.as_tuple(), expiry, consent.as_tuple())

    def renegotiate(
        self, sender: Sender, terms: Terms, expiry: int, consent: Consent | None = None
    ) -> Receipt:
        """New terms and expiry; `consent` is needed when they raise anything (`Consent.NONE` else)."""
        return self._tx(sender, "renegotiate", terms.as_tuple(), expiry, (consent or Consent.NONE).as_tuple())

    def remove(self, sender: Sender) -> Receipt:
        return self._tx(sender, "remove")

    def terminate(self, sender: Sender, prosumer: str) -> Receipt:
        return self._tx(sender, "terminate", _cs(prosumer))

    def expire(self, sender: Sender, prosumers: Sequence[str]) -> Receipt:
        return self._tx(sender, "expire", [_cs(p) for p in prosumers])

    def connect(self, sender: Sender, market: str, token: str) -> Receipt:
        return self._tx(sender, "connect", _cs(market), _cs(token))

    def set_aggregator(self, sender: Sender, aggregator: str) -> Receipt:
        return self._tx(sender, "setAggregator", _cs(aggregator))

    def registration_of(self, prosumer: str) -> Registration:
        terms, expiry, terms_block, active = self._view("registrationOf", _cs(prosumer))
        return Registration(Terms.from_tuple(terms), int(expiry), int(terms_block), bool(active))

    def is_active(self, prosumer: str) -> bool:
        return bool(self._view("isActive", _cs(prosumer)))

    def reputation(self, prosumer: str) -> int:
        return int(self._view("reputation", _cs(prosumer)))

    def counters(self, prosumer: str) -> Counters:
        return Counters(*(int(x) for x in self._view("counters", _cs(prosumer))))

    def totals(self) -> tuple[int, int, int]:
        """(total flexibility up W, total flexibility down W, registrations) not yet dropped."""
        up, down, count = self._view("totals")
        return int(up), int(down), int(count)

    def aggregator(self) -> str:
        return str(self._view("aggregator"))

    def consent_nonce(self, prosumer: str) -> int:
        return int(self._view("consentNonce", _cs(prosumer)))

    def consent_digest(self, prosumer: str, terms: Terms, expiry: int, nonce: int, deadline: int) -> bytes:
        """The EIP-712 digest as the contract computes it (tests compare it with `contracts.consent`)."""
        return bytes(self._view("consentDigest", _cs(prosumer), terms.as_tuple(), expiry, nonce, deadline))

    def domain_separator(self) -> bytes:
        return bytes(self._view("domainSeparator"))


class TokenBinding(_Binding):
    label = "FlexToken"

    def transfer(self, sender: Sender, to: str, amount: int) -> Receipt:
        return self._tx(sender, "transfer", _cs(to), amount)

    def approve(self, sender: Sender, spender: str, amount: int) -> Receipt:
        return self._tx(sender, "approve", _cs(spender), amount)

    def transfer_from(self, sender: Sender, holder: str, to: str, amount: int) -> Receipt:
        return self._tx(sender, "transferFrom", _cs(holder), _cs(to), amount)

    def redeem(self, sender: Sender, amount: int) -> Receipt:
        return self._tx(sender, "redeem", amount)

    def connect(self, sender: Sender, market: str, registry: str) -> Receipt:
        return self._tx(sender, "connect", _cs(market), _cs(registry))

    def balance_of(self, account: str) -> int:
        return int(self._view("balanceOf", _cs(account)))

    def allowance(self, holder: str, spender: str) -> int:
        return int(self._view("allowance", _cs(holder), _cs(spender)))

    def total_supply(self) -> int:
        return int(self._view("totalSupply"))

    def redeemed_by(self, account: str) -> int:
        return int(self._view("redeemedBy", _cs(account)))


class MarketBinding(_Binding):
    label = "FlexibilityMarket"

    def open_request(
        self,
        sender: Sender,
        direction: Direction,
        power_w: int,
        duration_s: int,
        start: int,
        end: int,
        deadline: int,
        strategy: Strategy,
        lapsed: Sequence[str] = (),
    ) -> tuple[int, Receipt]:
        """Opens a request; returns its id (from the FlexibilityRequested event) and the receipt.
        `lapsed`: expired registrations to drop from the totals before the snapshot."""
        receipt = self._tx(
            sender,
            "openRequest",
            int(direction),
            power_w,
            duration_s,
            start,
            end,
            deadline,
            int(strategy),
            [_cs(a) for a in lapsed],
        )
        (event,) = self.events(receipt, "FlexibilityRequested")
        return int(event["args"]["requestId"]), receipt

    def modify_request(
        self,
        sender: Sender,
        request_id: int,
        power_w: int,
        duration_s: int,
        start: int,
        end: int,
        deadline: int,
    ) -> Receipt:
        return self._tx(sender, "modifyRequest", request_id, power_w, duration_s, start, end, deadline)

    def cancel_request(self, sender: Sender, request_id: int) -> Receipt:
        return self._tx(sender, "cancelRequest", request_id)

    def close_request(self, sender: Sender, request_id: int) -> Receipt:
        """Closes an unfinished request from `closable_at` on (liveness; see the contract)."""
        return self._tx(sender, "closeRequest", request_id)

    def closable_at(self, request_id: int) -> int:
        return int(self._view("closableAt", request_id))

    def accept(self, sender: Sender, request_id: int) -> Receipt:
        return self._tx(sender, "accept", request_id)

    def accept_up_to(self, sender: Sender, request_id: int, max_w: int) -> Receipt:
        """Accepts, taking part in a top-up only up to `max_w` in all (at least the share)."""
        return self._tx(sender, "acceptUpTo", request_id, max_w)

    def top_up(
        self,
        sender: Sender,
        request_id: int,
        total_room_w: int,
        prosumers: Sequence[str],
        booked_w: int = 0,
    ) -> Receipt:
        """One batch of the fair top-up round; every batch declares the same `total_room_w` and
        `booked_w` (the round's target for the total commitment; 0: the request's power)."""
        return self._tx(sender, "topUp", request_id, total_room_w, booked_w, [_cs(p) for p in prosumers])

    def decline(self, sender: Sender, request_id: int, reason: int) -> Receipt:
        """Declines with half the priority fee: in a block too small for every answer to a request,
        acceptances (which the market waits for) go first and declines take the next block."""
        return self._tx(sender, "decline", request_id, int(reason), tip_share=DECLINE_TIP_SHARE)

    def apply_for(self, sender: Sender, request_id: int) -> Receipt:
        return self._tx(sender, "applyFor", request_id)

    def relay_answers(
        self, sender: Sender, request_id: int, answers: Sequence[SignedAnswer], gas: int | None = None
    ) -> Receipt:
        """Relays prosumers' signed answers (`contracts.answers`) in one transaction (only the
        aggregator). Refused answers emit `AnswerRefused` (see `refused_answers`); the others are
        recorded as their signers' direct answers."""
        return self._tx(sender, "relayAnswers", request_id, [a.as_tuple() for a in answers], gas=gas)

    def relay_answers_call(self, request_id: int, answers: Sequence[SignedAnswer]) -> Any:
        """The unsent `relayAnswers` call (to estimate its gas)."""
        return self.contract.functions.relayAnswers(request_id, [a.as_tuple() for a in answers])

    def refused_answers(self, receipt: Receipt) -> dict[int, bytes]:
        """Batch index -> the 4-byte error selector of every answer `relayAnswers` refused."""
        return {
            int(e["args"]["index"]): bytes(e["args"]["reason"]) for e in self.events(receipt, "AnswerRefused")
        }

    def answer_digest(self, request_id: int, action: int, value: int) -> bytes:
        """The EIP-712 digest as the contract computes it (tests compare it with `contracts.answers`)."""
        return bytes(self._view("answerDigest", request_id, int(action), value))

    def domain_separator(self) -> bytes:
        return bytes(self._view("domainSeparator"))

    def select(
        self, sender: Sender, request_id: int, selected: Sequence[str], displaced: Sequence[str] = ()
    ) -> Receipt:
        return self._tx(sender, "select", request_id, [_cs(a) for a in selected], [_cs(a) for a in displaced])

    def record_deliveries(
        self, sender: Sender, request_id: int, prosumers: Sequence[str], delivered_wh: Sequence[int]
    ) -> Receipt:
        return self._tx(
            sender, "recordDeliveries", request_id, [_cs(p) for p in prosumers], list(delivered_wh)
        )

    def submit_record_deliveries(
        self, sender: Sender, request_id: int, prosumers: Sequence[str], delivered_wh: Sequence[int]
    ) -> str:
        return self._submit(
            sender, "recordDeliveries", request_id, [_cs(p) for p in prosumers], list(delivered_wh)
        )

    def finalise(self, sender: Sender, request_id: int) -> Receipt:
        """Plain `finalise`: only a request without participants. A request with recorded deliveries
        reverts `AnchorRequired`: finalise it with `finalise_anchored`."""
        return self._tx(sender, "finalise", request_id)

    def finalise_anchored(self, sender: Sender, request_id: int, root: bytes, leaf_count: int) -> Receipt:
        """`finalise`, anchoring the settlement root in the same transaction (docs/tamper-evidence.md)."""
        return self._tx(sender, "finaliseAnchored", request_id, root, leaf_count)

    def submit_finalise_anchored(
        self, sender: Sender, request_id: int, root: bytes, leaf_count: int, gas: int = FINALISE_GAS
    ) -> str:
        """`finaliseAnchored` sent behind deliveries not mined yet: its gas cannot be estimated before
        they are (it would revert), so it gets a fixed limit well above what it uses."""
        return self._submit(sender, "finaliseAnchored", request_id, root, leaf_count, gas=gas)

    def settlement_root(self, request_id: int) -> bytes:
        """The settlement root anchored at finalisation (zero bytes: not anchored)."""
        return bytes(self._view("settlementRoot", request_id))

    def set_aggregator(self, sender: Sender, aggregator: str) -> Receipt:
        return self._tx(sender, "setAggregator", _cs(aggregator))

    def request(self, request_id: int) -> RequestInfo:
        r, s = self._view("request", request_id)
        return RequestInfo(
            request_id,
            RequestStatus(r[0]),
            Strategy(r[1]),
            Direction(r[2]),
            *(int(x) for x in r[3:]),
            *(int(x) for x in s),
        )

    def commitment_of(self, request_id: int, prosumer: str) -> Commitment:
        return _commitment(self._view("commitmentOf", request_id, _cs(prosumer)))

    def commitments_of(self, request_id: int, prosumers: Sequence[str]) -> dict[str, Commitment]:
        """`commitment_of` for many prosumers, read in JSON-RPC batches (`contracts.batch_calls`);
        keyed by the addresses as given."""
        from contracts.batch_calls import call_many

        fns = [self.contract.functions.commitmentOf(request_id, _cs(p)) for p in prosumers]
        return {p: _commitment(c) for p, c in zip(prosumers, call_many(self.chain, fns), strict=True)}

    def top_up_of(self, request_id: int) -> TopUpRound:
        return TopUpRound(*(int(x) for x in self._view("topUpOf", request_id)))

    def result(self, request_id: int) -> RequestResult:
        return RequestResult(*(int(x) for x in self._view("result", request_id)))

    def request_events(self, name: str, request_id: int, from_block: int) -> list[dict[str, Any]]:
        """Args of every `name` event (Accepted, Applied, Selected...) of one request since `from_block`,
        in chain order, read in bounded block ranges (`contracts.events`)."""
        from hexbytes import HexBytes

        from contracts.events import MARKET, Cursor, EventDecoder, LogPager, uint_topic

        decoder = EventDecoder({MARKET: (self.address, list(self.contract.abi))})
        chain = self.chain
        pager = LogPager(
            lambda params: chain.rpc(lambda: chain.w3.eth.get_logs(params), f"{name} logs"),  # type: ignore[arg-type]
            lambda: int(chain.rpc(lambda: chain.w3.eth.block_number, "block number")),
            [self.address],
        )
        topics = [HexBytes(decoder.topic(MARKET, name)), HexBytes(uint_topic(request_id))]
        events = [e for page in pager.pages(Cursor(from_block), pager.head(), topics)
                  for raw in page if (e := decoder.decode(raw)) is not None]  # fmt: skip
        return [e.args for e in sorted(events, key=lambda e: e.position)]

    def current_request_id(self) -> int:
        return int(self._view("currentRequestId"))

    def request_count(self) -> int:
        return int(self._view("requestCount"))

    def is_compliant(self, committed_w: int, duration_s: int, delivered_wh: int) -> bool:
        return bool(self._view("isCompliant", committed_w, duration_s, delivered_wh))
