"""The chain side of a run: connect (chain id checked first), deploy or reuse a deployment, the
prosumer keys, and their funding (R14).

Everything here is one code path for an embedded anvil, a Volta-like anvil and the Volta testnet;
only the keys differ (an embedded anvil signs with its development keys).

Which deployment a strategy uses, on an external chain, first match wins:
1. the one an earlier strategy of this run used (`<run>/deployment/manifest.json`: `both` shares it);
2. the manifest given (`--manifest`, `CHAIN_MANIFEST`, the scenario's `chain.manifest`);
3. the one kept from an earlier run on this chain (`deployment/chain-<id>/manifest.json`), unless
   `--redeploy`;
4. a new deployment, kept there for later runs.
On a public chain a deployment costs gas and leaves contracts behind, so reuse is the default.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from eth_account import Account
from eth_utils import keccak

from contracts.chain import Chain
from contracts.deployment import Deployment
from contracts.sender import Sender
from contracts.settings import ChainSettings
from simulation.bootstrap import aggregator_key, attach, check_aggregator, deploy_new, funder_key
from simulation.chain_target import embedded_settings, kept_manifest
from simulation.funding import FundingPlan, check_funder, fund, plan_funding
from simulation.leftovers import clear_leftovers
from simulation.scenario import Scenario

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


@dataclass
class StrategyRun:
    strategy: str
    out: Path
    deployment: Deployment
    aggregator: Sender
    rpc_url: str
    manifest: Path  # this strategy's copy: its `block` is where the strategy's own events begin
    sim_start: datetime
    real_start: float
    funder: Sender | None = None
    funding: FundingPlan | None = None


def prosumer_key(seed: int, index: int) -> str:
    """Deterministic prosumer keys on a local chain, so both strategies see the same accounts."""
    return "0x" + keccak(text=f"flexsim prosumer {seed} {index}").hex()


def prepare_chain(
    scenario: Scenario,
    strategy: str,
    out: Path,
    rpc_url: str,
    progress: Progress,
    settings: ChainSettings | None = None,
) -> StrategyRun:
    """Gets `scenario.chain` (as `chain_target.effective_chain` resolved it) ready for one strategy."""
    settings = settings or ChainSettings()
    external = scenario.chain.mode != "embedded"
    if not external:
        settings = embedded_settings(settings)
    expected = settings.model_copy(update={"chain_id": scenario.chain.chain_id})
    chain = Chain.from_settings(expected, rpc_url=rpc_url)  # the chain id is checked before anything else
    aggregator = Sender(chain, aggregator_key(chain, settings))
    funder = Sender(chain, funder_key(chain, settings))
    plan = plan_funding(scenario, float(settings.gas_margin), chain.max_fee_per_gas())
    n = scenario.population.count
    check_funder(chain, funder.address, plan.cost([plan.per_prosumer_wei] * n), f"{n} prosumer accounts")
    source = _manifest_to_reuse(scenario, settings, chain.chain_id, out.parent) if external else None
    reused = source is not None
    if source is None:
        d, _ = deploy_new(rpc_url, settings, aggregator.address, progress, chain=chain)
        source = _keep(d, settings, external, progress)
        first_block = d.manifest.block
    else:
        progress(f"reusing the deployment in {source} (market {_market(source)})")
        d = attach(chain, source)
        check_aggregator(d, aggregator.address, source)
        clear_leftovers(d, aggregator, progress)
        first_block = int(chain.rpc(lambda: chain.w3.eth.block_number, "block number"))
    if external:
        _save(d, out.parent / "deployment" / "manifest.json")
    # From here on the deployment starts at this strategy's first block: the aggregator's chain sync,
    # the report and its cross-check read this strategy's events only, not earlier runs'.
    d.manifest = d.manifest.model_copy(update={"block": first_block})
    manifest = _save(d, out / "deployment" / "manifest.json")
    _record(out, scenario, chain, d, source if reused else None, aggregator, funder, plan)
    run = StrategyRun(strategy, out, d, aggregator, rpc_url, manifest, scenario.sim_start, 0.0)
    run.funder, run.funding = funder, plan
    return run


def _manifest_to_reuse(
    scenario: Scenario, settings: ChainSettings, chain_id: int, run_dir: Path
) -> Path | None:
    shared = run_dir / "deployment" / "manifest.json"
    if shared.is_file():
        return shared
    if scenario.chain.manifest:
        return Path(scenario.chain.manifest)
    kept = kept_manifest(settings, chain_id)
    if kept.is_file() and not settings.redeploy:
        return kept
    return None


def _keep(d: Deployment, settings: ChainSettings, external: bool, progress: Progress) -> Path | None:
    """Keeps a new deployment on an external chain where later runs find it."""
    if not external:
        return None
    kept = _save(d, kept_manifest(settings, d.chain.chain_id))
    progress(
        f"deployed; manifest kept at {kept}: later runs on chain {d.chain.chain_id} reuse it "
        "(`flexsim run --redeploy` deploys anew)"
    )
    return kept


def _save(d: Deployment, path: Path) -> Path:
    abis = {
        "Registry": list(d.registry.contract.abi),
        "FlexToken": list(d.token.contract.abi),
        "FlexibilityMarket": list(d.market.contract.abi),
        "SettlementAnchor": list(d.anchor.contract.abi),
    }
    return d.manifest.save(path, abis)  # type: ignore[arg-type]


def _market(path: Path) -> str:
    return str(json.loads(path.read_text())["contracts"]["market"])


def _record(
    out: Path,
    scenario: Scenario,
    chain: Chain,
    d: Deployment,
    source: Path | None,
    aggregator: Sender,
    funder: Sender,
    plan: FundingPlan,
) -> None:
    """`chain.json`: the chain this strategy ran on, and how (no keys)."""
    info = {
        "rpc_url": chain.rpc_url,
        "chain_id": chain.chain_id,
        "mode": scenario.chain.mode,
        "deployment": f"reused {source}" if source else "new",
        "contracts": d.manifest.contracts.model_dump(),
        "aggregator": aggregator.address,
        "funder": funder.address,
        "funding_per_prosumer_wei": plan.per_prosumer_wei,
    }
    (out / "chain.json").write_text(json.dumps(info, indent=2))


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
    assert run.funder is not None and run.funding is not None, "prepare_chain sets the funder"
    fund(run.funder, run.funding, [Account.from_key(k).address for k in keys], progress)
