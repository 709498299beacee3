"""The CLI's bad-input paths: one-line errors that name the fix, non-zero exits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from eth_account import Account

from contracts.anvil import free_port, start_anvil

pytestmark = pytest.mark.chain


def flexsim(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "flexsim.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=180,
    )


@pytest.fixture(scope="module")
def rpc_url():
    with start_anvil() as anvil:
        yield anvil.rpc_url


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("flexsim: error: ")]
    assert errors == lines[-1:], result.stderr  # exactly one error line, the last; no traceback
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in errors[0]
    return errors[0]


def test_deploy_writes_manifest_with_abis(rpc_url: str, tmp_path: Path) -> None:
    out = tmp_path / "m" / "manifest.json"
    result = flexsim("deploy", "--rpc-url", rpc_url, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    manifest = json.loads(out.read_text())
    assert manifest["chain_id"] == 31337
    assert manifest["compiler"]["evm_version"] == "london"
    assert set(manifest["contracts"]) == {"registry", "token", "market", "anchor"}
    for path in manifest["abis"].values():
        assert json.loads((out.parent / path).read_text())


def test_unreachable_rpc_names_the_fix(tmp_path: Path) -> None:
    result = flexsim("deploy", "--rpc-url", "http://127.0.0.1:9", "--out", str(tmp_path / "m.json"),
                     env={"CHAIN_RPC_RETRIES": "0"})  # fmt: skip
    assert_one_line_error(result, "cannot reach the chain at http://127.0.0.1:9", "flexsim chain")


def test_wrong_chain_id_names_the_fix(rpc_url: str, tmp_path: Path) -> None:
    result = flexsim(
        "deploy", "--rpc-url", rpc_url, "--out", str(tmp_path / "m.json"), env={"CHAIN_CHAIN_ID": "73799"}
    )
    assert_one_line_error(result, "serves chain id 31337, expected 73799", "CHAIN_RPC_URL")


def test_unfunded_deployer_names_the_fix(rpc_url: str, tmp_path: Path) -> None:
    key = Account.create().key.hex()
    result = flexsim(
        "deploy", "--rpc-url", rpc_url, "--out", str(tmp_path / "m.json"), env={"CHAIN_DEPLOYER_KEY": key}
    )
    assert_one_line_error(result, "has no native tokens", "CHAIN_DEPLOYER_KEY")


def test_missing_node_names_the_fix(tmp_path: Path) -> None:
    # an empty cache forces a compile; an empty PATH hides node (and any native solc)
    result = flexsim("compile", env={"PATH": "", "CHAIN_CACHE_DIR": str(tmp_path)})
    assert_one_line_error(result, "Node.js is not on PATH", "apt-get install nodejs")


HIDE_CHECKOUT_NODE_MODULES = (
    "import sys, pathlib, contracts.toolchain as t; t.PROJECT_ROOT = pathlib.Path('/nonexistent'); "
    "from flexsim.cli import main; sys.exit(main(['compile']))"
)


def test_missing_npm_packages_name_the_fix(tmp_path: Path) -> None:
    # run from a folder without node_modules, with the checkout's node_modules hidden by a bogus root
    env = {**os.environ, "CHAIN_CACHE_DIR": str(tmp_path), "CHAIN_NODE_MODULES": str(tmp_path / "nowhere")}
    result = subprocess.run(
        [sys.executable, "-c", HIDE_CHECKOUT_NODE_MODULES],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert_one_line_error(result, "npm package `solc` is not installed", "npm ci")


def test_version_and_help() -> None:
    assert flexsim("--version").stdout.startswith("flexsim ")
    help_text = flexsim("--help").stdout
    for command in ("compile", "chain", "deploy", "run", "bench"):
        assert command in help_text


def test_invalid_aggregator_setting_is_one_line() -> None:
    result = flexsim("aggregator", env={"AGGREGATOR_PORT": "notaport"})
    assert_one_line_error(result, "AGGREGATOR_PORT", "valid integer")


# ---------------------------------------------------------------------------------- issue 10, item 15


def test_a_url_that_is_not_one_names_the_fix_without_a_traceback(tmp_path: Path) -> None:
    result = flexsim("deploy", "--rpc-url", "notaurl", "--out", str(tmp_path / "m.json"))
    assert_one_line_error(result, "'notaurl' is not an RPC URL", "http://127.0.0.1:8545")


def test_an_unreachable_rpc_is_one_line_without_retry_warnings(tmp_path: Path) -> None:
    result = flexsim("deploy", "--rpc-url", "http://127.0.0.1:9", "--out", str(tmp_path / "m.json"),
                     env={"CHAIN_RPC_RETRIES": "2"})  # fmt: skip
    assert_one_line_error(result, "cannot reach the chain", "after 3 attempts")
    assert result.stderr.count("\n") == 1  # the retries are not printed (they are INFO: -v shows them)


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["deploy"], {}, "the following arguments are required: --rpc-url"),
        (["bogus"], {}, "invalid choice: 'bogus'"),
        (["deploy", "--rpc-url", "http://127.0.0.1:9"], {"CHAIN_RPC_RETRIES": "abc"}, "CHAIN_RPC_RETRIES"),
    ],
)
def test_usage_and_settings_errors_are_one_line_and_exit_1(
    args: list[str], env: dict[str, str], needle: str
) -> None:
    assert_one_line_error(flexsim(*args, env=env), needle)


def _chain_and_its_anvil(port: int) -> tuple[subprocess.Popen[str], psutil.Process]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "flexsim.cli", "chain", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    banner = proc.stdout.readline()  # printed once anvil answers
    assert f"127.0.0.1:{port}" in banner, proc.stderr.read() if proc.stderr else ""
    (anvil,) = [c for c in psutil.Process(proc.pid).children() if "anvil" in c.name()]
    return proc, anvil


def _gone(p: psutil.Process, timeout_s: float = 30.0) -> bool:
    """Whether `p` ended within `timeout_s` (a zombie left to a parent that does not reap counts)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if not p.is_running() or p.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_no_anvil_outlives_flexsim_chain(sig: signal.Signals) -> None:
    proc, anvil = _chain_and_its_anvil(free_port())
    try:
        proc.send_signal(sig)
        assert proc.wait(30) == (0 if sig == signal.SIGTERM else -signal.SIGKILL)
        assert _gone(anvil), f"anvil {anvil.pid} outlived flexsim chain after {sig.name}"
    finally:
        if anvil.is_running():
            anvil.kill()
        if proc.poll() is None:
            proc.kill()
