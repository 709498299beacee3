"""Compiling the Solidity sources with py-solc-x, with a content-addressed artifact cache.

The compiler version and EVM version are pinned here, in one place. `evmVersion` is London because
Energy Web chains do not run Shanghai: bytecode with PUSH0 (solc >= 0.8.20's default) fails there.

The compiler is resolved in this order:
1. `CHAIN_SOLC_BINARY`, if set;
2. a native `solc` on PATH, if it is exactly the pinned version;
3. the pinned version installed by py-solc-x (`solcx.install_solc`, where the internet is reachable);
4. the npm `solc` package (WebAssembly) through `solc_node_wrapper.js`, which answers `--version` and
   `--standard-json` as py-solc-x expects (the `solcjs` CLI prints a non-JSON line first).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import solcx
from solcx.exceptions import SolcError, SolcNotInstalled
from solcx.install import get_executable

from base.errors import ToolchainError
from contracts import toolchain
from contracts.settings import ChainSettings

log = logging.getLogger(__name__)

SOLC_VERSION = "0.8.30"
EVM_VERSION = "london"
OPTIMIZER_RUNS = 200
SOURCES_DIR = Path(__file__).resolve().parent / "src"
CONTRACT_NAMES = ("Registry", "FlexToken", "FlexibilityMarket", "SettlementAnchor")


@dataclass(frozen=True)
class Compiler:
    """A solc executable py-solc-x can call, and where it came from."""

    path: Path
    origin: str  # "configured", "native", "solcx", "npm"


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str  # creation code, 0x-prefixed
    runtime: str  # deployed code, 0x-prefixed


@dataclass(frozen=True)
class Artifacts:
    contracts: dict[str, Artifact]
    solc_version: str
    evm_version: str
    optimizer_runs: int
    origin: str
    key: str
    path: Path

    def __getitem__(self, name: str) -> Artifact:
        return self.contracts[name]


def standard_input() -> dict[str, Any]:
    sources = {p.name: {"content": p.read_text()} for p in sorted(SOURCES_DIR.glob("*.sol"))}
    return {
        "language": "Solidity",
        "sources": sources,
        "settings": {
            "evmVersion": EVM_VERSION,
            "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
            "viaIR": True,
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
        },
    }


def cache_key(std_input: dict[str, Any]) -> str:
    blob = json.dumps({"solc": SOLC_VERSION, "input": std_input}, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def resolve_compiler(settings: ChainSettings) -> Compiler:
    """Finds a solc for the pinned version, in the documented order."""
    if settings.solc_binary:
        if not settings.solc_binary.is_file():
            raise ToolchainError(f"CHAIN_SOLC_BINARY={settings.solc_binary} does not exist: fix or unset it")
        return Compiler(settings.solc_binary.resolve(), "configured")
    native = shutil.which("solc")
    if native and _version_of(Path(native)) == SOLC_VERSION:
        return Compiler(Path(native), "native")
    try:
        return Compiler(Path(get_executable(SOLC_VERSION)), "solcx")
    except (SolcError, SolcNotInstalled):
        pass
    return Compiler(_npm_launcher(settings), "npm")


def compile_contracts(settings: ChainSettings | None = None) -> Artifacts:
    """Returns the compiled contracts, from the cache when the sources and settings are unchanged."""
    settings = settings or ChainSettings()
    std_input = standard_input()
    key = cache_key(std_input)
    path = settings.cache_dir / "artifacts" / f"{key}.json"
    if path.is_file():
        return _load(path)
    compiler = resolve_compiler(settings)
    log.info(
        "compiling %d sources with solc %s (%s)", len(std_input["sources"]), SOLC_VERSION, compiler.origin
    )
    try:
        output = solcx.compile_standard(std_input, solc_binary=compiler.path)
    except SolcError as exc:
        raise ToolchainError(f"solc failed: {exc.message.strip()}") from exc
    contracts = {}
    for source in output["contracts"].values():
        for name, data in source.items():
            if name in CONTRACT_NAMES:
                contracts[name] = {
                    "abi": data["abi"],
                    "bytecode": "0x" + data["evm"]["bytecode"]["object"],
                    "runtime": "0x" + data["evm"]["deployedBytecode"]["object"],
                }
    document = {
        "key": key,
        "solc_version": SOLC_VERSION,
        "evm_version": EVM_VERSION,
        "optimizer_runs": OPTIMIZER_RUNS,
        "origin": compiler.origin,
        "contracts": contracts,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(document))
    tmp.replace(path)
    return _load(path)


def _load(path: Path) -> Artifacts:
    doc = json.loads(path.read_text())
    contracts = {name: Artifact(name=name, **data) for name, data in doc["contracts"].items()}
    return Artifacts(
        contracts=contracts,
        solc_version=doc["solc_version"],
        evm_version=doc["evm_version"],
        optimizer_runs=doc["optimizer_runs"],
        origin=doc["origin"],
        key=doc["key"],
        path=path,
    )


def _version_of(binary: Path) -> str | None:
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for token in out.split():
        if token[:1].isdigit() and "+" in token:
            return token.split("+")[0]
    return None


def _npm_launcher(settings: ChainSettings) -> Path:
    """Writes a small executable that runs the Node wrapper with absolute paths, for py-solc-x."""
    node = toolchain.node_binary()
    solcjs = toolchain.node_modules(settings.node_modules) / "solc"
    installed = json.loads((solcjs / "package.json").read_text())["version"]
    if installed != SOLC_VERSION:
        raise ToolchainError(f"npm solc is {installed}, flexsim pins {SOLC_VERSION}: run `npm ci`")
    wrapper = Path(__file__).resolve().parent / "solc_node_wrapper.js"
    launcher = settings.cache_dir / "bin" / f"solc-{SOLC_VERSION}-npm"
    script = f'#!/bin/sh\nexec "{node}" "{wrapper}" --solcjs "{solcjs}" "$@"\n'
    if not launcher.is_file() or launcher.read_text() != script:
        launcher.parent.mkdir(parents=True, exist_ok=True)
        launcher.write_text(script)
        launcher.chmod(0o755)
    return launcher
