"""Following the market's events from the prosumer's own chain connection.

Polls the block number (one cheap call), and when blocks were added fetches the market's logs of
interest with `eth_getLogs` over a bounded block range (`range_blocks`, so a node that limits ranges,
or a long pause, never makes one call too big): FlexibilityRequested, RequestModified,
RequestCancelled, and the Selected / Displaced events about this prosumer (filtered by their indexed
prosumer topic before decoding).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from hexbytes import HexBytes

from contracts.bindings import MarketBinding

log = logging.getLogger(__name__)

NAMES = ("FlexibilityRequested", "RequestModified", "RequestCancelled", "Selected", "Displaced")
ABOUT_ONE_PROSUMER = ("Selected", "Displaced")


@dataclass(frozen=True)
class MarketEvent:
    name: str
    request_id: int
    args: dict[str, Any]
    block: int


class EventFollower:
    def __init__(self, market: MarketBinding, me: str, from_block: int, range_blocks: int = 1_000) -> None:
        self.market = market
        self.chain = market.chain
        self.next_block = from_block
        self.range_blocks = range_blocks
        self.behind = False
        self._me_topic = HexBytes(bytes(12) + bytes.fromhex(me.removeprefix("0x")))
        self._by_topic = {HexBytes(market.contract.events[n]().topic): n for n in NAMES}

    def head(self) -> int:
        """The chain's block number (a raw call: no middleware, no formatters)."""
        reply: Any = self.chain.rpc(
            lambda: self.chain.w3.provider.make_request("eth_blockNumber", []),  # type: ignore[arg-type]
            "block number",
        )
        return int(reply["result"], 16)

    def poll(self) -> list[MarketEvent]:
        """Events in the blocks added since the last poll (at most `range_blocks` of them)."""
        head = self.head()
        if head < self.next_block:
            self.behind = False
            return []
        last = min(head, self.next_block + self.range_blocks - 1)
        params: Any = {
            "address": self.market.address,
            "fromBlock": self.next_block,
            "toBlock": last,
            "topics": [list(self._by_topic)],
        }
        logs = self.chain.rpc(lambda: self.chain.w3.eth.get_logs(params), "market logs")
        self.next_block = last + 1
        self.behind = last < head
        return [e for raw in logs if (e := self._decode(raw)) is not None]

    def _decode(self, raw: Any) -> MarketEvent | None:
        topics = raw["topics"]
        name = self._by_topic.get(HexBytes(topics[0]))
        if name is None:
            return None
        if name in ABOUT_ONE_PROSUMER and (len(topics) < 3 or HexBytes(topics[2]) != self._me_topic):
            return None
        args = dict(self.market.contract.events[name]().process_log(raw)["args"])
        return MarketEvent(name, int(args["requestId"]), args, int(raw["blockNumber"]))
