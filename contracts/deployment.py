"""A live deployment: a `Chain` plus typed bindings for the four contracts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.anchor_binding import AnchorBinding
from contracts.bindings import MarketBinding, RegistryBinding, TokenBinding
from contracts.chain import Chain
from contracts.compiler import Artifacts
from contracts.consent import Consent, ConsentSigner
from contracts.errors import RevertDecoder, WrongChain
from contracts.manifest import Manifest
from contracts.settings import ChainSettings
from contracts.types import Terms

CONTRACTS = ("Registry", "FlexToken", "FlexibilityMarket", "SettlementAnchor")


@dataclass
class Deployment:
    chain: Chain
    manifest: Manifest
    registry: RegistryBinding
    token: TokenBinding
    market: MarketBinding
    anchor: AnchorBinding
    artifacts: Artifacts | None = None  # set when this process compiled and deployed the contracts

    @classmethod
    def attach(cls, chain: Chain, manifest: Manifest, abis: dict[str, list[dict[str, Any]]]) -> Deployment:
        if manifest.chain_id != chain.chain_id:
            raise WrongChain(
                f"the manifest is for chain {manifest.chain_id} but {chain.rpc_url} serves chain "
                f"{chain.chain_id}: deploy there with `flexsim deploy` or use the right manifest"
            )
        c = manifest.contracts
        return cls(
            chain=chain,
            manifest=manifest,
            registry=RegistryBinding(chain, c.registry, abis["Registry"]),
            token=TokenBinding(chain, c.token, abis["FlexToken"]),
            market=MarketBinding(chain, c.market, abis["FlexibilityMarket"]),
            anchor=AnchorBinding(chain, c.anchor, abis["SettlementAnchor"]),
        )

    @classmethod
    def load(
        cls, manifest_path: Path, settings: ChainSettings | None = None, rpc_url: str | None = None
    ) -> Deployment:
        """Connects to the chain named by settings (or `rpc_url`) and binds the manifest's contracts."""
        settings = settings or ChainSettings()
        manifest = Manifest.load(manifest_path)
        abis = {name: manifest.abi(name) for name in CONTRACTS}
        chain = Chain.from_settings(settings, decoder_for(abis.values()), rpc_url=rpc_url)
        return cls.attach(chain, manifest, abis)

    def consent_signer(self, key: str | bytes) -> ConsentSigner:
        """Signs the aggregator's consent to terms on this deployment's registry (`key`: the aggregator's)."""
        return ConsentSigner(key, self.registry.address, self.chain.chain_id)

    def consent(
        self, key: str | bytes, prosumer: str, terms: Terms, expiry: int, valid_s: int = 3_600
    ) -> Consent:
        """The aggregator's consent, signed with `key`, for `prosumer`'s next registration or
        renegotiation to `terms` until `expiry`, usable for `valid_s` seconds of chain time."""
        nonce = self.registry.consent_nonce(prosumer)
        deadline = int(
            self.chain.rpc(lambda: self.chain.w3.eth.get_block("latest"), "latest block")["timestamp"]
        )
        return self.consent_signer(key).sign(prosumer, terms, expiry, nonce, deadline + valid_s)


def decoder_for(abis: Iterable[list[dict[str, Any]]]) -> RevertDecoder:
    return RevertDecoder(abis)
