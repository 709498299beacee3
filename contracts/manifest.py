"""The deployment manifest: where the contracts live and how they were built.

Written by `flexsim deploy` as JSON, with the ABIs in an `abis/` folder beside it, so any client
(web3.py, ethers, a block explorer) can talk to the deployment without flexsim's compiler.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from base.errors import ConfigError


class ContractAddresses(BaseModel):
    registry: str
    token: str
    market: str
    anchor: str = Field(description="SettlementAnchor: anchored settlement roots and disputes.")


class CompilerInfo(BaseModel):
    solc_version: str
    evm_version: str
    optimizer_runs: int
    origin: str


class Manifest(BaseModel):
    """A deployment of Registry, FlexToken, FlexibilityMarket and SettlementAnchor on one chain."""

    chain_id: int
    contracts: ContractAddresses
    deployer: str
    aggregator: str
    block: int = Field(description="Block of the first deployment transaction.")
    deployed_at: datetime
    compiler: CompilerInfo
    abis: dict[str, str] = Field(description="Contract name -> ABI file, relative to the manifest.")
    gas_used: dict[str, int] = Field(default_factory=dict)

    def save(self, path: Path, abis: dict[str, list[dict[str, Any]]]) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        abi_dir = path.parent / "abis"
        abi_dir.mkdir(exist_ok=True)
        for name, abi in abis.items():
            (abi_dir / f"{name}.abi.json").write_text(json.dumps(abi, indent=1))
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.model_dump_json(indent=2))
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> Manifest:
        try:
            manifest = cls.model_validate_json(path.read_text())
        except FileNotFoundError:
            raise ConfigError(f"no deployment manifest at {path}: run `flexsim deploy` first") from None
        except ValidationError as exc:
            if any(e["loc"] == ("contracts", "anchor") for e in exc.errors()):
                raise ConfigError(
                    f"{path} is a deployment made before SettlementAnchor existed: deploy anew "
                    "(`flexsim deploy`, or `flexsim run --redeploy`)"
                ) from None
            raise ConfigError(f"{path} is not a flexsim deployment manifest: {exc}") from None
        manifest._dir = path.parent
        return manifest

    _dir: Path | None = None

    def abi(self, name: str) -> list[dict[str, Any]]:
        if self._dir is None:
            raise ConfigError("manifest was not loaded from a file; its ABIs are not at hand")
        data: list[dict[str, Any]] = json.loads((self._dir / self.abis[name]).read_text())
        return data
