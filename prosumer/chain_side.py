"""The prosumer's own chain connection: funds check, registration, renegotiation, renewal, removal, and
its answers to requests (rules R2, R3, R7, R8, R14).

Every method blocks until its transaction is mined, so only the chain worker thread calls them (the
reading loop never waits for the chain).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

from contracts.answers import SignedAnswer, sign_answer
from contracts.chain import VOLTA_FAUCET
from contracts.consent import Consent, raises
from contracts.deployment import Deployment
from contracts.errors import InsufficientFunds, TransactionFailed
from contracts.sender import Sender
from contracts.settings import ChainSettings
from contracts.types import Commitment, DeclineReason, Registration, Terms
from domain.vocabulary import AnswerAction
from prosumer.contract import expiry_after, needs_renewal
from prosumer.settings import ProsumerSettings

log = logging.getLogger(__name__)

REGISTER_GAS = 200_000  # a first registration (~150k gas) with the sender's estimate margin

ConsentSource = Callable[[Terms, int], Consent]
"""Gets the aggregator's consent to (terms, expiry); `prosumer.enrolment.ConsentClient` asks over HTTP."""


class ChainSide:
    def __init__(
        self,
        deployment: Deployment,
        sender: Sender,
        settings: ProsumerSettings,
        consents: ConsentSource,
        wall: Callable[[], float] = time.time,
        ws_url: str | None = None,
    ) -> None:
        self.d = deployment
        self.ws_url = ws_url  # the market's events pushed over this WebSocket (polled when None)
        self.sender = sender
        self.settings = settings
        self.consents = consents
        self.address = sender.address
        self._wall = wall

    @classmethod
    def connect(
        cls,
        settings: ProsumerSettings,
        key: str,
        preloaded: Deployment | None = None,
        chain_settings: ChainSettings | None = None,
    ) -> ChainSide:
        """Connects to the chain named by the settings and binds the manifest's contracts; consents come
        from the aggregator named by the settings. `preloaded`: the contracts as a fleet's parent bound
        them before it forked; this process opens its own connection for them (`Chain.reconnect`).
        `chain_settings`: the `CHAIN_*` settings as that parent read them (reading the environment
        through pydantic-settings again dirtied 1.4 MB of a child's shared pages)."""
        from prosumer.enrolment import ConsentClient

        cs = chain_settings or ChainSettings()
        if preloaded is not None:
            d = preloaded
            d.chain.disconnect()  # the parent closed its sockets before the fork; closing again is cheap
        else:
            d = Deployment.load(settings.manifest, cs, rpc_url=settings.rpc_url)
        token = settings.enrolment_token
        consents = ConsentClient(
            settings.aggregator_url,
            key,
            None if token is None else token.get_secret_value(),
            settings.http_timeout_s,
        )
        ws_url = settings.ws_url or cs.ws_url
        return cls(d, Sender(d.chain, key), settings, consents, ws_url=ws_url)

    # ------------------------------------------------------------------ gas (R14)

    def ensure_funded(self) -> int:
        """The account's native balance; `InsufficientFunds` when it cannot pay for a registration."""
        chain = self.d.chain
        balance = chain.balance(self.address)
        need = REGISTER_GAS * chain.max_fee_per_gas()
        if balance < need and self.settings.funder_key is not None:
            balance = self._fund_from_funder(self.settings.funder_key.get_secret_value())
        if balance < need:
            raise InsufficientFunds(
                f"account {self.address} has {balance / 1e18:.6f} native tokens on chain {chain.chain_id}, "
                f"less than the {need / 1e18:.6f} a registration costs in gas (R14): fund it (on Volta "
                f"get VT at the faucet {VOLTA_FAUCET}; on a local chain send it ETH from a dev account), "
                "or start it with `flexsim run`, which funds prosumers from CHAIN_FUNDER_KEY"
            )
        return balance

    def _fund_from_funder(self, funder_key: str) -> int:
        """Asks the funder for native tokens. Replicas share the funder key from separate processes,
        so its nonce is contended: a rejected send is retried with a fresh nonce and some jitter."""
        funder = Sender(self.d.chain, funder_key)
        amount = int(self.settings.fund_amount * 10**18)
        for attempt in range(10):
            try:
                receipt = funder.send_value(self.address, amount)
                log.info("funded %s with %s from %s (tx %s)", self.address, self.settings.fund_amount,
                         funder.address, receipt.tx_hash)  # fmt: skip
                break
            except TransactionFailed as exc:
                log.warning("funding from %s failed (%s); retrying", funder.address, exc)
                funder.resync_nonce()
                time.sleep(0.2 + random.random() * (attempt + 1))
        return self.d.chain.balance(self.address)

    # ------------------------------------------------------------------ contract life cycle (R2, R3)

    def registration(self) -> Registration:
        return self.d.registry.registration_of(self.address)

    def ensure_registered(self, model: Terms) -> tuple[Terms, int]:
        """Registers `model` unless an active registration exists (a restart keeps the contract it had,
        renewed if it is about to expire). Returns the terms in force and their expiry."""
        reg = self.registration()
        if reg.terms.capacity_w == 0 or not reg.active:  # never registered, removed, or lapsed
            expiry = self._expiry()
            receipt = self.d.registry.register(self.sender, model, expiry, self.consents(model, expiry))
            log.info("registered %s terms %s until %d (tx %s)", self.address, model, expiry, receipt.tx_hash)
            return model, expiry
        log.info("already registered with %s until %d: keeping that contract", reg.terms, reg.expiry)
        if self.settings.renew and self.due_for_renewal(reg.expiry):
            return reg.terms, self.renegotiate(reg.terms, "renewal")
        return reg.terms, reg.expiry

    def due_for_renewal(self, expiry: int) -> bool:
        s = self.settings
        return needs_renewal(expiry, self._wall(), s.renew_before_s, self._speed())

    def renegotiate(self, terms: Terms, why: str) -> int:
        """New terms (or the same, to renew) with a new expiry; returns the expiry."""
        expiry = self._expiry()
        reg = self.registration()
        consent = self.consents(terms, expiry) if raises(reg.terms, reg.expiry, terms, expiry) else None
        receipt = self.d.registry.renegotiate(self.sender, terms, expiry, consent)
        log.info("%s: renegotiated to %s until %d (tx %s)", why, terms, expiry, receipt.tx_hash)
        return expiry

    def remove(self) -> None:
        receipt = self.d.registry.remove(self.sender)
        log.info("removed the DER contract of %s (tx %s)", self.address, receipt.tx_hash)

    def open_request_id(self) -> int:
        return self.d.market.current_request_id()

    # ------------------------------------------------------------------ answers to requests (R7, R8)

    def accept(self, request_id: int) -> int:
        """Commits to the fair share; returns the committed power (W) from the Accepted event."""
        receipt = self.d.market.accept(self.sender, request_id)
        (event,) = self.d.market.events(receipt, "Accepted")
        power = int(event["args"]["powerW"])
        log.info("request %d: accepted %d W (tx %s)", request_id, power, receipt.tx_hash)
        return power

    def accept_up_to(self, request_id: int, limit_w: int) -> int:
        """Commits to the fair share and to at most `limit_w` in all in a top-up; returns the share (W)."""
        receipt = self.d.market.accept_up_to(self.sender, request_id, limit_w)
        (event,) = self.d.market.events(receipt, "Accepted")
        power = int(event["args"]["powerW"])
        log.info("request %d: accepted %d W, up to %d W with a top-up (tx %s)", request_id, power, limit_w,
                 receipt.tx_hash)  # fmt: skip
        return power

    def apply(self, request_id: int) -> int:
        """Applies (reputation); returns the offered power (W)."""
        receipt = self.d.market.apply_for(self.sender, request_id)
        (event,) = self.d.market.events(receipt, "Applied")
        offered = int(event["args"]["offeredW"])
        log.info("request %d: applied offering %d W (tx %s)", request_id, offered, receipt.tx_hash)
        return offered

    def decline(self, request_id: int, reason: DeclineReason, why: str) -> None:
        receipt = self.d.market.decline(self.sender, request_id, int(reason))
        log.info("request %d: declined (%s: %s) (tx %s)", request_id, reason.label, why, receipt.tx_hash)

    def sign_answer(self, request_id: int, action: AnswerAction, value: int = 0) -> SignedAnswer:
        """The answer as EIP-712 typed data signed with this prosumer's key, for the aggregator to relay
        (`contracts.answers`): no transaction, no gas."""
        d = self.d
        return sign_answer(
            self.sender.account.key, d.chain.chain_id, d.market.address, request_id, action, value
        )

    def commitment(self, request_id: int) -> Commitment:
        return self.d.market.commitment_of(request_id, self.address)

    # ------------------------------------------------------------------ helpers

    def _speed(self) -> float:
        return self.settings.sim_speed

    def _expiry(self) -> int:
        return expiry_after(self._wall(), self.settings.contract_horizon_s, self._speed())
