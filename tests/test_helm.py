"""The Helm chart (deploy/helm/flexsim), checked offline: no cluster runs on these machines.

`helm-python-sdk` (a test dependency) is Helm v4's own Go SDK as a native library inside its wheel,
called through ctypes: it lints the chart and renders it exactly as `helm template` would, with no
helm binary and no network. Every rendered manifest is validated against the Kubernetes API's schema by
`kubernetes-validate --strict` (the schemas ship in its wheel; unknown fields are errors). The
settings the chart gives the flexsim containers are checked against the settings classes, the
image entrypoint's pod-ordinal -> prosumer index rule is run for real, and the console's readiness
probe is asked of the console's own web application.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import helm_python as helm  # test extras: never skipped, a missing install fails here
import kubernetes_validate
import pytest
import yaml
from pydantic_settings import BaseSettings

from aggregator.settings import AggregatorSettings
from base.errors import ConfigError
from base.settings_env import env_name
from console.settings import ConsoleSettings
from contracts.settings import ChainSettings
from grid_operator.settings import GridSettings
from prosumer.settings import ProsumerSettings

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "deploy" / "helm" / "flexsim"
SETTINGS_CLASSES: dict[str, type[BaseSettings]] = {
    "AGGREGATOR_": AggregatorSettings,
    "PROSUMER_": ProsumerSettings,
    "GRID_": GridSettings,
    "CHAIN_": ChainSettings,
    "CONSOLE_": ConsoleSettings,
}
VOLTA = {
    "chain": {
        "mode": "external",
        "rpcUrl": "https://volta-rpc.energyweb.org",
        "chainId": 73799,
        "blockTimeSeconds": 5,
    },
    "keys": {"existingSecret": "volta-keys"},
    "prosumers": {"replicas": 50, "keysSecret": "volta-prosumer-keys", "indexOffset": 100},
    "credentials": {"existingSecret": "volta-credentials"},
}
# The value sets rendered: the defaults, Volta, and the switches that change which objects exist.
VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "volta": VOLTA,
    "external-database": {
        "postgresql": {"enabled": False},
        "database": {"url": "postgresql://flexsim:secret@db.example.org:5432/flexsim"},
    },
    "no-persistence": {
        "postgresql": {"persistence": {"enabled": False}},
        "aggregator": {"persistence": {"enabled": False}},
        "prosumers": {"persistence": {"enabled": False}},
        "run": {"persistence": {"enabled": False}},
    },
    "no-run": {"run": {"enabled": False}, "aggregator": {"settings": {"AGGREGATOR_LOG_FORMAT": "json"}}},
    "no-console": {"console": {"enabled": False}},
    "console-exposed": {
        "console": {
            "existingSecret": "my-console",
            "service": {"type": "LoadBalancer", "port": 443},
            "settings": {"CONSOLE_POLL_S": "1"},
        }
    },
}


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    """Every object the chart makes with `values` (release `sim` in namespace `flexsim`)."""
    with helm.Chart.load(str(CHART)) as chart:
        files = chart.render(values, name="sim", namespace="flexsim", is_install=True)
    objects = [
        doc
        for name, text in sorted(files.items())
        if name.endswith(".yaml")
        for doc in yaml.safe_load_all(text)
        if doc
    ]
    assert objects, "the chart rendered nothing"
    return objects


def by_kind(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def containers(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = obj.get("spec", {}).get("template", {}).get("spec", {})
    yield from spec.get("initContainers", [])
    yield from spec.get("containers", [])


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def test_the_chart_lints_clean() -> None:
    for values in VALUE_SETS.values():
        report = helm.lint(str(CHART), values, strict=True, namespace="flexsim")
        assert report["errors"] == [], report
        # severity 1 is INFO ("icon is recommended"); 2 and above are warnings and errors
        assert [m for m in report["messages"] if m["severity"] >= 2] == [], report["messages"]


@pytest.mark.parametrize("case", sorted(VALUE_SETS))
def test_every_manifest_is_valid_kubernetes(case: str) -> None:
    # the oldest Kubernetes release still in common use by cloud providers, and the newest schema
    for version in ("1.28.0", kubernetes_validate.latest_version()):
        for obj in render(VALUE_SETS[case]):
            kubernetes_validate.validate(obj, version, strict=True)  # raises on any schema violation


def test_the_validator_rejects_an_unknown_field() -> None:
    """The strict validation above can fail: a field Kubernetes does not know is an error."""
    chain = by_kind(render({}), "Deployment", "sim-flexsim-chain")
    chain["spec"]["template"]["spec"]["containers"][0]["replica"] = 2
    with pytest.raises(kubernetes_validate.ValidationError, match="replica"):
        kubernetes_validate.validate(chain, kubernetes_validate.latest_version(), strict=True)


def settings_set(objects: list[dict[str, Any]]) -> set[str]:
    """The AGGREGATOR_/PROSUMER_/GRID_/CHAIN_ variables the chart gives any flexsim container."""
    names: set[str] = set()
    for obj in objects:
        if obj["kind"] == "ConfigMap":
            names |= set(obj["data"])
        for container in containers(obj):
            names |= set(env_of(container))
    return {n for n in names if n.startswith(tuple(SETTINGS_CLASSES))}


def unknown_settings(names: set[str]) -> list[str]:
    """Those of `names` that no settings class reads (a misspelt or renamed setting)."""
    unknown = []
    for name in sorted(names):
        prefix = next(p for p in SETTINGS_CLASSES if name.startswith(p))
        try:
            env_name(SETTINGS_CLASSES[prefix], name.removeprefix(prefix).lower())
        except ConfigError:
            unknown.append(name)
    return unknown


@pytest.mark.parametrize("case", sorted(VALUE_SETS))
def test_settings_are_named_by_the_settings_classes(case: str) -> None:
    """Every AGGREGATOR_/PROSUMER_/GRID_/CHAIN_/CONSOLE_ variable the chart sets is a field of its class."""
    names = settings_set(render(VALUE_SETS[case]))
    assert len(names) >= 15, f"only {sorted(names)}: the chart lost its settings?"
    assert unknown_settings(names) == []
    if VALUE_SETS[case].get("console", {}).get("enabled", True):
        assert {"CONSOLE_HOST", "CONSOLE_PORT", "CONSOLE_TOKEN", "CHAIN_FUNDER_KEY"} <= names


def test_a_misspelt_setting_is_caught() -> None:
    objects = render({"prosumers": {"settings": {"PROSUMER_READING_INTERVAL": "2"}}})
    assert unknown_settings(settings_set(objects)) == ["PROSUMER_READING_INTERVAL"]
    objects = render({"console": {"settings": {"CONSOLE_POLL_SECONDS": "1"}}})
    assert unknown_settings(settings_set(objects)) == ["CONSOLE_POLL_SECONDS"]


def test_the_default_run_is_all_in_the_cluster() -> None:
    objects = render({})
    kinds = {(o["kind"], o["metadata"]["name"]) for o in objects}
    for expected in [
        ("Deployment", "sim-flexsim-chain"),
        ("StatefulSet", "sim-flexsim-postgresql"),
        ("Deployment", "sim-flexsim-aggregator"),
        ("StatefulSet", "sim-flexsim-prosumer"),
        ("Job", "sim-flexsim-run"),
    ]:
        assert expected in kinds, f"no {expected}"
    settings = by_kind(objects, "ConfigMap", "sim-flexsim-settings")["data"]
    assert settings["FLEXSIM_RPC_URL"] == "http://sim-flexsim-chain:8545"
    assert settings["CHAIN_CHAIN_ID"] == "31337"

    prosumers = by_kind(objects, "StatefulSet", "sim-flexsim-prosumer")
    assert prosumers["spec"]["replicas"] == 3
    assert prosumers["spec"]["podManagementPolicy"] == "Parallel"
    main = prosumers["spec"]["template"]["spec"]["containers"][0]
    env = env_of(main)
    assert env["FLEXSIM_INDEX_FROM_HOSTNAME"] == "true"  # the pod's ordinal is its population index
    assert env["PROSUMER_STATE_DIR"] == "/data/prosumers"  # ... and names its key file there
    assert env["PROSUMER_FUNDER_KEY"] == {"secretKeyRef": {"name": "sim-flexsim-keys", "key": "funder-key"}}
    assert [v["metadata"]["name"] for v in prosumers["spec"]["volumeClaimTemplates"]] == ["data"]

    aggregator = by_kind(objects, "Deployment", "sim-flexsim-aggregator")
    agg_env = env_of(aggregator["spec"]["template"]["spec"]["containers"][0])
    assert agg_env["AGGREGATOR_DATABASE_URL"].startswith("postgresql://flexsim:$(FLEXSIM_POSTGRES_PASSWORD)@")
    assert list(agg_env).index("FLEXSIM_POSTGRES_PASSWORD") < list(agg_env).index("AGGREGATOR_DATABASE_URL")

    job = by_kind(objects, "Job", "sim-flexsim-run")
    assert job["spec"]["backoffLimit"] == 0  # a retry would send the grid operator's requests again
    names = [c["name"] for c in containers(job)]
    assert names == ["fetch-shared", "grid-operator", "report"]

    secrets = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Secret"}
    tokens = secrets["sim-flexsim-credentials"]["stringData"]
    assert all(len(tokens[k]) >= 32 for k in ("grid-token", "admin-token", "enrolment-token"))


def test_volta_uses_the_external_chain_and_given_keys() -> None:
    objects = render(VOLTA)
    kinds = {o["kind"] + "/" + o["metadata"]["name"] for o in objects}
    assert "Deployment/sim-flexsim-chain" not in kinds
    assert "Secret/sim-flexsim-keys" not in kinds and "Secret/sim-flexsim-credentials" not in kinds
    settings = by_kind(objects, "ConfigMap", "sim-flexsim-settings")["data"]
    assert settings["FLEXSIM_RPC_URL"] == "https://volta-rpc.energyweb.org"
    assert settings["CHAIN_CHAIN_ID"] == "73799"
    prosumers = by_kind(objects, "StatefulSet", "sim-flexsim-prosumer")
    env = env_of(prosumers["spec"]["template"]["spec"]["containers"][0])
    assert env["FLEXSIM_KEYS_DIR"] == "/keys" and env["FLEXSIM_INDEX_OFFSET"] == "100"
    assert env["PROSUMER_FUNDER_KEY"]["secretKeyRef"]["name"] == "volta-keys"


# ------------------------------------------------------------------------------------- the console


def console_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    pod = by_kind(objects, "Deployment", "sim-flexsim-console")["spec"]["template"]["spec"]
    (main,) = pod["containers"]
    return main


def test_the_console_is_rendered_with_its_service() -> None:
    objects = render({})
    console = by_kind(objects, "Deployment", "sim-flexsim-console")
    assert console["spec"]["replicas"] == 1 and console["spec"]["strategy"]["type"] == "Recreate"
    pod = console["spec"]["template"]["spec"]
    # the manifest and run.env (the run's clock, the enrolment credential) from the aggregator pod's
    # `files` server, as the prosumer pods get them
    (fetch,) = pod["initContainers"]
    assert fetch["name"] == "fetch-shared"
    assert "http://sim-flexsim-aggregator:8080/deployment/manifest.json" in fetch["command"]
    assert "http://sim-flexsim-aggregator:8080/run.env" in fetch["command"]
    main = console_container(objects)
    assert main["args"][:2] == ["console", "--attach"]
    assert "--aggregator-url=http://sim-flexsim-aggregator:8000" in main["args"]
    assert "--rpc-url=http://sim-flexsim-chain:8545" in main["args"]
    assert "--manifest=/shared/deployment/manifest.json" in main["args"]
    env = env_of(main)
    assert env["CONSOLE_HOST"] == "0.0.0.0"  # inside the pod; the Service keeps it in the cluster
    (port,) = main["ports"]
    assert env["CONSOLE_PORT"] == str(port["containerPort"]) == "8090"
    assert main["readinessProbe"]["httpGet"]["port"] == port["name"]

    service = by_kind(objects, "Service", "sim-flexsim-console")
    assert service["spec"]["type"] == "ClusterIP"  # never published by default: it controls the fleet
    (svc_port,) = service["spec"]["ports"]
    assert svc_port["port"] == 8090 and svc_port["targetPort"] == port["name"]
    labels = console["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert labels["app.kubernetes.io/component"] == "console"


def test_the_console_credentials_come_from_secrets_never_a_configmap() -> None:
    objects = render({})
    env = env_of(console_container(objects))
    assert env["CONSOLE_TOKEN"] == {"secretKeyRef": {"name": "sim-flexsim-console", "key": "console-token"}}
    for name, key in (("AGGREGATOR_GRID_TOKEN", "grid-token"), ("AGGREGATOR_ADMIN_TOKEN", "admin-token")):
        assert env[name] == {"secretKeyRef": {"name": "sim-flexsim-credentials", "key": key}}
    funder = {"secretKeyRef": {"name": "sim-flexsim-keys", "key": "console-funder-key"}}
    assert env["CHAIN_FUNDER_KEY"] == funder
    secrets = {o["metadata"]["name"]: o["stringData"] for o in objects if o["kind"] == "Secret"}
    assert len(secrets["sim-flexsim-console"]["console-token"]) >= 32  # generated
    keys = secrets["sim-flexsim-keys"]
    others = (keys["funder-key"], keys["deployer-key"], keys["aggregator-key"])
    assert keys["console-funder-key"] not in others
    for config in (o for o in objects if o["kind"] == "ConfigMap"):
        assert not [n for n in config["data"] if n.endswith(("_TOKEN", "_KEY"))], config["metadata"]["name"]
    # given values and an existing Secret
    given = render({"console": {"token": "c" * 40}, "keys": {"consoleFunder": "0x" + "22" * 32}})
    secrets = {o["metadata"]["name"]: o["stringData"] for o in given if o["kind"] == "Secret"}
    assert secrets["sim-flexsim-console"]["console-token"] == "c" * 40
    assert secrets["sim-flexsim-keys"]["console-funder-key"] == "0x" + "22" * 32
    exposed = render(VALUE_SETS["console-exposed"])
    assert "sim-flexsim-console" not in {o["metadata"]["name"] for o in exposed if o["kind"] == "Secret"}
    env = env_of(console_container(exposed))
    assert env["CONSOLE_TOKEN"]["secretKeyRef"]["name"] == "my-console" and env["CONSOLE_POLL_S"] == "1"
    assert by_kind(exposed, "Service", "sim-flexsim-console")["spec"]["type"] == "LoadBalancer"
    # on Volta the keys Secret is the user's: the console's funder is read from it too
    env = env_of(console_container(render(VOLTA)))
    assert env["CHAIN_FUNDER_KEY"]["secretKeyRef"] == {"name": "volta-keys", "key": "console-funder-key"}


def notes(values: dict[str, Any]) -> str:
    """The NOTES.txt `helm install` prints with `values`."""
    with helm.Chart.load(str(CHART)) as chart:
        files = chart.render(values, name="sim", namespace="flexsim", is_install=True)
    return next(text for name, text in files.items() if name.endswith("NOTES.txt"))


def test_the_console_is_omitted_when_disabled() -> None:
    objects = render({"console": {"enabled": False}})
    assert not [o for o in objects if "console" in o["metadata"]["name"]]
    keys = by_kind(objects, "Secret", "sim-flexsim-keys")["stringData"]
    assert set(keys) == {"deployer-key", "aggregator-key", "funder-key"}
    assert "console" not in notes({"console": {"enabled": False}})
    text = notes({})
    assert "port-forward svc/sim-flexsim-console 8090:8090" in text
    assert "get secret sim-flexsim-console -o jsonpath='{.data.console-token}'" in text


def test_the_console_pod_gives_attach_all_it_needs(tmp_path: Path) -> None:
    """The console container's command line and environment (its Secrets and ConfigMap resolved from
    the rendered objects), run by the real CLI with nothing else in its environment: every check of
    `flexsim console --attach` passes up to the manifest, which only the pod's init container fetches."""
    objects = render({})
    secrets = {o["metadata"]["name"]: o["stringData"] for o in objects if o["kind"] == "Secret"}
    main = console_container(objects)
    env = dict(by_kind(objects, "ConfigMap", "sim-flexsim-settings")["data"])
    for name, value in env_of(main).items():
        if isinstance(value, dict):
            ref = value["secretKeyRef"]
            value = secrets[ref["name"]][ref["key"]]
        env[name] = value

    def attach(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "flexsim.cli", *main["args"]],
            capture_output=True,
            text=True,
            env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), **env},
            cwd=tmp_path,
            timeout=120,
        )

    done = attach(env)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "flexsim: error: no deployment manifest at /shared/deployment/manifest.json: "
        "run `flexsim deploy` first"
    )
    without = attach({k: v for k, v in env.items() if k != "AGGREGATOR_ADMIN_TOKEN"})
    assert "the console needs the aggregator's credentials" in without.stderr


def test_the_console_readiness_probe_answers_without_the_token(tmp_path: Path) -> None:
    """The probe's path is one the console's own application serves without its token (a probe has
    none), while its page stays closed."""
    from fastapi.testclient import TestClient

    from console.app import create_app
    from console.controls import ActionLog
    from console.hub import Hub
    from tests.console.test_app import Fleet, NoFeed

    probe = console_container(render({}))["readinessProbe"]["httpGet"]
    hub = Hub(NoFeed(), lambda: {}, 0.1)  # type: ignore[arg-type]
    app = create_app("t" * 43, hub, Fleet(), None, ActionLog(tmp_path / "a.json"))  # type: ignore[arg-type]
    with TestClient(app) as client:
        assert client.get(probe["path"]).status_code == 200
        assert client.get("/").status_code == 401


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"chain": {"mode": "external"}}, "chain.rpcUrl is required"),
        # values.schema.json: a value outside its choices, a misspelt key
        ({"chain": {"mode": "ganache"}}, "/chain/mode': value must be one of 'anvil', 'external'"),
        ({"prosumer": {"replicas": 3}}, "additional properties 'prosumer' not allowed"),
        ({"credentials": {"gridToken": "short"}}, "/credentials/gridToken"),
        ({"postgresql": {"enabled": False}}, "set database.url"),
        ({"console": {"token": "short"}}, "/console/token"),
        ({"console": {"service": {"type": "Ingress"}}}, "/console/service/type"),
        ({"keys": {"consoleFunder": ""}}, "keys.consoleFunder"),
        # a credential is never a plain setting: it would land in the pod spec or the ConfigMap
        ({"console": {"settings": {"CONSOLE_TOKEN": "x" * 40}}}, "CONSOLE_TOKEN is a credential"),
        ({"settings": {"AGGREGATOR_ADMIN_TOKEN": "x" * 40}}, "AGGREGATOR_ADMIN_TOKEN is a credential"),
    ],
)
def test_incomplete_values_say_what_to_set(values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmError, match=message):
        render(values)


# ------------------------------------------------------------------ the image's entrypoint, for real


def run_entrypoint(tmp_path: Path, hostname: str, **env: str) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    wait = bin_dir / "flexsim-wait"
    if not wait.exists():
        wait.symlink_to(ROOT / "docker" / "wait.py")
        # The image runs roles as its user flexsim; started as root the entrypoint would switch to it,
        # which this machine has not: `id -u` says "not root" (the one stand-in of these tests).
        (bin_dir / "id").write_text("#!/bin/sh\necho 10001\n")
        (bin_dir / "id").chmod(0o755)
    # `python` (wait.py's interpreter) is this test's
    path = f"{bin_dir}:{Path(sys.executable).parent}:{os.environ['PATH']}"
    base = {"PATH": path, "HOME": str(tmp_path)}
    return subprocess.run(
        ["bash", str(ROOT / "docker" / "entrypoint.sh"), "printenv", "PROSUMER_INDEX", "PROSUMER_KEY_FILE"],
        capture_output=True,
        text=True,
        env={**base, "HOSTNAME": hostname, "FLEXSIM_RUN_ENV": str(tmp_path / "none.env"), **env},
        timeout=30,
    )


def test_the_pod_ordinal_is_the_population_index(tmp_path: Path) -> None:
    done = run_entrypoint(tmp_path, "sim-flexsim-prosumer-17", FLEXSIM_INDEX_FROM_HOSTNAME="true")
    assert done.stdout.split() == ["17"], done.stderr  # printenv: PROSUMER_KEY_FILE unset
    # Swarm: hostname prosumer-{{.Task.Slot}}, slots count from 1
    done = run_entrypoint(
        tmp_path, "prosumer-1", FLEXSIM_INDEX_FROM_HOSTNAME="true", FLEXSIM_INDEX_OFFSET="-1"
    )
    assert done.stdout.split() == ["0"], done.stderr
    # an index given explicitly wins
    done = run_entrypoint(tmp_path, "prosumer-1", FLEXSIM_INDEX_FROM_HOSTNAME="true", PROSUMER_INDEX="5")
    assert done.stdout.split() == ["5"], done.stderr


def test_the_pod_ordinal_picks_a_given_key(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "prosumer-102.key").write_text("0x" + "11" * 32)
    done = run_entrypoint(
        tmp_path, "sim-flexsim-prosumer-2", FLEXSIM_INDEX_FROM_HOSTNAME="true",
        FLEXSIM_INDEX_OFFSET="100", FLEXSIM_KEYS_DIR=str(keys),
    )  # fmt: skip
    assert done.stdout.split() == ["102", str(keys / "prosumer-102.key")], done.stderr
    done = run_entrypoint(
        tmp_path, "sim-flexsim-prosumer-3", FLEXSIM_INDEX_FROM_HOSTNAME="true",
        FLEXSIM_INDEX_OFFSET="100", FLEXSIM_KEYS_DIR=str(keys),
    )  # fmt: skip
    assert done.returncode == 1 and "no key" in done.stderr


def test_a_host_name_without_an_ordinal_is_refused(tmp_path: Path) -> None:
    done = run_entrypoint(tmp_path, "aggregator", FLEXSIM_INDEX_FROM_HOSTNAME="true")
    assert done.returncode == 1 and "does not end in -<number>" in done.stderr


def test_the_entrypoint_waits_for_what_the_role_needs(tmp_path: Path) -> None:
    """FLEXSIM_WAIT_FOR (Swarm has no depends_on): a missing file holds the role back, then gives up."""
    ready = tmp_path / "run.env"
    ready.write_text("")
    done = run_entrypoint(tmp_path, "x", FLEXSIM_WAIT_FOR=f"file:{ready}", PROSUMER_INDEX="1")
    assert done.stdout.split() == ["1"] and "ready" in done.stderr  # the role ran after the wait
    done = run_entrypoint(
        tmp_path, "x", FLEXSIM_WAIT_FOR=f"file:{tmp_path / 'missing'}", FLEXSIM_WAIT_TIMEOUT_S="1"
    )
    assert done.returncode == 1 and "gave up after 1 s" in done.stderr


def test_a_pod_copies_the_shared_files_from_the_aggregator_pod(tmp_path: Path) -> None:
    """The prosumer and run pods' `fetch-shared` init container: flexsim-wait --fetch against the
    aggregator pod's `files` server (python -m http.server over its /shared), for real."""
    served = tmp_path / "served"
    (served / "deployment").mkdir(parents=True)
    (served / "run.env").write_text("PROSUMER_SEED=4\n")
    (served / "deployment" / "manifest.json").write_text('{"contracts": {}}')
    handler = partial(SimpleHTTPRequestHandler, directory=str(served))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}"
        out = tmp_path / "shared"
        done = subprocess.run(
            [sys.executable, str(ROOT / "docker" / "wait.py"), "--timeout", "10", f"{url}/run.env",
             "--fetch", f"{url}/run.env", str(out / "run.env"),
             "--fetch", f"{url}/deployment/manifest.json", str(out / "deployment" / "manifest.json")],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert (out / "run.env").read_text() == "PROSUMER_SEED=4\n"
        assert (out / "deployment" / "manifest.json").read_text() == '{"contracts": {}}'
        missing = subprocess.run(
            [sys.executable, str(ROOT / "docker" / "wait.py"), "--timeout", "1", "--every", "0.2",
             "--fetch", f"{url}/credentials.env", str(out / "credentials.env")],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        server.shutdown()
    assert missing.returncode == 1 and "404" in missing.stderr
    assert not (out / "credentials.env").exists()
