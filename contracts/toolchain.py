"""Finding the external tools: Node.js, the npm packages (solc, anvil) and a native solc."""

from __future__ import annotations

import shutil
from pathlib import Path

from base.errors import ToolchainError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NPM_FIX = "run `npm ci` in the flexsim checkout (needs Node.js >= 18), or `make setup`"


def node_modules(configured: Path | None = None) -> Path:
    """The node_modules folder holding `solc` and `@foundry-rs/anvil`.

    Looked up in order: the configured path, the project checkout, the current directory.
    """
    candidates = [configured] if configured else []
    candidates += [PROJECT_ROOT / "node_modules", Path.cwd() / "node_modules"]
    for path in candidates:
        if path is not None and (path / "solc" / "package.json").is_file():
            return path.resolve()
    raise ToolchainError(f"the npm package `solc` is not installed: {NPM_FIX}")


def node_binary() -> Path:
    found = shutil.which("node")
    if not found:
        raise ToolchainError("Node.js is not on PATH: install it (Debian: `apt-get install nodejs npm`)")
    return Path(found)


def anvil_binary(configured: Path | None = None, modules: Path | None = None) -> Path:
    """The anvil binary: configured, else the native binary of the npm platform package (or its
    node_modules/.bin wrapper), else `anvil` on PATH."""
    if configured:
        if not configured.is_file():
            raise ToolchainError(f"CHAIN_ANVIL_BINARY={configured} does not exist: fix the path or unset it")
        return configured
    for root in [modules, PROJECT_ROOT / "node_modules", Path.cwd() / "node_modules"]:
        if root is None:
            continue
        # the platform package's native binary; `.bin/anvil` is a Node wrapper that spawns it
        native = sorted(root.glob("@foundry-rs/anvil-*/bin/anvil"))
        if native:
            return native[0].resolve()
        if (root / ".bin" / "anvil").exists():
            return (root / ".bin" / "anvil").resolve()
    found = shutil.which("anvil")
    if found:
        return Path(found)
    raise ToolchainError(f"anvil is not installed: {NPM_FIX}")


def npm_package(name: str, configured: Path | None = None) -> Path:
    """The folder of an installed npm package (web assets: `swagger-ui-dist`, `htmx.org`, `uplot`, ...),
    pinned by package-lock.json like solc and anvil; served from there, never from a CDN. Found where
    solc is (`configured`, else CHAIN_NODE_MODULES, the checkout, the current directory)."""
    if configured is None:
        from contracts.settings import ChainSettings

        configured = ChainSettings().node_modules
    path = node_modules(configured) / name
    if not (path / "package.json").is_file():
        raise ToolchainError(f"the npm package `{name}` is not installed: {NPM_FIX}")
    return path
