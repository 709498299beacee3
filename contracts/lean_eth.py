"""The few `eth_*` calls a prosumer makes, as raw JSON-RPC with plain Python values at the boundary.

Quantities go out and come back as `int`, data as `bytes` (sent as 0x-hex), addresses as strings.
No retries here: `Chain.rpc` wraps each call. Built on `contracts.jsonrpc` (see there for why).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from contracts.jsonrpc import JsonRpc

Block = int | str  # a number, or "latest" / "pending" / "earliest"

_RECEIPT_INTS = ("blockNumber", "gasUsed", "cumulativeGasUsed", "effectiveGasPrice", "status",
                 "transactionIndex", "type")  # fmt: skip
_LOG_INTS = ("blockNumber", "logIndex", "transactionIndex")


def hex_quantity(value: int) -> str:
    return hex(value)


def hex_data(value: bytes | str) -> str:
    return value if isinstance(value, str) else "0x" + value.hex()


def block_param(block: Block) -> str:
    return hex(block) if isinstance(block, int) else block


def call_object(tx: Mapping[str, Any]) -> dict[str, Any]:
    """A transaction or call as JSON-RPC takes it: ints as quantities, bytes as data."""
    out: dict[str, Any] = {}
    for key, value in tx.items():
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int):
            out[key] = hex_quantity(value)
        elif isinstance(value, (bytes, bytearray)):
            out[key] = "0x" + bytes(value).hex()
        else:
            out[key] = str(value)
    return out


def _ints(doc: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    for key in keys:
        value = doc.get(key)
        if isinstance(value, str):
            doc[key] = int(value, 16)
    return doc


class LeanEth:
    """Typed `eth_*` calls over one `JsonRpc`."""

    def __init__(self, rpc: JsonRpc) -> None:
        self.rpc = rpc

    def chain_id(self) -> int:
        return int(self.rpc.request("eth_chainId", []), 16)

    def block_number(self) -> int:
        return int(self.rpc.request("eth_blockNumber", []), 16)

    def balance(self, address: str, block: Block = "latest") -> int:
        return int(self.rpc.request("eth_getBalance", [address, block_param(block)]), 16)

    def gas_price(self) -> int:
        return int(self.rpc.request("eth_gasPrice", []), 16)

    def latest_block(self) -> dict[str, int]:
        """The latest block's header numbers the fee policy and gas cap need."""
        block = self.rpc.request("eth_getBlockByNumber", ["latest", False])
        return {
            "number": int(block["number"], 16),
            "gasLimit": int(block["gasLimit"], 16),
            "baseFeePerGas": int(block.get("baseFeePerGas") or "0x0", 16),
            "timestamp": int(block["timestamp"], 16),
        }

    def transaction_count(self, address: str, block: Block = "pending") -> int:
        return int(self.rpc.request("eth_getTransactionCount", [address, block_param(block)]), 16)

    def estimate_gas(self, tx: Mapping[str, Any], block: Block = "pending") -> int:
        return int(self.rpc.request("eth_estimateGas", [call_object(tx), block_param(block)]), 16)

    def call(self, tx: Mapping[str, Any], block: Block = "latest") -> bytes:
        result = self.rpc.request("eth_call", [call_object(tx), block_param(block)])
        return bytes.fromhex(str(result).removeprefix("0x"))

    def send_raw_transaction(self, raw: bytes) -> str:
        """The transaction's hash (0x-hex) as the node gives it back."""
        return str(self.rpc.request("eth_sendRawTransaction", [hex_data(raw)]))

    def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        """The receipt with its numbers as ints (its logs' too), or None while it is not mined."""
        r = self.rpc.request("eth_getTransactionReceipt", [tx_hash])
        if r is None:
            return None
        for entry in r.get("logs") or ():
            _ints(entry, _LOG_INTS)
        return _ints(r, _RECEIPT_INTS)

    def get_logs(self, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """`eth_getLogs` with `fromBlock` / `toBlock` as ints and topics as bytes or hex (as
        `contracts.events.LogPager` builds them); the logs' numbers come back as ints."""
        query: dict[str, Any] = {}
        for key, value in params.items():
            if key in ("fromBlock", "toBlock"):
                query[key] = block_param(value)
            elif key == "topics":
                query[key] = [_topic(t) for t in value]
            else:
                query[key] = value
        return [_ints(entry, _LOG_INTS) for entry in self.rpc.request("eth_getLogs", [query])]


def _topic(topic: Any) -> Any:
    if topic is None or isinstance(topic, str):
        return topic
    if isinstance(topic, (bytes, bytearray)):
        return "0x" + bytes(topic).hex()
    return [_topic(t) for t in topic]  # a list of alternatives
