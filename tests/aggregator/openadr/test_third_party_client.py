"""A third-party OpenADR 3 client drives the market end to end: the ElaadNL `openadr3-client` (pinned in
scripts/openadr3-client-venv.sh, in a side Python >= 3.12 virtual environment) is the grid operator's
business-logic client. It finds the token URL through /auth/server, gets a client-credentials token
(HTTP Basic), creates a program and an event with two IMPORT_CAPACITY_LIMIT intervals; the aggregator
service opens them on chain one after the other, a fleet of prosumer processes answers and delivers,
both settle, and the client reads the event's report.

Skips (saying why) only where no Python >= 3.12 exists to build the side environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from aggregator.openadr import PREFIX
from simulation.scenario import load_scenario
from tests.aggregator.factories import bearer
from tests.aggregator.openadr.market import Market, live_market

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.chain]

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = Path(__file__).with_name("oa3_client_script.py")
VENV = ROOT / ".venv-openadr3-client"
NO_PYTHON = 3  # the venv script's exit code when no Python >= 3.12 is found


@pytest.fixture(scope="module")
def client_python() -> str:
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "openadr3-client-venv.sh"), str(VENV)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode == NO_PYTHON:
        pytest.skip(f"the openadr3-client needs Python >= 3.12: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def run_client(python: str, *args: str) -> Any:
    env = {**os.environ, "OAUTHLIB_INSECURE_TRANSPORT": "1"}  # plain http on loopback
    env.pop("PYTHONPATH", None)
    done = subprocess.run([python, str(SCRIPT), *args], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def wait_for(what: str, check: Any, market: Market, timeout_s: float) -> Any:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        assert market.aggregator.running, f"the aggregator stopped:\n{market.aggregator.tail()}"
        if found := check():
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}:\n{market.aggregator.tail(20)}")


def test_the_elaad_client_creates_an_event_that_settles_on_chain(client_python: str, tmp_path: Path) -> None:
    scenario = load_scenario("quick").with_overrides(
        **{
            "speed": 300.0,
            # seed 16's first three prosumers are batteries (domain.population.sample_entry): they deliver
            # what they commit (the prosumer processes draw their kind from the seed alone)
            "seed": 16,
            "population.count": 3,
            "ramp.initial": 3,
            "requests.max_count": 1,  # (unused: no grid operator process runs here)
            "incidents.outage_rate_per_hour": 0.0,
            "incidents.renegotiation_rate_per_hour": 0.0,
            "incidents.renegotiation_after_outage_rate_per_hour": 0.0,
        }
    )
    with live_market(scenario, tmp_path, openadr_min_lead_s=900) as market:
        d = market.run.deployment
        wait_for(
            "the prosumers' registrations",
            lambda: all(d.registry.is_active(a) for a in market.fleet.addresses),
            market,
            120,
        )
        time.sleep(3)  # a few readings before the first window (its baseline)
        vtn = market.url + PREFIX
        created = run_client(client_python, "create", vtn, "grid-operator", market.grid_token, "1.0", "0.6")
        assert created["intervals"] == 2

        grid = bearer(market.grid_token)

        def settled() -> list[dict[str, Any]] | None:
            reqs = httpx.get(f"{market.url}/requests", headers=grid).json()["requests"][::-1]
            final = [r for r in reqs if r["status"] in ("settled", "cancelled", "closed", "failed")]
            return reqs if len(reqs) == 2 and len(final) == 2 else None

        first, second = wait_for("both requests to settle", settled, market, 240)
        assert (first["status"], second["status"]) == ("settled", "settled"), (
            first["error"],
            second["error"],
        )
        assert (first["direction"], first["power_w"], second["power_w"]) == ("up", 1_000, 600)
        assert (
            second["start"] > first["end"]
        )  # opened one after the other, as the intervals follow each other
        for r in (first, second):
            result = d.market.result(r["chain_request_id"])
            assert result.participants >= 1 and result.participants == r["participants"]
            assert result.delivered_wh > 0

        reports = wait_for(
            "the event's report",
            lambda: run_client(
                client_python, "reports", vtn, "grid-operator", market.grid_token, created["event"]
            ),
            market,
            60,
        )
    [report] = reports
    assert report["eventID"] == created["event"] and report["clientID"] == "flexsim-aggregator"
    aggregated = report["resources"][0]
    assert aggregated["resourceName"] == "AGGREGATED_REPORT"
    for interval, req in zip(aggregated["intervals"], (first, second), strict=True):
        values = {p["type"]: p["values"] for p in interval["payloads"]}
        assert values["REQUEST_STATUS"] == ["settled"] and values["FLEXIBILITY_REQUEST"] == [req["id"]]
        assert values["PARTICIPANTS"] == [req["participants"]] and values["DELIVERED_POWER"][0] > 0
    print(
        json.dumps(
            {
                "third_party_client": "openadr3-client 2.4.2",
                "client_python": created["python"],
                "event": created["event"],
                "requests": [first["id"], second["id"]],
            }
        )
    )
