"""The aggregator's consent to prosumers' contract terms (rule R2: a prosumer's contract is *with* its
aggregator).

The Registry registers a DER (and accepts a renegotiation that raises any term or the expiry) only
with the aggregator's EIP-712 signature over the exact terms (`contracts.consent`). The aggregator
signs under a policy from its settings (`AGGREGATOR_CONSENT_*`), for callers that hold the enrolment
credential (`AGGREGATOR_ENROLMENT_TOKEN`, given to the fleet it contracts with) and prove they hold the
prosumer's key (a signed login challenge). So no outsider can inflate the totals that fair shares are
computed from, and every registered contract is one the aggregator agreed to.

`problems` is the policy as a pure function; `ConsentDesk` adds the chain reads (the prosumer's
consent nonce, the registry's count, the chain clock) and the signature.
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aggregator.errors import Conflict, Forbidden, InvalidInput, RegistryUnavailable, Unauthorized
from base.errors import FlexsimError
from contracts.consent import Consent
from contracts.errors import ChainError
from contracts.types import SourceKind, Terms

if TYPE_CHECKING:
    from contracts.deployment import Deployment

log = logging.getLogger(__name__)

# The Registry's own bounds (contracts/src/Registry.sol); the policy can only be stricter.
CHAIN_MAX_CAPACITY_W = 100_000_000
CHAIN_MAX_DURATION_S = 7 * 86_400
CHAIN_MAX_TARIFF = 10**24
CHAIN_MAX_TERM_S = 5 * 365 * 86_400


@dataclass(frozen=True)
class ConsentPolicy:
    """What the aggregator agrees to. Power in W, durations in s (chain clock), tariffs in base units/kWh."""

    max_capacity_w: Mapping[SourceKind, int]
    max_duration_s: int
    max_tariff: int
    max_term_s: int
    max_prosumers: int
    valid_s: int  # how long a consent may be used after it is given (chain s)


def problems(
    policy: ConsentPolicy, terms: Terms, expiry: int, now: int, registered: int, renewing: bool
) -> list[str]:
    """Every reason the policy refuses `terms` until `expiry` at chain time `now`, given `registered`
    registrations (a renewal or renegotiation of an existing one does not count against the cap)."""
    out: list[str] = []
    cap = policy.max_capacity_w[terms.kind]
    if not 0 < terms.capacity_w <= cap:
        out.append(f"capacity_w {terms.capacity_w} is outside 1..{cap} W for a {terms.kind.label}")
    for name, flex in (("flex_up_w", terms.flex_up_w), ("flex_down_w", terms.flex_down_w)):
        if not 0 <= flex <= terms.capacity_w:
            out.append(f"{name} {flex} is outside 0..capacity_w ({terms.capacity_w}) W")
    if abs(terms.expected_wh_per_day) > terms.capacity_w * 24:
        out.append(
            f"|expected_wh_per_day| {abs(terms.expected_wh_per_day)} exceeds 24 h at capacity "
            f"({terms.capacity_w * 24} Wh)"
        )
    if not 0 < terms.max_duration_s <= policy.max_duration_s:
        out.append(f"max_duration_s {terms.max_duration_s} is outside 1..{policy.max_duration_s} s")
    for name, tariff in (("tariff_up", terms.tariff_up), ("tariff_down", terms.tariff_down)):
        if not 0 <= tariff <= policy.max_tariff:
            out.append(f"{name} {tariff} is outside 0..{policy.max_tariff} base units per kWh")
    if not now < expiry <= now + policy.max_term_s:
        out.append(f"expiry {expiry} is outside ({now}, {now + policy.max_term_s}] (chain epoch s)")
    if not renewing and registered >= policy.max_prosumers:
        out.append(f"the aggregator already holds {registered} contracts, its limit")
    return out


@dataclass(frozen=True)
class GrantedConsent:
    prosumer: str
    terms: Terms
    expiry: int
    nonce: int
    consent: Consent
    registry: str
    chain_id: int


class ConsentDesk:
    """Grants consents: checks the enrolment credential and the policy, reads the chain, signs.

    Attaches to the deployment (`rpc_url`, `manifest`) on first use, like the registry view."""

    def __init__(
        self,
        policy: ConsentPolicy,
        enrolment_token: str | None,
        aggregator_key: str | None,
        rpc_url: str,
        manifest: Path,
    ) -> None:
        self.policy = policy
        self._enrolment = enrolment_token
        self._key = aggregator_key
        self.rpc_url = rpc_url
        self.manifest = manifest
        self._deployment: Deployment | None = None
        self._lock = threading.Lock()

    def check_enrolment(self, token: str | None) -> None:
        if self._enrolment is None:
            raise Forbidden(
                "this aggregator takes no enrolments: start it with AGGREGATOR_ENROLMENT_TOKEN set and give "
                "the same value to its prosumers (PROSUMER_ENROLMENT_TOKEN)"
            )
        if token is None or not hmac.compare_digest(token.encode(), self._enrolment.encode()):
            raise Unauthorized(
                "missing or wrong enrolment token: ask the aggregator's operator for it "
                "(PROSUMER_ENROLMENT_TOKEN)"
            )

    def grant(self, prosumer: str, terms: Terms, expiry: int) -> GrantedConsent:
        """The aggregator's signed consent for `prosumer`'s next registration or renegotiation."""
        if self._key is None:
            raise RegistryUnavailable(
                "this aggregator has no signing key: set AGGREGATOR_AGGREGATOR_KEY (the aggregator account "
                "of the deployment) so it can consent to prosumers' contracts",
                retry_after_s=30,
            )
        d = self._attach()
        try:
            now = int(d.chain.w3.eth.get_block("latest")["timestamp"])
            current = d.registry.registration_of(prosumer)
            nonce = d.registry.consent_nonce(prosumer)
            registered = d.registry.totals()[2]
        except ChainError as exc:
            raise RegistryUnavailable(f"cannot read the registry: {exc}", retry_after_s=5) from exc
        renewing = current.terms.capacity_w != 0
        found = problems(self.policy, terms, expiry, now, registered, renewing)
        if found:
            raise InvalidInput("the aggregator does not consent to these terms: " + "; ".join(found))
        if current.active and current.terms == terms and current.expiry == expiry:
            raise Conflict(
                f"{prosumer} already holds exactly these terms until {expiry}: nothing to consent to"
            )
        consent = d.consent_signer(self._key).sign(prosumer, terms, expiry, nonce, now + self.policy.valid_s)
        log.info("consented to %s for %s until %d (nonce %d)", terms, prosumer, expiry, nonce)
        return GrantedConsent(prosumer, terms, expiry, nonce, consent, d.registry.address, d.chain.chain_id)

    def _attach(self) -> Deployment:
        from contracts.deployment import Deployment  # web3 and the ABIs load on first use only

        with self._lock:
            if self._deployment is None:
                if not self.rpc_url or not self.manifest.exists():
                    raise RegistryUnavailable(
                        "no chain configured: set AGGREGATOR_RPC_URL and AGGREGATOR_MANIFEST so the "
                        "aggregator can consent to prosumers' contracts",
                        retry_after_s=30,
                    )
                try:
                    self._deployment = Deployment.load(self.manifest, rpc_url=self.rpc_url)
                except FlexsimError as exc:
                    raise RegistryUnavailable(
                        f"cannot attach to the registry: {exc}", retry_after_s=5
                    ) from exc
            return self._deployment
