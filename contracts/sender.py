"""Sending transactions from one account: local nonce, explicit fees, retries, receipts, decoded reverts.

web3.py has no nonce manager, so concurrent sends from one account would race. A `Sender` keeps the
account's next nonce locally and serialises its sends with a lock; different accounts send in
parallel. On "nonce too low" (another client used the account) it re-reads the nonce and retries.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3.exceptions import ContractLogicError, TimeExhausted, Web3RPCError

from contracts.abi_function import EncodedCall
from contracts.chain import Chain
from contracts.errors import InsufficientFunds, TransactionFailed
from contracts.jsonrpc import RpcError
from contracts.raw_tx import SignedRaw
from contracts.raw_tx import sign_transaction as sign_raw

log = logging.getLogger(__name__)

_RAW_FIELDS = frozenset(
    (
        "from",
        "to",
        "data",
        "value",
        "gas",
        "nonce",
        "chainId",
        "maxFeePerGas",
        "maxPriorityFeePerGas",
        "gasPrice",
    )
)
"""The fields `contracts.raw_tx` signs (`from` checked against the key); other transactions go through
eth_account."""

_NONCE_ERRORS = ("nonce too low", "already known", "replacement transaction underpriced", "nonce too high")


@dataclass(frozen=True)
class Receipt:
    """What callers need from a mined transaction."""

    tx_hash: str
    block_number: int
    gas_used: int
    effective_gas_price: int
    logs: list[Any]
    contract_address: str | None
    raw: Any  # the web3 receipt, for event decoding


class Sender:
    """Signs and sends transactions for one account through a shared `Chain`."""

    def __init__(self, chain: Chain, key: str) -> None:
        self.chain = chain
        self.account: LocalAccount = Account.from_key(key)
        self.address: ChecksumAddress = self.account.address
        self._lock = threading.Lock()
        self._nonce: int | None = None
        self._raw_key: Any = None  # eth_keys' PrivateKey, made at the first raw signature

    def __repr__(self) -> str:
        return f"Sender({self.address})"

    # ------------------------------------------------------------------ public

    def transact(self, fn: Any, gas: int | None = None, value: int = 0, tip_share: float = 1.0) -> Receipt:
        """Sends a contract call and waits for its receipt; raises a typed `ContractRevert` on revert."""
        return self.wait(self.submit(fn, gas=gas, value=value, tip_share=tip_share), what=_name(fn))

    def submit(self, fn: Any, gas: int | None = None, value: int = 0, tip_share: float = 1.0) -> str:
        """Sends a contract call without waiting; returns the transaction hash. `tip_share` < 1 lets
        it yield to other transactions in a full block (`Chain.fee_fields`)."""
        if gas is None:
            gas = self.estimate(fn, value)
        if isinstance(fn, EncodedCall):
            call = {"to": fn.to, "data": fn.data, "value": value, "gas": gas, "chainId": self.chain.chain_id}
            return self._send(lambda nonce: {**call, "nonce": nonce, **self.chain.fee_fields(tip_share)})
        tx = {"from": self.address, "value": value, "gas": gas, "chainId": self.chain.chain_id}
        return self._send(
            lambda nonce: fn.build_transaction({**tx, "nonce": nonce, **self.chain.fee_fields(tip_share)})
        )

    def send_value(self, to: str, wei: int) -> Receipt:
        """Sends native tokens (e.g. VT for gas) and waits for the receipt."""
        return self.wait(self.submit_value(to, wei), "transfer")

    def submit_value(self, to: str, wei: int) -> str:
        """Sends native tokens without waiting; returns the transaction hash."""
        tx = {"from": self.address, "to": to, "value": wei, "gas": 21_000, "chainId": self.chain.chain_id}
        return self._send(lambda nonce: {**tx, "nonce": nonce, **self.chain.fee_fields()})

    def estimate(self, fn: Any, value: int = 0) -> int:
        """Estimated gas with the configured margin, capped at the block gas limit.

        Estimated on the pending block: its timestamp is "now", while the latest block's can be much
        older on a chain that mines only on demand (anvil automine), where a time-gated call (after a
        deadline, after a window) would otherwise be estimated as reverting."""
        if isinstance(fn, EncodedCall):
            return self._estimate_encoded(fn, value)
        try:
            est = self.chain.rpc(
                lambda: fn.estimate_gas({"from": self.address, "value": value}, block_identifier="pending"),
                "estimate gas",
            )
        except ContractLogicError as exc:
            raise self.chain.decode(exc) from None
        except Web3RPCError as exc:
            self._raise_funds(exc)
            raise TransactionFailed(f"{_name(fn)}: gas estimation failed: {exc}") from exc
        return min(int(est * self.chain.gas_margin), self.chain.block_gas_limit)

    def _estimate_encoded(self, call: EncodedCall, value: int) -> int:
        lean = self.chain.lean
        if lean is None:
            raise RuntimeError("an encoded call needs the raw JSON-RPC client: call Chain.use_plain_http()")
        tx = {"from": self.address, "to": call.to, "data": call.data, "value": value}
        try:
            est = self.chain.rpc(lambda: lean.estimate_gas(tx, "pending"), "estimate gas")
        except RpcError as exc:
            if exc.is_revert:
                raise self.chain.decode(exc) from None
            self._raise_funds(exc)
            raise TransactionFailed(f"{call.fn_name}: gas estimation failed: {exc}") from exc
        return min(int(est * self.chain.gas_margin), self.chain.block_gas_limit)

    def wait(self, tx_hash: str, what: str = "transaction") -> Receipt:
        """Waits for the receipt; decodes a revert into a typed exception."""
        if self.chain.lean is not None:
            return self._receipt(tx_hash, self._wait_raw(tx_hash, what), what)
        w3 = self.chain.w3
        try:
            r = self.chain.rpc(
                lambda: w3.eth.wait_for_transaction_receipt(
                    HexBytes(tx_hash),
                    timeout=self.chain.receipt_timeout_s,
                    poll_latency=self.chain.receipt_poll_s,
                ),
                f"receipt of {what}",
            )
        except TimeExhausted:
            raise TransactionFailed(
                f"{what} {tx_hash} not mined within {self.chain.receipt_timeout_s:.0f} s: the chain may be "
                "stalled or the fee too low; raise CHAIN_PRIORITY_FEE_GWEI or CHAIN_RECEIPT_TIMEOUT_S"
            ) from None
        return self._receipt(tx_hash, r, what)

    def _wait_raw(self, tx_hash: str, what: str) -> dict[str, Any]:
        """Polls `eth_getTransactionReceipt` over raw JSON-RPC until the receipt is there."""
        lean = self.chain.lean
        assert lean is not None
        deadline = time.monotonic() + self.chain.receipt_timeout_s
        while True:
            r = self.chain.rpc(lambda: lean.receipt(tx_hash), f"receipt of {what}")
            if r is not None:
                return r
            if time.monotonic() >= deadline:
                raise TransactionFailed(
                    f"{what} {tx_hash} not mined within {self.chain.receipt_timeout_s:.0f} s: the chain may "
                    "be stalled or the fee too low; raise CHAIN_PRIORITY_FEE_GWEI or CHAIN_RECEIPT_TIMEOUT_S"
                )
            time.sleep(self.chain.receipt_poll_s)

    def _receipt(self, tx_hash: str, r: Any, what: str) -> Receipt:
        receipt = Receipt(
            tx_hash=tx_hash,
            block_number=int(r["blockNumber"]),
            gas_used=int(r["gasUsed"]),
            effective_gas_price=int(r.get("effectiveGasPrice") or 0),
            logs=list(r["logs"]),
            contract_address=r.get("contractAddress"),
            raw=r,
        )
        if r["status"] != 1:
            raise self._revert_reason(tx_hash, r, what)
        return receipt

    def resync_nonce(self) -> None:
        with self._lock:
            self._nonce = None

    # ------------------------------------------------------------------ internals

    def _send(self, build: Any) -> str:
        with self._lock:
            for attempt in range(3):
                lean = self.chain.lean
                if self._nonce is None:
                    self._nonce = int(
                        self.chain.rpc(
                            partial(lean.transaction_count, self.address, "pending")
                            if lean
                            else lambda: self.chain.w3.eth.get_transaction_count(self.address, "pending"),
                            "nonce",
                        )
                    )
                signed = self._sign(build(self._nonce))
                try:
                    send: Callable[[], bytes | str] = (
                        partial(lean.send_raw_transaction, signed.raw_transaction)
                        if lean
                        else partial(self.chain.w3.eth.send_raw_transaction, signed.raw_transaction)
                    )
                    tx_hash = self.chain.rpc(send, "send")
                except (Web3RPCError, RpcError) as exc:
                    self._raise_funds(exc)
                    if any(m in str(exc).lower() for m in _NONCE_ERRORS) and attempt < 2:
                        log.warning("%s: nonce %s rejected (%s); resyncing", self.address, self._nonce, exc)
                        self._nonce = None
                        time.sleep(0.1 * (attempt + 1))
                        continue
                    self._nonce = None
                    raise TransactionFailed(f"sending from {self.address} failed: {exc}") from exc
                except Exception:
                    self._nonce = None  # we do not know whether the node took it
                    raise
                self._nonce += 1
                return tx_hash if isinstance(tx_hash, str) else "0x" + bytes(tx_hash).hex()
        raise TransactionFailed(
            f"{self.address}: nonce kept being rejected; is another client using this key?"
        )

    def _sign(self, tx: dict[str, Any]) -> Any:
        """On raw JSON-RPC (`Chain.use_plain_http`) a plain transaction is signed by `contracts.raw_tx`
        (eth_account's transaction classes dirtied 0.8 MB of a fleet child's memory); else, or for any
        other field, by eth_account. Both give the same bytes."""
        if (
            self.chain.lean is None
            or not tx.keys() <= _RAW_FIELDS
            or tx.get("from", self.address) != self.address
        ):
            return self.account.sign_transaction(tx)
        if self._raw_key is None:
            from eth_keys import keys

            self._raw_key = keys.PrivateKey(bytes(self.account.key))
        signed: SignedRaw = sign_raw(self._raw_key, tx)
        return signed

    def _raise_funds(self, exc: Exception) -> None:
        if "insufficient funds" in str(exc).lower():
            balance = self.chain.balance(self.address)
            raise InsufficientFunds(
                f"account {self.address} has {balance / 1e18:.6f} native tokens on chain "
                f"{self.chain.chain_id}, not enough for gas: {self.chain.faucet_hint()}"
            ) from None

    def _revert_reason(self, tx_hash: str, r: Any, what: str) -> Exception:
        """Recovers the revert data of a mined, failed transaction.

        First from a call trace (`debug_traceTransaction` with the callTracer: exact, where the node
        offers it), else by replaying the transaction as a call on the state after its block (same
        timestamp; other transactions of the block already applied), then before it.
        """
        if int(r["gasUsed"]) >= int(self.chain.w3.eth.get_transaction(HexBytes(tx_hash))["gas"]):
            return TransactionFailed(f"{what} {tx_hash} ran out of gas; raise CHAIN_GAS_MARGIN")
        data = self._traced_revert_data(tx_hash)
        if data:
            return self.chain.decoder.decode(data, tx_hash)
        tx = self.chain.w3.eth.get_transaction(HexBytes(tx_hash))
        call: Any = {
            "from": tx["from"],
            "to": tx["to"],
            "data": tx["input"],
            "value": tx["value"],
            "gas": tx["gas"],
        }
        block = int(r["blockNumber"])
        for at in (block, block - 1):
            try:
                self.chain.w3.eth.call(call, block_identifier=at)
            except (ContractLogicError, Web3RPCError) as exc:
                return self.chain.decode(exc, tx_hash)
        return TransactionFailed(f"{what} {tx_hash} reverted in block {block} (no reason recovered)")

    def _traced_revert_data(self, tx_hash: str) -> str | None:
        try:
            reply: Any = self.chain.w3.provider.make_request(
                "debug_traceTransaction",  # type: ignore[arg-type]
                [tx_hash, {"tracer": "callTracer"}],
            )
        except Exception:  # the node does not trace: fall back to a replay
            return None
        result = reply.get("result") if isinstance(reply, dict) else None
        if isinstance(result, dict) and result.get("error"):
            output = result.get("output")
            return str(output) if output else None
        return None


def _name(fn: Any) -> str:
    return str(getattr(fn, "fn_name", "constructor"))
