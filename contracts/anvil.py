"""Starting and stopping an embedded anvil chain (London rules, like Energy Web chains)."""

from __future__ import annotations

import logging
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from base.signals import die_with_parent
from contracts import toolchain
from contracts.errors import ChainError

log = logging.getLogger(__name__)

VOLTA_CHAIN_ID = 73799
VOLTA_GAS_LIMIT = 8_000_000
VOLTA_BLOCK_TIME_S = 5
# anvil's well-known development mnemonic; its keys are public and only for local chains.
DEV_MNEMONIC = "test test test test test test test test test test test junk"


@dataclass(frozen=True)
class AnvilConfig:
    """How to start anvil. `block_time_s=None` mines a block per transaction (automine)."""

    chain_id: int = 31337
    block_time_s: float | None = None
    gas_limit: int | None = None
    hardfork: str = "london"
    accounts: int = 10
    balance_eth: int = 10_000
    port: int | None = None  # a free port when None
    host: str = "127.0.0.1"

    @classmethod
    def volta_like(cls, **overrides: object) -> AnvilConfig:
        """A local chain with Volta's chain id, block time and gas limit."""
        base: dict[str, object] = dict(
            chain_id=VOLTA_CHAIN_ID, block_time_s=VOLTA_BLOCK_TIME_S, gas_limit=VOLTA_GAS_LIMIT
        )
        base.update(overrides)
        return cls(**base)  # type: ignore[arg-type]


@dataclass
class Anvil:
    """A running anvil process; use as a context manager or call `stop()`."""

    config: AnvilConfig
    rpc_url: str
    process: subprocess.Popen[bytes] = field(repr=False)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Anvil:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def anvil_command(binary: Path, config: AnvilConfig, port: int) -> list[str]:
    cmd = [
        str(binary),
        "--host", config.host,
        "--port", str(port),
        "--hardfork", config.hardfork,
        "--chain-id", str(config.chain_id),
        "--accounts", str(config.accounts),
        "--balance", str(config.balance_eth),
        "--mnemonic", DEV_MNEMONIC,
    ]  # fmt: skip
    if config.block_time_s is not None:
        cmd += ["--block-time", f"{config.block_time_s:g}"]
    if config.gas_limit is not None:
        cmd += ["--gas-limit", str(config.gas_limit)]
    return cmd


def start_anvil(
    config: AnvilConfig | None = None, binary: Path | None = None, timeout_s: float = 30.0
) -> Anvil:
    """Starts anvil and waits until its RPC answers."""
    config = config or AnvilConfig()
    binary = binary or toolchain.anvil_binary()
    port = config.port or free_port(config.host)
    cmd = anvil_command(binary, config, port)
    log.info("starting anvil: %s", " ".join(cmd))
    # anvil dies with this process, even if it is killed (SIGKILL) before it can stop anvil itself
    process = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=die_with_parent()
    )
    url = f"http://{config.host}:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace").strip() if process.stderr else ""
            first = next((line.strip() for line in err.splitlines() if line.strip()), "no output")
            raise ChainError(f"anvil exited with code {process.returncode} on port {port}: {first}")
        try:
            reply = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}, timeout=1)
            if reply.status_code == 200:
                return Anvil(config=config, rpc_url=url, process=process)
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    process.kill()
    raise ChainError(f"anvil did not answer on {url} within {timeout_s:.0f} s")


def chain_time(w3: Any) -> int:
    """The latest block's timestamp: "now" on the chain clock."""
    return int(w3.eth.get_block("latest")["timestamp"])


def advance_time(w3: Any, seconds: int) -> None:
    """Moves a local chain's clock forward and mines a block (anvil only; real chains just wait)."""
    w3.provider.make_request("evm_increaseTime", [seconds])
    w3.provider.make_request("evm_mine", [])


def dev_keys(count: int = 10) -> list[str]:
    """Private keys of anvil's development accounts (public knowledge; local chains only)."""
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    return [
        "0x" + Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}").key.hex()
        for i in range(count)
    ]
