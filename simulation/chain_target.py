"""Which chain a run uses: the scenario's `[chain]` table with the `CHAIN_*` settings over it (pure).

Precedence, highest first: `flexsim run` options (`--rpc-url`, `--manifest`, `--redeploy`, which
the CLI folds into the `ChainSettings` it passes on), then `CHAIN_*` environment variables (and
`.env`), then the scenario file. An RPC URL from the settings turns any scenario into a run on that
chain (`CHAIN_RPC_URL` empty means the scenario decides). The scenario's `block_time_s` and
`gas_limit` only shape an embedded anvil; keys, fees and deployments come from the settings alone.
"""

from __future__ import annotations

from pathlib import Path

from base.errors import ConfigError
from contracts.settings import ChainSettings
from simulation.scenario import Chain, Scenario

LOCAL_CHAIN_ID = 31337
VOLTA_LIKE_CHAIN_ID = 73799


def embedded_chain_id(chain: Chain) -> int:
    """An embedded anvil with a block time plays Volta (73799); one that mines per transaction is 31337."""
    return VOLTA_LIKE_CHAIN_ID if chain.block_time_s else LOCAL_CHAIN_ID


def effective_chain(scenario: Scenario, settings: ChainSettings) -> Scenario:
    """The scenario with its `[chain]` table as this run will use it (what `chain.json` records)."""
    c = scenario.chain
    rpc_url = settings.rpc_url or (c.rpc_url if c.mode == "rpc" else "")
    manifest = str(settings.manifest) if settings.manifest else c.manifest
    if not rpc_url:
        if manifest:
            raise ConfigError(
                f"manifest {manifest} needs an external chain, but this run starts an empty embedded "
                "anvil: set CHAIN_RPC_URL (or --rpc-url) to the chain it was deployed on, or drop it"
            )
        if settings.redeploy:
            raise ConfigError(
                "--redeploy (CHAIN_REDEPLOY) is for external chains: an embedded run always deploys"
            )
        own = embedded_chain_id(c)
        if settings.chain_id is not None and settings.chain_id != own:
            raise ConfigError(
                f"CHAIN_CHAIN_ID={settings.chain_id} but scenario {scenario.name!r} runs an embedded anvil "
                f"with chain id {own}: unset CHAIN_CHAIN_ID, or set CHAIN_RPC_URL to run on that chain"
            )
        return scenario
    if manifest and settings.redeploy:
        raise ConfigError(
            f"both a manifest to reuse ({manifest}) and --redeploy (CHAIN_REDEPLOY) are set: choose one"
        )
    chain_id = settings.chain_id if settings.chain_id is not None else c.chain_id
    changes: dict[str, object] = {"chain.mode": "rpc", "chain.rpc_url": rpc_url, "chain.manifest": manifest}
    if chain_id is not None:
        changes["chain.chain_id"] = chain_id
    return scenario.with_overrides(**changes)


def embedded_settings(settings: ChainSettings) -> ChainSettings:
    """On an embedded anvil, anvil's development keys sign: keys meant for a real chain are not used."""
    return settings.model_copy(
        update={"deployer_key": None, "funder_key": None, "aggregator_key": None, "manifest": None}
    )


def kept_manifest(settings: ChainSettings, chain_id: int) -> Path:
    """Where a run keeps the deployment it made on chain `chain_id`, for later runs to reuse."""
    return settings.deployments_dir / f"chain-{chain_id}" / "manifest.json"
