"""The chain side of a run: deploy (or reuse a manifest), the prosumer keys, and their funding (R14).

Everything here is the same code path for an embedded anvil, any RPC URL and the Volta testnet.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from eth_account import Account
from eth_utils import keccak

from contracts.deploy import write_manifest
from contracts.deployment import Deployment
from contracts.sender import Sender
from contracts.settings import ChainSettings
from flexsim.errors import ConfigError
from simulation.bootstrap import deploy_new
from simulation.scenario import Scenario

Progress = Callable[[str], None]
LOCAL_FUNDING_WEI = 10**18


@dataclass
class StrategyRun:
    strategy: str
    out: Path
    deployment: Deployment
    aggregator: Sender
    rpc_url: str
    manifest: Path
    sim_start: datetime
    real_start: float


def prosumer_key(seed: int, index: int) -> str:
    """Deterministic prosumer keys on a local chain, so both strategies see the same accounts."""
    return "0x" + keccak(text=f"flexsim prosumer {seed} {index}").hex()


def prepare_chain(
    scenario: Scenario, strategy: str, out: Path, rpc_url: str, progress: Progress
) -> StrategyRun:
    settings = ChainSettings(chain_id=scenario.chain.chain_id)  # type: ignore[call-arg]
    manifest = out / "deployment" / "manifest.json"
    if scenario.chain.manifest:
        raise ConfigError("reusing a manifest needs the aggregator key of that deployment: not supported yet")
    d, aggregator = deploy_new(rpc_url, settings, progress=progress)
    assert d.artifacts is not None
    write_manifest(d, d.artifacts, manifest)
    sim_start = scenario.sim_start
    return StrategyRun(strategy, out, d, aggregator, rpc_url, manifest, sim_start, 0.0)


def prosumer_keys(scenario: Scenario, out: Path) -> list[str]:
    """Deterministic keys on an embedded chain (both strategies see the same accounts); fresh random
    keys on any other chain, where a key derivable from the seed could be used by anyone. Those are
    kept in the run folder (mode 0600) so left-over funds can be recovered."""
    count = scenario.population.count
    if scenario.chain.mode == "embedded":
        return [prosumer_key(scenario.seed, i) for i in range(count)]
    keys = ["0x" + Account.create().key.hex().removeprefix("0x") for _ in range(count)]
    path = out / "prosumer-keys.json"
    path.write_text(json.dumps(keys))
    path.chmod(0o600)
    return keys


def fund_prosumers(run: StrategyRun, keys: list[str], progress: Progress) -> None:
    progress(f"funding {len(keys)} prosumer accounts with native tokens for gas (R14)")
    hashes = [run.aggregator.submit_value(Account.from_key(k).address, LOCAL_FUNDING_WEI) for k in keys]
    for h in hashes:
        run.aggregator.wait(h)
