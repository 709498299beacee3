"""The CLI's bad-input paths: one-line errors that name the fix, non-zero exits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account

from contracts.anvil import start_anvil

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
    assert set(manifest["contracts"]) == {"registry", "token", "market"}
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
