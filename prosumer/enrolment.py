"""Asking the aggregator to consent to this prosumer's contract terms (rule R2), before registering them.

`POST /auth/challenge` gives a nonce to sign (proof of the account's key); `POST /consent` with the
signature, the enrolment credential (`PROSUMER_ENROLMENT_TOKEN`) and the terms returns the aggregator's
EIP-712 consent, which the prosumer passes to `Registry.register` (or `renegotiate`). A busy or
unreachable aggregator is retried with backoff (429 and 503: after their `Retry-After`, jittered upwards
by up to a quarter) until `timeout_s` (the prosumer's setup then waits and asks again: it never gives
up); a refusal (401, 403, 409, 422) ends with an error that quotes the aggregator's reason.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from eth_account import Account
from eth_account.messages import encode_defunct

from aggregator.wire import ChallengeOut
from aggregator.wire_consent import ConsentOut, TermsIn
from base.errors import ConfigError, FlexsimError
from contracts.consent import Consent
from contracts.types import Terms
from prosumer.net import jittered, tls_context
from prosumer.plain_http import PlainHttp, Reply, Unreachable

log = logging.getLogger(__name__)

BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 5.0


class ConsentRefused(ConfigError):
    """The aggregator does not consent to these terms (or to this prosumer)."""


class ConsentUnavailable(FlexsimError):
    """The aggregator was busy or unreachable for longer than the consent's timeout: ask again later."""


class ConsentClient:
    def __init__(
        self,
        aggregator_url: str,
        key: str,
        enrolment_token: str | None,
        http_timeout_s: float = 10.0,
        timeout_s: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = aggregator_url.rstrip("/")
        self.account = Account.from_key(key)
        self.enrolment_token = enrolment_token
        self.http_timeout_s = http_timeout_s
        self.timeout_s = timeout_s
        self._sleep = sleep

    def __call__(self, terms: Terms, expiry: int) -> Consent:
        """The aggregator's consent to `terms` until `expiry` for this account."""
        if not self.enrolment_token:
            raise ConsentRefused(
                "no enrolment credential: set PROSUMER_ENROLMENT_TOKEN to the aggregator's "
                "AGGREGATOR_ENROLMENT_TOKEN (flexsim run sets both)"
            )
        deadline = time.monotonic() + self.timeout_s
        backoff = BACKOFF_START_S
        while True:
            try:
                return self._once(terms, expiry)
            except _Busy as exc:
                if time.monotonic() + exc.delay > deadline:
                    raise ConsentUnavailable(
                        f"no consent from the aggregator at {self.url} within {self.timeout_s:g} s: {exc}"
                    ) from None
                log.info("consent: %s; retrying in %.1f s", exc, exc.delay or backoff)
                self._sleep(exc.delay or backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)

    def _once(self, terms: Terms, expiry: int) -> Consent:
        client = PlainHttp(self.url, tls_context())  # the uplink's socket: less code in a fleet's child
        try:
            challenge = ChallengeOut.model_validate_json(
                self._post(client, "/auth/challenge", {"address": self.account.address}).content
            )
            signed = self.account.sign_message(encode_defunct(text=challenge.message))
            body = {
                "address": self.account.address,
                "nonce": challenge.nonce,
                "signature": "0x" + signed.signature.hex().removeprefix("0x"),
                "enrolment_token": self.enrolment_token,
                "terms": TermsIn.of(terms).model_dump(mode="json"),
                "expiry": expiry,
            }
            out = ConsentOut.model_validate_json(self._post(client, "/consent", body).content)
        finally:
            client.close()
        if out.terms.to_terms() != terms or out.expiry != expiry or out.prosumer != self.account.address:
            raise ConsentRefused(f"the aggregator consented to something else than asked: {out}")
        log.info("the aggregator consented to %s until %d (nonce %d)", terms, expiry, out.nonce)
        return Consent(out.deadline, out.v, bytes.fromhex(out.r[2:]), bytes.fromhex(out.s[2:]))

    def _post(self, client: PlainHttp, path: str, body: dict[str, object]) -> Reply:
        headers = {"Content-Type": "application/json"}
        try:
            reply = client.request("POST", path, json.dumps(body).encode(), headers, self.http_timeout_s)
        except Unreachable as exc:
            raise _Busy(0.0, f"aggregator unreachable ({exc})") from None
        if reply.status_code == 200:
            return reply
        detail = _detail(reply)
        if reply.status_code in (429, 503) or reply.status_code >= 500:
            raise _Busy(_retry_after(reply), f"{path}: HTTP {reply.status_code}: {detail}")
        raise ConsentRefused(f"the aggregator refused {path} (HTTP {reply.status_code}): {detail}")


class _Busy(Exception):
    def __init__(self, delay: float, message: str) -> None:
        super().__init__(message)
        self.delay = delay


def _retry_after(reply: Reply) -> float:
    try:
        return jittered(min(30.0, max(0.0, float(reply.headers.get("retry-after", "0")))))
    except ValueError:
        return 0.0


def _detail(reply: Reply) -> str:
    try:
        return str(reply.json().get("detail", reply.text))[:500]
    except ValueError:
        return reply.text[:500]
