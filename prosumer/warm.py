"""A fleet's parent runs once, before it forks, the code paths every prosumer runs at its setup.

What a library builds lazily the first time a path runs (web3's request formatters and middleware
wrappers, eth_abi's encoder and decoder caches, eth_account's transaction classes and the curve's
tables, the EIP-712 machinery, the first HTTP request) would otherwise be built by
every child for itself: measured on the fleet benchmark, a prosumer's funds check and registration
alone added 12 MB of private memory to it. Built once in the parent, it is shared copy-on-write.

Nothing here changes the chain: one throwaway account (no funds, never used again) reads its balance,
its registration and the market's state, estimates a registration (it reverts: decoded as a child's
would be), builds and signs that registration without sending it, signs a login message and a relayed
answer, and looks up a receipt that does not exist. Each step is best effort: a failure is logged and
the next step runs (a child then builds what that step would have built).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from hexbytes import HexBytes

from contracts.abi_function import EncodedCall
from contracts.consent import Consent
from contracts.deployment import Deployment
from contracts.sender import Sender
from domain.terms import Terms
from domain.vocabulary import AnswerAction, SourceKind

log = logging.getLogger(__name__)

THROWAWAY_KEY = "0x" + "11" * 32  # a well-known key: never funded, never sends anything
ZERO_HASH = HexBytes(bytes(32))


def warm_chain(d: Deployment, aggregator_url: str | None = None) -> int:
    """Runs the prosumer's setup paths once against `d` (and `aggregator_url`); returns how many of
    the steps succeeded."""
    from contracts.answers import sign_answer

    chain = d.chain
    sender = Sender(chain, THROWAWAY_KEY)
    me = sender.address
    terms = Terms(SourceKind.SOLAR, 5_000, 10_000, 1_000, 1_000, 3_600, 1, 1)

    def register() -> Any:  # an `EncodedCall` on raw JSON-RPC (`Chain.lean`), else web3's function
        return d.registry._call("register", terms.as_tuple(), 2**39, Consent.NONE.as_tuple())

    def sign() -> Any:
        call = register()
        tx: dict[str, Any] = {
            "value": 0,
            "gas": 500_000,
            "chainId": chain.chain_id,
            "nonce": 0,
            **chain.fee_fields(),
        }
        if isinstance(call, EncodedCall):
            params: Any = {**tx, "to": call.to, "data": call.data}
            return sender.account.sign_transaction(params)
        return sender.account.sign_transaction(call.build_transaction({**tx, "from": me}))

    lean = chain.lean

    steps: list[tuple[str, Callable[[], object]]] = [
        ("balance", lambda: chain.balance(me)),
        ("fees", chain.max_fee_per_gas),
        ("registration", lambda: d.registry.registration_of(me)),
        ("open request", d.market.current_request_id),
        ("commitment", lambda: d.market.commitment_of(1, me)),
        (
            "nonce",
            (lambda: lean.transaction_count(me, "pending"))
            if lean
            else lambda: chain.w3.eth.get_transaction_count(me, "pending"),
        ),
        ("estimate", lambda: sender.estimate(register())),
        ("sign", sign),
        (
            "receipt",
            (lambda: lean.receipt("0x" + ZERO_HASH.hex().removeprefix("0x")))
            if lean
            else lambda: chain.w3.eth.get_transaction_receipt(ZERO_HASH),
        ),
        ("event decoders", lambda: (d.market.event_decoder(), d.registry.event_decoder())),
        ("login signature", lambda: Account.sign_message(encode_defunct(text="warm"), THROWAWAY_KEY)),
        (
            "answer signature",
            lambda: sign_answer(
                THROWAWAY_KEY, chain.chain_id, d.market.address, 1, AnswerAction.ACCEPT_UP_TO, 1
            ),
        ),
    ]
    if aggregator_url:
        steps.append(("aggregator over base.wire_http", lambda: _plain_get(aggregator_url)))
    done = 0
    for what, step in steps:
        try:
            step()
            done += 1
        except Exception as exc:  # best effort: reverts, not found, unreachable are all expected
            log.debug("warm-up step %s: %s", what, exc)
            done += 1 if what in ("estimate", "receipt") else 0
    return done


def _plain_get(url: str) -> None:
    from prosumer.net import tls_context
    from prosumer.plain_http import PlainHttp

    http = PlainHttp(url, tls_context())
    try:
        http.request("GET", "/health", b"", {}, 5.0)
    finally:
        http.close()
