"""A connection to a chain: RPC with retries, chain-id check, fee policy and revert decoding.

One `Chain` is shared by every sender in a process. It holds no private keys (see `sender.py`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import requests
from web3 import HTTPProvider, Web3
from web3.exceptions import ContractLogicError, ProviderConnectionError, Web3RPCError

from base.errors import ConfigError
from contracts.abi_function import AbiFunction, EncodedCall
from contracts.errors import ContractRevert, RevertDecoder, RpcUnavailable, WrongChain
from contracts.jsonrpc import JsonRpc, RpcError
from contracts.lean_eth import LeanEth
from contracts.settings import ChainSettings

log = logging.getLogger(__name__)

T = TypeVar("T")
GWEI = 10**9
VOLTA_FAUCET = "https://voltafaucet.energyweb.org"
_TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    ProviderConnectionError,
    ConnectionError,
    TimeoutError,
)


@dataclass(frozen=True)
class FeePolicy:
    """Explicit fees: EIP-1559 (max fee = base fee x multiplier + tip) or legacy (a gas price)."""

    mode: Literal["eip1559", "legacy"] = "eip1559"
    priority_fee_wei: int = GWEI // 10
    max_fee_multiplier: Decimal = Decimal(2)
    gas_price_wei: int | None = None  # legacy; the node's eth_gasPrice when None

    @classmethod
    def from_settings(cls, s: ChainSettings) -> FeePolicy:
        return cls(
            mode=s.fee_mode,
            priority_fee_wei=int(s.priority_fee_gwei * GWEI),
            max_fee_multiplier=s.max_fee_multiplier,
            gas_price_wei=None if s.gas_price_gwei is None else int(s.gas_price_gwei * GWEI),
        )


def check_rpc_url(url: str) -> str:
    """`url` if it is an http(s) URL with a host, else `ConfigError` saying what one looks like."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"{url!r} is not an RPC URL: give http(s)://host:port, e.g. http://127.0.0.1:8545 (what "
            "`flexsim chain` prints) or https://volta-rpc.energyweb.org"
        )
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ConfigError(f"{url!r} is not an RPC URL: its port is not a number") from None
    return url


class Chain:
    """An RPC connection with retries, the expected chain id verified, and a revert decoder."""

    def __init__(
        self,
        rpc_url: str,
        decoder: RevertDecoder | None = None,
        fees: FeePolicy | None = None,
        expected_chain_id: int | None = None,
        retries: int = 5,
        receipt_timeout_s: float = 120.0,
        gas_margin: Decimal = Decimal("1.2"),
        request_timeout_s: float = 30.0,
        receipt_poll_s: float = 0.1,
    ) -> None:
        self.rpc_url = check_rpc_url(rpc_url)
        self.decoder = decoder or RevertDecoder([])
        self.fees = fees or FeePolicy()
        self.retries = retries
        self.receipt_timeout_s = receipt_timeout_s
        self.receipt_poll_s = receipt_poll_s
        self.gas_margin = gas_margin
        self.request_timeout_s = request_timeout_s
        self.w3 = Web3(self._provider())
        # web3's validation middleware asks the node for its chain id before every call, estimate and
        # send (two HTTP requests where one does). The chain id is checked once, below, and every
        # transaction is signed with it, so that check is dropped.
        self.w3.middleware_onion.remove("validation")
        try:
            self.chain_id = int(self.rpc(lambda: self.w3.eth.chain_id))
        except RpcUnavailable as exc:
            raise RpcUnavailable(
                f"cannot reach the chain at {rpc_url} ({exc}): start one with `flexsim chain` "
                "or set CHAIN_RPC_URL / --rpc-url to a reachable node"
            ) from None
        if expected_chain_id is not None and self.chain_id != expected_chain_id:
            raise WrongChain(
                f"{rpc_url} serves chain id {self.chain_id}, expected {expected_chain_id}: "
                "point CHAIN_RPC_URL at the right network or change CHAIN_CHAIN_ID"
            )
        self._fee_lock = threading.Lock()
        self._fee_cache: tuple[float, dict[str, int]] | None = None
        self._gas_limit: int | None = None
        self.lean: LeanEth | None = None  # raw JSON-RPC for the prosumer's calls (`use_plain_http`)

    def _provider(self) -> HTTPProvider:
        return Web3.HTTPProvider(
            self.rpc_url,
            request_kwargs={"timeout": self.request_timeout_s},
            exception_retry_configuration=None,
        )

    def reconnect(self) -> None:
        """Closes this connection's HTTP sessions and starts a new provider (which connects at its first
        call). A process forked from one that used this chain calls it first: the connections it
        inherited are its parent's, not its own. The contracts bound to `w3` follow."""
        self.disconnect()
        self.w3.provider = self._provider()
        self.lean = None  # web3's own provider again: its calls go through web3

    def disconnect(self) -> None:
        """Closes this connection's HTTP sessions (their pooled sockets) and keeps the provider: its next
        call opens a new connection. A fleet's parent calls it before it forks, so its children share
        the provider web3 set up (building a new one in each child dirtied 3.7 MB of its memory) but
        no socket."""
        sessions = getattr(getattr(self.w3.provider, "_request_session_manager", None), "session_cache", None)
        for _, session in list(getattr(sessions, "items", dict)()):
            try:
                session.close()
            except Exception:  # closing what is already broken
                pass
        close = getattr(self.w3.provider, "close", None)  # contracts.plain_provider: its one connection
        if close is not None:
            close()

    def use_plain_http(self) -> None:
        """Sends this chain's requests over one keep-alive connection (`base.wire_http`) instead of web3's
        `requests` session (`contracts.plain_provider`); what a fleet's prosumers use. From then on
        the balance, fees, calls of the bindings, estimates, sends and receipts go as raw JSON-RPC
        over that connection (`contracts.lean_eth`), not through web3's request pipeline."""
        from contracts.plain_provider import PlainHTTPProvider

        self.disconnect()
        provider = PlainHTTPProvider(self.rpc_url, self.request_timeout_s)
        self.w3.provider = provider
        self.lean = LeanEth(JsonRpc(provider))

    @classmethod
    def from_settings(
        cls, settings: ChainSettings, decoder: RevertDecoder | None = None, rpc_url: str | None = None
    ) -> Chain:
        return cls(
            rpc_url or settings.rpc_url,
            decoder,
            fees=FeePolicy.from_settings(settings),
            expected_chain_id=settings.chain_id,
            retries=settings.rpc_retries,
            receipt_timeout_s=settings.receipt_timeout_s,
            gas_margin=settings.gas_margin,
            receipt_poll_s=settings.receipt_poll_s,
        )

    # ------------------------------------------------------------------ RPC with retries

    def rpc(self, call: Callable[[], T], what: str = "RPC call") -> T:
        """Runs `call`, retrying transient transport errors with exponential backoff."""
        delay = 0.25
        for attempt in range(self.retries + 1):
            try:
                return call()
            except _TRANSIENT as exc:
                if attempt == self.retries:
                    raise RpcUnavailable(
                        f"{what} failed after {attempt + 1} attempts: {_short(exc)}"
                    ) from exc
                # INFO, not WARNING: a retry that succeeds is routine; the last failure is the error
                log.info("%s failed (%s); retrying in %.2f s", what, type(exc).__name__, delay)
                time.sleep(delay)
                delay = min(delay * 2, 8.0)
        raise AssertionError("unreachable")

    def call(self, fn: Any, block: int | str = "latest") -> Any:
        """A read-only contract call; reverts are decoded into typed exceptions."""
        try:
            return self.rpc(lambda: fn.call(block_identifier=block), f"call {fn.fn_name}")
        except ContractLogicError as exc:
            raise self.decode(exc) from None

    def call_encoded(self, fn: AbiFunction, call: EncodedCall, block: int | str = "latest") -> Any:
        """A read-only call over raw JSON-RPC (`use_plain_http`); reverts decoded as `call`'s."""
        lean = self.lean
        if lean is None:
            raise RuntimeError(
                "call_encoded needs the raw JSON-RPC client: call Chain.use_plain_http() first"
            )
        try:
            raw = self.rpc(
                lambda: lean.call({"to": call.to, "data": call.data}, block), f"call {call.fn_name}"
            )
        except RpcError as exc:
            if exc.is_revert:
                raise self.decode(exc) from None
            raise
        return fn.decode(raw)

    def decode(
        self, exc: ContractLogicError | Web3RPCError | RpcError, tx_hash: str | None = None
    ) -> ContractRevert:
        if isinstance(exc, RpcError):
            data: Any = exc.data if isinstance(exc.data, (str, bytes, dict)) else None
            return self.decoder.decode(data, tx_hash)
        data = getattr(exc, "data", None)
        if data is None and isinstance(exc, Web3RPCError) and exc.rpc_response:
            error: Any = dict(exc.rpc_response).get("error") or {}
            data = error.get("data") if isinstance(error, dict) else None
        return self.decoder.decode(data, tx_hash)

    # ------------------------------------------------------------------ chain facts

    @property
    def block_gas_limit(self) -> int:
        if self._gas_limit is None:
            lean = self.lean
            if lean is not None:
                self._gas_limit = self.rpc(lean.latest_block, "latest block")["gasLimit"]
            else:
                self._gas_limit = int(self.rpc(lambda: self.w3.eth.get_block("latest"))["gasLimit"])
        return self._gas_limit

    def fee_fields(self, tip_share: float = 1.0) -> dict[str, int]:
        """Fee fields for a new transaction; the base fee is re-read at most once a second. With EIP-1559
        fees, `tip_share` < 1 pays that share of the priority fee: the transaction yields to others in a
        full block (legacy fees ignore it: their price must stay at or above the base fee)."""
        fields = self._fee_fields()
        if tip_share == 1.0 or "maxPriorityFeePerGas" not in fields:
            return fields
        tip = fields["maxPriorityFeePerGas"]
        lower = int(tip * tip_share)
        return {"maxFeePerGas": fields["maxFeePerGas"] - tip + lower, "maxPriorityFeePerGas": lower}

    def _fee_fields(self) -> dict[str, int]:
        with self._fee_lock:
            now = time.monotonic()
            if self._fee_cache and now - self._fee_cache[0] < 1.0:
                return self._fee_cache[1]
            lean = self.lean
            if self.fees.mode == "legacy":
                price = self.fees.gas_price_wei or int(
                    self.rpc(lean.gas_price if lean else lambda: self.w3.eth.gas_price, "gas price")
                )
                fields = {"gasPrice": price}
            else:
                block: Any = self.rpc(lean.latest_block if lean else lambda: self.w3.eth.get_block("latest"))
                base = int(block.get("baseFeePerGas") or 0)
                tip = self.fees.priority_fee_wei
                fields = {
                    "maxFeePerGas": int(base * self.fees.max_fee_multiplier) + tip,
                    "maxPriorityFeePerGas": tip,
                }
            self._fee_cache = (now, fields)
            return fields

    def reset_fee_cache(self) -> None:
        """Forget the cached fee fields (e.g. after an anvil snapshot revert moved the base fee)."""
        with self._fee_lock:
            self._fee_cache = None

    def max_fee_per_gas(self) -> int:
        fields = self.fee_fields()
        return fields.get("maxFeePerGas", fields.get("gasPrice", 0))

    def balance(self, address: str) -> int:
        lean = self.lean
        if lean is not None:
            return self.rpc(lambda: lean.balance(address), "balance")
        return int(self.rpc(lambda: self.w3.eth.get_balance(Web3.to_checksum_address(address))))

    def faucet_hint(self) -> str:
        if self.chain_id == 73799:
            return f"get VT at the Volta faucet ({VOLTA_FAUCET}) or set CHAIN_FUNDER_KEY"
        return "send it native tokens from a funded account (CHAIN_FUNDER_KEY)"


def _short(exc: BaseException) -> str:
    """A one-phrase reason for a transport error (requests' messages run over several nested reprs)."""
    text = str(exc)
    for needle, reason in (
        ("Connection refused", "connection refused"),
        ("Name or service not known", "unknown host"),
        ("timed out", "timed out"),
        ("Temporary failure in name resolution", "DNS failure"),
    ):
        if needle in text:
            return reason
    return type(exc).__name__
