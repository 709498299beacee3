"""The root of every flexsim error, and the errors no single layer owns.

Every error flexsim raises on purpose derives from `FlexsimError`; each layer has its own subtree:
`domain.errors.DomainError` (bad model values), `contracts.errors.ChainError` (talking to the chain,
and every Solidity custom error as `ContractRevert`), `aggregator.errors.AggregatorError` (each with
its HTTP status). Messages say what went wrong and how to fix it; the CLI prints them as one line and
exits non-zero.
"""

from __future__ import annotations


class FlexsimError(Exception):
    """Root of every flexsim error."""


class ConfigError(FlexsimError, ValueError):
    """A setting, scenario or argument is invalid."""


class ToolchainError(FlexsimError, RuntimeError):
    """A tool the project needs (Node.js, solc, anvil) is missing or broken."""
