"""Following the market's events from the prosumer's own chain connection.

Polls the block number (one cheap call), and when blocks were added fetches the market's logs of
interest with `eth_getLogs` over a bounded block range (`range_blocks`, so a node that limits ranges,
or a long pause, never makes one call too big): FlexibilityRequested, RequestModified,
RequestCancelled, and the Selected / Displaced / ToppedUp events about this prosumer (the others'
are decoded and dropped).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from hexbytes import HexBytes

from contracts.bindings import MarketBinding
from contracts.events import MARKET, Cursor, EventDecoder, LogPager

log = logging.getLogger(__name__)

NAMES = ("FlexibilityRequested", "RequestModified", "RequestCancelled", "Selected", "Displaced", "ToppedUp")
ABOUT_ONE_PROSUMER = ("Selected", "Displaced", "ToppedUp")


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
        self.me = me.lower()
        self.cursor = Cursor(from_block)
        self.behind = False
        self.decoder = EventDecoder({MARKET: (market.address, list(market.contract.abi))})
        self.pager = LogPager(
            lambda params: self.chain.rpc(lambda: self.chain.w3.eth.get_logs(params), "market logs"),  # type: ignore[arg-type]
            self.head,
            [market.address],
            range_blocks,
        )
        self._topics = [[HexBytes(self.decoder.topic(MARKET, n)) for n in NAMES]]

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
        logs = self.pager.page(self.cursor, head, self._topics)
        self.behind = self.cursor.next_block <= head
        out = []
        for raw in logs:
            e = self.decoder.decode(raw)
            if e is None or (e.name in ABOUT_ONE_PROSUMER and str(e.args["prosumer"]).lower() != self.me):
                continue
            out.append(MarketEvent(e.name, int(e.args["requestId"]), e.args, e.block))
        return out
