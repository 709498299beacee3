"""The bottom of flexsim's stack: the exception root, the version, and helpers every layer may use.

Nothing here imports any other flexsim package. Layers, top to bottom (enforced by import-linter in
`make lint`, contracts in `.importlinter`): `flexsim` (CLI) → `benchmarks` → `simulation` → services
(`aggregator`, `prosumer`, `grid_operator`) → `contracts` → `domain` → `base`.
"""

__version__ = "0.1.0"
