"""Who is calling: prosumer login by signed nonce, bearer tokens, grid operator and admin credentials.

Login (EIP-191): `challenge(address)` returns a one-time nonce inside a text message (the fields of an
EIP-4361 message, without its domain line); the prosumer signs the message with `personal_sign`
(`eth_account.messages.encode_defunct(text=message)`), and `login(address, nonce, signature)` checks,
in this order: the nonce exists (and is consumed, whatever happens next: single use), it was issued to
this address, it has not expired, the signature recovers to the address, and the registry says the
prosumer is active. It then issues an opaque random bearer token, kept in this process's memory with
its expiry and the prosumer's registered terms (a restarted aggregator forgets tokens: log in again).

The grid operator and the admin present fixed credentials from the settings as bearer tokens.

Abuse bounds: pending challenges are bounded per client and per address (`aggregator.challenges`), and
failed bearer attempts per client (`aggregator.ratelimit`); both answer 429 with Retry-After. A client
is the caller's IP address, as the HTTP layer passes it in.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import to_checksum_address

from aggregator.challenges import Challenge, ChallengeBook
from aggregator.errors import Forbidden, Unauthorized
from aggregator.ratelimit import FailureLimiter
from aggregator.registry import RegistryView
from contracts.types import Registration, SourceKind

log = logging.getLogger(__name__)

MAX_TOKENS_PER_PROSUMER = 8
Role = Literal["prosumer", "grid", "admin"]


@dataclass(frozen=True)
class AuthLimits:
    """The abuse bounds of `Authenticator` (see the module docstring)."""

    challenges_per_client: int = 256
    challenges_per_address: int = 4
    max_challenges: int = 100_000
    bearer_failures: int = 50
    bearer_failure_window_s: float = 60.0


@dataclass(frozen=True)
class ProsumerSession:
    token: str
    address: str  # checksummed
    kind: SourceKind
    capacity_w: int
    flex_up_w: int
    flex_down_w: int
    expires_at: float  # real epoch s

    @property
    def key(self) -> str:
        """The address as stored in the database (lower case)."""
        return self.address.lower()


@dataclass(frozen=True)
class Principal:
    role: Role
    session: ProsumerSession | None = None


def login_message(address: str, nonce: str, issued: float, expires: float) -> str:
    def iso(t: float) -> str:
        return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

    return (
        f"flexsim aggregator login\nAddress: {address}\nNonce: {nonce}\n"
        f"Issued At: {iso(issued)}\nExpiration Time: {iso(expires)}"
    )


class Authenticator:
    """Challenges, prosumer tokens and the fixed credentials. Thread-safe; `login` blocks on the registry."""

    def __init__(
        self,
        registry: RegistryView,
        grid_token: str | None,
        admin_token: str | None,
        token_ttl_s: float = 3600.0,
        nonce_ttl_s: float = 300.0,
        limits: AuthLimits | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.registry = registry
        self._grid = grid_token
        self._admin = admin_token
        self.token_ttl_s = token_ttl_s
        self.nonce_ttl_s = nonce_ttl_s
        limits = limits or AuthLimits()
        self._clock = clock
        self._lock = threading.Lock()
        self.challenges = ChallengeBook(
            limits.challenges_per_client, limits.challenges_per_address, limits.max_challenges, clock
        )
        self.bearer_failures = FailureLimiter(
            limits.bearer_failures, limits.bearer_failure_window_s, time.monotonic
        )
        self._sessions: dict[str, ProsumerSession] = {}
        self._by_address: dict[str, list[str]] = {}

    # ------------------------------------------------------------------ login
    def challenge(self, address: str, client: str = "") -> Challenge:
        """A new pending challenge for `address`; `RateLimited` when `client` holds too many."""
        address = to_checksum_address(address)
        now = self._clock()
        nonce = secrets.token_urlsafe(16)
        expires = now + self.nonce_ttl_s
        ch = Challenge(address, nonce, login_message(address, nonce, now, expires), expires, client)
        self.challenges.add(ch)
        return ch

    def login(self, address: str, nonce: str, signature: str) -> ProsumerSession:
        address = self.prove(address, nonce, signature)
        registration = self.registry.terms(address)
        if not registration.active:
            raise Forbidden(
                f"{address} is not an active prosumer on the registry: register (or renew an expired "
                "contract) on chain, then log in"
            )
        return self._issue(address, registration)

    def prove(self, address: str, nonce: str, signature: str) -> str:
        """Checks that the caller holds `address`'s key: it signed the challenge issued to it. The nonce
        is consumed whatever happens (single use). Returns the checksummed address."""
        address = to_checksum_address(address)
        ch = self.challenges.take(nonce)  # single use, even when the login fails
        if ch is None:
            raise Unauthorized("unknown or already used nonce: ask POST /auth/challenge for a new one")
        if ch.address != address:
            raise Unauthorized(f"this nonce was issued to {ch.address}, not {address}: ask for your own")
        if self._clock() > ch.expires_at:
            raise Unauthorized("the nonce has expired: ask POST /auth/challenge for a new one")
        if _signer(ch.message, signature) != address:
            raise Unauthorized(f"the signature does not recover to {address}: sign the challenge's message")
        return address

    def _issue(self, address: str, registration: Registration) -> ProsumerSession:
        t = registration.terms
        session = ProsumerSession(
            token=secrets.token_urlsafe(32),
            address=address,
            kind=t.kind,
            capacity_w=t.capacity_w,
            flex_up_w=t.flex_up_w,
            flex_down_w=t.flex_down_w,
            expires_at=self._clock() + self.token_ttl_s,
        )
        with self._lock:
            tokens = self._by_address.setdefault(address, [])
            tokens.append(session.token)
            while len(tokens) > MAX_TOKENS_PER_PROSUMER:
                self._sessions.pop(tokens.pop(0), None)
            self._sessions[session.token] = session
        log.info("prosumer logged in", extra={"prosumer": address})
        return session

    # ------------------------------------------------------------------ bearer credentials
    def principal(self, token: str, client: str = "") -> Principal:
        """The caller behind a bearer token; raises `Unauthorized` for unknown or expired tokens and
        `RateLimited` while `client` has failed too often (see `aggregator.ratelimit`)."""
        self.bearer_failures.check(client)
        if not token.isascii():  # a header decoded as Latin-1; credentials are ASCII
            self.bearer_failures.failed(client)
            raise Unauthorized("the bearer token is not ASCII: send the token you were given, unchanged")
        if self._admin and hmac.compare_digest(token, self._admin):
            return Principal("admin")
        if self._grid and hmac.compare_digest(token, self._grid):
            return Principal("grid")
        session = self._sessions.get(token)
        if session is None:
            self.bearer_failures.failed(client)
            raise Unauthorized("unknown bearer token: log in with POST /auth/challenge and /auth/login")
        if self._clock() > session.expires_at:
            self._drop(session)
            raise Unauthorized("bearer token expired: log in again")
        return Principal("prosumer", session)

    def revoke(self, address: str) -> int:
        """Revokes every token of `address` (e.g. when chain sync sees it removed); returns how many."""
        address = to_checksum_address(address)
        with self._lock:
            tokens = self._by_address.pop(address, [])
            for token in tokens:
                self._sessions.pop(token, None)
        return len(tokens)

    def refresh(self, address: str, registration: Registration) -> None:
        """Updates live sessions after a renegotiation; revokes them when the prosumer is inactive."""
        if not registration.active:
            self.revoke(address)
            return
        address = to_checksum_address(address)
        t = registration.terms
        with self._lock:
            for token in self._by_address.get(address, []):
                old = self._sessions[token]
                self._sessions[token] = replace(
                    old,
                    kind=t.kind,
                    capacity_w=t.capacity_w,
                    flex_up_w=t.flex_up_w,
                    flex_down_w=t.flex_down_w,
                )

    def _drop(self, session: ProsumerSession) -> None:
        with self._lock:
            self._sessions.pop(session.token, None)
            tokens = self._by_address.get(session.address, [])
            if session.token in tokens:
                tokens.remove(session.token)


def _signer(message: str, signature: str) -> str | None:
    try:
        return str(Account.recover_message(encode_defunct(text=message), signature=signature))
    except Exception:  # malformed hex, wrong length, invalid v/r/s: all are "does not recover"
        return None
