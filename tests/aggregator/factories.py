"""Plain factories for the aggregator tests: readings, registrations, settings, logins."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from aggregator.settings import AggregatorSettings
from contracts.types import Registration, SourceKind, Terms

GRID = secrets.token_urlsafe(32)  # strong credentials, as the service demands
ADMIN = secrets.token_urlsafe(32)
T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def make_terms(kind: SourceKind = SourceKind.SOLAR, capacity_w: int = 8_000, flex_w: int = 2_000) -> Terms:
    return Terms(kind, capacity_w, 20_000, flex_w, flex_w, 3_600, 2 * 10**17, 15 * 10**16)


def make_registration(kind: SourceKind = SourceKind.SOLAR, **terms: Any) -> Registration:
    return Registration(make_terms(kind, **terms), int(time.time()) + 86_400, 1, True)


def make_reading(seq: int = 1, at: datetime | None = None, **overrides: Any) -> dict[str, Any]:
    """A valid reading (JSON-ready) of a solar prosumer at `at` (default: now, the server's default clock)."""
    when = at or datetime.now(UTC)
    reading: dict[str, Any] = {
        "seq": seq,
        "timestamp": when.isoformat(),
        "power_w": 4_000.0,
        "energy_wh": 100.0 + seq,
        "status": "ok",
    }
    reading.update(overrides)
    return reading


def make_settings(tmp_path: Path, **overrides: Any) -> AggregatorSettings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'aggregator.db'}",
        "grid_token": GRID,
        "admin_token": ADMIN,
        "registry_cache_ttl_s": 0.0,
    }
    values.update(overrides)
    return AggregatorSettings(_env_file=None, **values)  # type: ignore[call-arg]


def sign(account: LocalAccount, message: str) -> str:
    return "0x" + Account.sign_message(encode_defunct(text=message), account.key).signature.hex()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(client: Any, account: LocalAccount) -> dict[str, str]:
    """Logs `account` in through the API (challenge, sign, login); returns its Authorization header."""
    challenge = client.post("/auth/challenge", json={"address": account.address}).json()
    body = {
        "address": account.address,
        "nonce": challenge["nonce"],
        "signature": sign(account, challenge["message"]),
    }
    reply = client.post("/auth/login", json=body)
    assert reply.status_code == 200, reply.text
    return bearer(reply.json()["access_token"])
