"""Following the market's events from the prosumer's own chain connection.

The events of interest: FlexibilityRequested, RequestModified, RequestCancelled, and the Selected /
Displaced / ToppedUp events about this prosumer (the others' are decoded and dropped). Two ways:

- polled (no WebSocket URL): every round, the block number (one cheap call), and when blocks were
  added the market's logs with `eth_getLogs` over a bounded block range (`range_blocks`, so a node
  that limits ranges, or a long pause, never makes one call too big);
- pushed (`ws_url`): one `eth_subscribe("logs", {market, those topics})` over the process's own
  WebSocket connection; the node pushes each log as its block is added, and the process does nothing
  between events (no per-process polling: at 1,000 prosumers that was 1,000 calls a second to the node
  while no request was open). `wait` blocks on the socket; `poll` returns what arrived. After a
  (re)connection the blocks missed meanwhile are read once over HTTP from the cursor, so nothing is
  lost; a log seen twice (pushed and read) is dropped by its position.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from hexbytes import HexBytes
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from contracts.bindings import MarketBinding
from contracts.errors import RpcUnavailable
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


def market_decoder(market: MarketBinding) -> EventDecoder:
    """The decoder of `market`'s events, made once per process (a fleet's parent makes it before it
    forks, so its children share it instead of each building the ABI's event classes); the binding's
    own, so the events of its receipts decode with the same one."""
    decoder: EventDecoder = market.event_decoder()
    return decoder


class EventFollower:
    def __init__(
        self,
        market: MarketBinding,
        me: str,
        from_block: int,
        range_blocks: int = 1_000,
        ws_url: str | None = None,
        ws_timeout_s: float = 10.0,
    ) -> None:
        self.market = market
        self.chain = market.chain
        self.me = me.lower()
        self.cursor = Cursor(from_block)
        self.behind = False
        self.ws_url = ws_url
        self.ws_timeout_s = ws_timeout_s
        self._ws: Any = None
        self._pushed: list[dict[str, Any]] = []
        self._last = (-1, -1)  # (block, log index) of the last log handed out
        self.decoder = market_decoder(market)
        self.pager = LogPager(
            self._get_logs,
            self.head,
            [market.address],
            range_blocks,
        )
        self._topics = [[HexBytes(self.decoder.topic(MARKET, n)) for n in NAMES]]

    def _get_logs(self, params: dict[str, Any]) -> list[Any]:
        lean = self.chain.lean
        if lean is not None:
            return self.chain.rpc(lambda: lean.get_logs(params), "market logs")
        return list(self.chain.rpc(lambda: self.chain.w3.eth.get_logs(params), "market logs"))  # type: ignore[arg-type]

    def head(self) -> int:
        """The chain's block number (a raw call: no middleware, no formatters)."""
        lean = self.chain.lean
        if lean is not None:
            return self.chain.rpc(lean.block_number, "block number")
        reply: Any = self.chain.rpc(
            lambda: self.chain.w3.provider.make_request("eth_blockNumber", []),  # type: ignore[arg-type]
            "block number",
        )
        return int(reply["result"], 16)

    @property
    def pushed(self) -> bool:
        return self.ws_url is not None

    def poll(self) -> list[MarketEvent]:
        """Events since the last poll: polled, those of the blocks added (at most `range_blocks` of
        them); pushed, those that arrived (after a reconnection, the missed blocks read first)."""
        if self.ws_url is not None:
            return self._decode(self._from_socket())
        head = self.head()
        logs = self.pager.page(self.cursor, head, self._topics)
        self.behind = self.cursor.next_block <= head
        return self._decode(logs)

    @property
    def connected(self) -> bool:
        """Pushed: subscribed now (the next poll reconnects when not)."""
        return self._ws is not None

    @property
    def has_pending(self) -> bool:
        """Pushed logs that arrived and were not handed out yet."""
        return bool(self._pushed)

    def wait(self, timeout_s: float) -> None:
        """Pushed: blocks until a log arrives or `timeout_s` passes (polled: returns at once)."""
        if self._ws is None or self._pushed:
            return
        self._receive(timeout_s)

    def close(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            try:
                ws.close()
            except Exception:  # closing a broken socket: nothing left to do
                pass

    # ------------------------------------------------------------------ pushed

    def _from_socket(self) -> list[Any]:
        raws: list[Any] = []
        if self._ws is None:
            self._subscribe()
            head = self.head()  # what was added while not subscribed, once over HTTP
            while self.cursor.next_block <= head:
                raws.extend(self.pager.page(self.cursor, head, self._topics))
        else:
            self._receive(0.0)
        raws.extend(self._pushed)
        self._pushed = []
        return raws

    def _subscribe(self) -> None:
        from websockets.sync.client import connect

        assert self.ws_url is not None
        try:
            ws = connect(
                self.ws_url, open_timeout=self.ws_timeout_s, max_size=2**24, compression=None, legacy=True
            )
            topics = [["0x" + bytes(t).hex() for t in self._topics[0]]]
            params = ["logs", {"address": self.market.address, "topics": topics}]
            ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": params}))
            reply = json.loads(ws.recv(timeout=self.ws_timeout_s))
        except (OSError, TimeoutError, ValueError, ConnectionClosed, InvalidHandshake) as exc:
            raise RpcUnavailable(f"cannot subscribe to the market's events at {self.ws_url}: {exc}") from None
        if "result" not in reply:
            ws.close()
            raise RpcUnavailable(f"the node at {self.ws_url} refused the logs subscription: {reply}")
        self._ws = ws
        log.info("market events pushed over %s (subscription %s)", self.ws_url, reply["result"])

    def _receive(self, timeout_s: float) -> None:
        """Reads what the socket holds (waiting at most `timeout_s` for the first message)."""
        try:
            message = self._ws.recv(timeout=timeout_s)
            while True:
                data = json.loads(message)
                if data.get("method") == "eth_subscription":
                    self._pushed.append(_as_read(data["params"]["result"]))
                message = self._ws.recv(timeout=0)
        except TimeoutError:
            return
        except (OSError, ValueError, ConnectionClosed) as exc:
            log.warning("the event subscription at %s broke (%s): reconnecting", self.ws_url, exc)
            self.close()  # the next poll reconnects and reads the missed blocks over HTTP

    # ------------------------------------------------------------------ decoding

    def _decode(self, logs: list[Any]) -> list[MarketEvent]:
        out = []
        for raw in logs:
            if raw.get("removed"):
                continue
            position = (_int(raw["blockNumber"]), _int(raw["logIndex"]))
            if position <= self._last:
                continue  # seen already (pushed and read after a reconnection)
            self._last = position
            self.cursor.next_block = max(self.cursor.next_block, position[0])
            e = self.decoder.decode(raw)
            if e is None or (e.name in ABOUT_ONE_PROSUMER and str(e.args["prosumer"]).lower() != self.me):
                continue
            out.append(MarketEvent(e.name, int(e.args["requestId"]), e.args, e.block))
        return out


def _int(value: Any) -> int:
    return int(value, 0) if isinstance(value, str) else int(value)


def _as_read(raw: dict[str, Any]) -> dict[str, Any]:
    """A pushed log (quantities as hex strings) in the shape `eth_getLogs` gives the decoder."""
    for k in ("blockNumber", "logIndex", "transactionIndex"):
        if k in raw:
            raw[k] = _int(raw[k])
    return raw
