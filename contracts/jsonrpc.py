"""Raw JSON-RPC over a `PlainHTTPProvider`'s one keep-alive connection: `json` in, `json` out.

web3's request pipeline (request manager, middleware, request and result formatters) runs a few
hundred functions per call. In a forked prosumer each of them has its reference counts written the
first time it runs, which makes its pages the child's own: the funds check and the registration cost
a child about 5 MB of private memory that way, although its parent ran the same calls before forking.
This client runs only `json`, `base.wire_http` and the provider's lock; `contracts.lean_eth` puts typed
`eth_*` calls on top of it. Transport errors are the provider's (`ConnectionError`, `TimeoutError`,
retried by `Chain.rpc`); an error answer raises `RpcError` with the node's code, message and data.
"""

from __future__ import annotations

import itertools
import json
from typing import Any, Protocol

from contracts.errors import ChainError


class RawTransport(Protocol):
    """What `contracts.plain_provider.PlainHTTPProvider` offers: encoded request in, answer bytes out."""

    endpoint_uri: Any

    def _make_request(self, method: Any, request_data: bytes) -> bytes: ...


class RpcError(ChainError):
    """The node answered a JSON-RPC call with an error (a revert, a rejected transaction, ...)."""

    def __init__(self, method: str, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{method}: node error {code}: {message}")
        self.method = method
        self.code = code
        self.message = message
        self.data = data

    @property
    def is_revert(self) -> bool:
        """True when the call or estimate reverted (anvil and geth: code 3 or "execution reverted")."""
        return self.code == 3 or "revert" in self.message.lower()


class JsonRpc:
    """One JSON-RPC endpoint reached through `transport`; thread safe as the transport is."""

    def __init__(self, transport: RawTransport) -> None:
        self.transport = transport
        self._ids = itertools.count(1)

    def request(self, method: str, params: list[Any]) -> Any:
        """The `result` of `method(params)`; `RpcError` when the node answers with an error."""
        body = json.dumps({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params})
        raw = self.transport._make_request(method, body.encode())
        try:
            answer = json.loads(raw)
        except ValueError:
            raise RpcError(
                method,
                -32700,
                f"{self.transport.endpoint_uri} answered no JSON: {raw[:120]!r}; "
                "is CHAIN_RPC_URL an Ethereum JSON-RPC endpoint?",
            ) from None
        error = answer.get("error") if isinstance(answer, dict) else None
        if error is not None:
            if not isinstance(error, dict):
                raise RpcError(method, -32603, str(error))
            raise RpcError(method, int(error.get("code", -32603)), str(error.get("message", "")),
                           error.get("data"))  # fmt: skip
        if not isinstance(answer, dict) or "result" not in answer:
            raise RpcError(method, -32603, f"answer without a result: {raw[:120]!r}")
        return answer["result"]
