"""The chain layer: Solidity sources (`src/`), compilation, deployment, typed bindings and errors."""
