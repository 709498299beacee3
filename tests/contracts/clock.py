"""The chain's clock: read the latest block's timestamp, move time with anvil's RPCs."""

from __future__ import annotations

from typing import Any

from web3 import Web3


class Clock:
    def __init__(self, w3: Web3) -> None:
        self.w3 = w3

    def rpc(self, method: str, *params: Any) -> Any:
        reply = self.w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
        if "error" in reply:
            raise RuntimeError(f"{method}{params}: {reply['error']}")
        return reply.get("result")

    def now(self) -> int:
        """The latest block's timestamp (what views see), not the wall clock."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def mine(self) -> None:
        self.rpc("evm_mine")

    def advance(self, seconds: int) -> int:
        """Moves the clock forward and mines a block; returns the new latest timestamp."""
        self.rpc("evm_increaseTime", seconds)
        self.mine()
        return self.now()

    def advance_to(self, timestamp: int) -> int:
        """Mines a block with exactly this timestamp (later blocks continue from it)."""
        self.rpc("evm_setNextBlockTimestamp", timestamp)
        self.mine()
        return self.now()
