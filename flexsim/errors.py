"""The project's exception tree. Every error flexsim raises on purpose derives from `FlexsimError`.

Messages say what went wrong and how to fix it; the CLI prints them as one line and exits non-zero.
"""

from __future__ import annotations


class FlexsimError(Exception):
    """Root of every flexsim error."""


class ConfigError(FlexsimError, ValueError):
    """A setting, scenario or argument is invalid."""


class ToolchainError(FlexsimError, RuntimeError):
    """A tool the project needs (Node.js, solc, anvil) is missing or broken."""


class ChainError(FlexsimError):
    """Talking to the chain failed."""


class RpcUnavailable(ChainError, ConnectionError):
    """The RPC endpoint cannot be reached."""


class WrongChain(ChainError):
    """The RPC endpoint serves another chain than the one expected."""


class InsufficientFunds(ChainError):
    """An account cannot pay for the gas it needs."""


class TransactionFailed(ChainError):
    """A transaction could not be sent, was dropped, or was not mined in time."""


class ContractRevert(ChainError):
    """A contract call reverted. Subclasses (in `contracts.errors`) name the Solidity custom error.

    `name` is the Solidity error name and `args` its decoded arguments, in declaration order.
    """

    def __init__(self, name: str, args: tuple[object, ...] = (), tx_hash: str | None = None) -> None:
        self.name = name
        self.error_args = args
        self.tx_hash = tx_hash
        shown = ", ".join(_show(a) for a in args)
        where = f" (tx {tx_hash})" if tx_hash else ""
        super().__init__(f"contract reverted: {name}({shown}){where}")


def _show(value: object) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return repr(value) if isinstance(value, str) else str(value)
