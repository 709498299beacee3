"""Credentials and abuse bounds over real HTTP: a non-ASCII token is a 401, login challenges are bounded
per client and address (a flood does not stop a legitimate login), failed bearer attempts are rate
limited per client (429 + Retry-After), and weak credentials are refused at start."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from aggregator.app import create_app
from aggregator.challenges import Challenge, ChallengeBook
from aggregator.errors import RateLimited
from aggregator.ratelimit import FailureLimiter
from tests.aggregator.conftest import Fleet
from tests.aggregator.factories import ADMIN, GRID, bearer, login, make_reading, make_settings, sign
from tests.aggregator.live import client, serve


@pytest.fixture
def live(tmp_path: Path, fleet: Fleet) -> Iterator[str]:
    settings = make_settings(tmp_path, challenges_per_client=20, bearer_failures_per_client=10)
    with serve(create_app(settings, registry_view=fleet.registry)) as base:
        yield base


def protected_operations(base: str) -> list[tuple[str, str]]:
    doc = httpx.get(base + "/openapi.json").json()
    out = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if op.get("security"):
                concrete = path.replace("{request_id}", "1").replace("{address}", "0x" + "11" * 20)
                out.append((method.upper(), concrete))
    return out


# ---------------------------------------------------------------------------------- item 8


def test_a_non_ascii_bearer_token_is_a_401_on_every_protected_endpoint(tmp_path: Path, fleet: Fleet) -> None:
    settings = make_settings(tmp_path, bearer_failures_per_client=1000)
    with serve(create_app(settings, registry_view=fleet.registry)) as base, client(base) as c:
        operations = protected_operations(base)
        assert len(operations) >= 14
        for method, path in operations:
            for raw in (b"Bearer \xe9", b"Bearer caf\xc3\xa9-" + b"x" * 40):
                reply = c.request(method, path, headers=[(b"Authorization", raw)], content=b"")
                assert reply.status_code == 401, (method, path, reply.text)
                assert reply.json()["error"] == "unauthorized" and "ASCII" in reply.json()["detail"]


# ---------------------------------------------------------------------------------- item 13


def test_a_legitimate_login_succeeds_during_a_challenge_flood(live: str, fleet: Fleet) -> None:
    victim = fleet.battery
    with client(live, "127.0.0.3") as mine:
        early = mine.post("/auth/challenge", json={"address": victim.address}).json()  # before the flood
        with client(live, "127.0.0.2") as flood:
            statuses = []
            for i in range(60):  # random accounts, and the victim's own
                address = victim.address if i % 2 else Account.create().address
                statuses.append(flood.post("/auth/challenge", json={"address": address}))
            refused = [r for r in statuses if r.status_code == 429]
            assert len(refused) == 60 - 20  # its own allowance of 20, nothing more
            assert all(
                int(r.headers["Retry-After"]) >= 1 and r.json()["error"] == "rate_limited" for r in refused
            )
            per_address = [r for r in statuses[:20] if r.status_code == 429]
            assert len(per_address) == 10 - 4  # the victim's address: 4 at most from that client
        # the challenge asked before the flood was not evicted, and a new one is given
        body = {
            "address": victim.address,
            "nonce": early["nonce"],
            "signature": sign(victim, early["message"]),
        }
        assert mine.post("/auth/login", json=body).status_code == 200
        headers = login(mine, victim)
        assert (
            mine.post("/readings", json=make_reading(1, power_w=-100.0), headers=headers).status_code == 200
        )


def test_the_challenge_book_bounds_and_frees_without_evicting() -> None:
    now = [1000.0]
    book = ChallengeBook(per_client=3, per_address=2, total=5, clock=lambda: now[0])

    def ch(nonce: str, address: str, client: str) -> Challenge:
        return Challenge(address, nonce, "m", now[0] + 300, client)

    book.add(ch("a1", "A", "c1"))
    book.add(ch("a2", "A", "c1"))
    with pytest.raises(RateLimited) as per_address:
        book.add(ch("a3", "A", "c1"))
    assert per_address.value.retry_after_s == 300
    book.add(ch("b1", "B", "c1"))
    with pytest.raises(RateLimited, match="this client already holds 3"):
        book.add(ch("c1", "C", "c1"))
    book.add(ch("a4", "A", "c2"))  # another client, same address: its own allowance
    book.add(ch("d1", "D", "c3"))
    with pytest.raises(RateLimited, match="5 login challenges are pending"):
        book.add(ch("e1", "E", "c4"))
    assert book.take("a1") is not None and book.take("a1") is None  # used once
    book.add(ch("a5", "A", "c1"))  # a used challenge frees its place
    assert len(book) == 5  # nothing was evicted to make room
    now[0] += 301
    book.add(ch("f1", "F", "c1"))  # the expired ones are gone, and their places with them
    assert [book.take(n) for n in ("a2", "b1", "a4", "d1", "a5")] == [None] * 5
    assert len(book) == 1


# ---------------------------------------------------------------------------------- item 14


def test_failed_bearer_attempts_are_rate_limited_per_client(live: str) -> None:
    with client(live, "127.0.0.2") as guesser, client(live, "127.0.0.3") as other:
        for _ in range(10):
            assert guesser.get("/requests", headers=bearer(secrets.token_urlsafe(32))).status_code == 401
        refused = guesser.get("/requests", headers=bearer(secrets.token_urlsafe(32)))
        assert refused.status_code == 429 and refused.json()["error"] == "rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        # the right credential from that client waits too: a guess must not learn it was right
        assert guesser.get("/requests", headers=bearer(GRID)).status_code == 429
        assert other.get("/requests", headers=bearer(GRID)).status_code == 200
        assert other.get("/admin/clock", headers=bearer(ADMIN)).status_code == 200


def test_the_failure_window_ends_and_expired_tokens_do_not_count() -> None:
    now = [0.0]
    limiter = FailureLimiter(limit=3, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        limiter.check("c")
        limiter.failed("c")
    with pytest.raises(RateLimited) as refused:
        limiter.check("c")
    assert refused.value.retry_after_s == 60
    limiter.check("d")  # another client
    now[0] = 59.5
    with pytest.raises(RateLimited):
        limiter.check("c")
    now[0] = 60.0
    limiter.check("c")


def test_an_expired_prosumer_token_is_not_a_failed_guess(tmp_path: Path, fleet: Fleet) -> None:
    settings = make_settings(tmp_path, token_ttl_s=0.001, bearer_failures_per_client=2)
    with TestClient(create_app(settings, registry_view=fleet.registry)) as api:
        for _ in range(4):  # four expired tokens: never a 429
            headers = login(api, fleet.solar)
            time.sleep(0.01)  # the token lives 1 ms (a login with C signatures can take less)
            reply = api.post("/readings", json=make_reading(1), headers=headers)
            assert reply.status_code == 401 and "expired" in reply.json()["detail"]


WEAK = [
    ("AGGREGATOR_GRID_TOKEN", "grid"),
    ("AGGREGATOR_ADMIN_TOKEN", "admin"),
    ("AGGREGATOR_GRID_TOKEN", "x" * 31),
]


@pytest.mark.parametrize(("variable", "value"), WEAK)
def test_a_weak_credential_is_refused_at_start_with_one_line(
    tmp_path: Path, variable: str, value: str
) -> None:
    env = {**os.environ, "AGGREGATOR_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}", variable: value}
    result = subprocess.run(
        [sys.executable, "-m", "flexsim.cli", "aggregator", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("flexsim: error: "), result.stderr
    assert f"{variable}: must be at least 32 characters" in lines[0] and "token_urlsafe(32)" in lines[0]
