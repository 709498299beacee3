"""One way to read the contracts' events: typed records, one decoder, one pager with a resumable cursor.

- `ChainEvent` is a decoded event: contract, name, arguments, block, log index, transaction.
- `EventDecoder` maps a raw log (as web3 returns it, or as `chain_export` wrote it to JSON) of the
  deployment's contracts to a `ChainEvent`, by address and topic, with the ABIs the deployment carries.
- `LogPager` reads raw logs in bounded block ranges (a node that limits `eth_getLogs` ranges, or a long
  pause, never makes one call too big), from a `Cursor` it advances, so a reader can stop and resume.
- `EventReader` puts both together, with optional filters (contracts, event names, an indexed topic)
  and block timestamps on demand.

Chain sync, result collection, the raw-log export, the prosumers' event follower and the registry's
history all read through here. The independent audit (`scripts/audit_run.py`) stays independent on
purpose: it decodes with plain web3 and the ABI files only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eth_utils import event_abi_to_log_topic, to_checksum_address
from hexbytes import HexBytes
from web3 import Web3

if TYPE_CHECKING:
    from contracts.deployment import Deployment

RANGE_BLOCKS = 2_000
"""Most blocks one `eth_getLogs` call asks for (nodes commonly refuse more than a few thousand)."""

REGISTRY, TOKEN, MARKET = "Registry", "FlexToken", "FlexibilityMarket"
ANCHOR = "SettlementAnchor"


@dataclass(frozen=True)
class ChainEvent:
    contract: str  # "Registry", "FlexToken" or "FlexibilityMarket"
    name: str
    args: dict[str, Any]
    block: int
    log_index: int
    tx_hash: str  # 0x-prefixed

    @property
    def position(self) -> tuple[int, int]:
        """Where it happened: events sort by (block, log index)."""
        return (self.block, self.log_index)


@dataclass
class Cursor:
    """The next block to read. A reader that persists it resumes where it stopped."""

    next_block: int


def _bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return bytes.fromhex(value.removeprefix("0x"))
    return bytes(value)


class EventDecoder:
    """Decodes the raw logs of a deployment's contracts; other logs decode to None."""

    def __init__(self, contracts: Mapping[str, tuple[str, Sequence[Mapping[str, Any]]]]) -> None:
        """`contracts`: name -> (address, ABI). Needs no chain: a finished run's logs decode offline."""
        w3 = Web3()
        self.addresses = {name: to_checksum_address(address) for name, (address, _) in contracts.items()}
        self._events: dict[tuple[str, bytes], tuple[str, Any]] = {}
        self._topics: dict[tuple[str, str], bytes] = {}
        for name, (address, abi) in contracts.items():
            contract = w3.eth.contract(address=to_checksum_address(address), abi=list(abi))
            for item in abi:
                if item.get("type") == "event":
                    topic = bytes(event_abi_to_log_topic(dict(item)))  # type: ignore[arg-type]
                    self._events[(address.lower(), topic)] = (name, contract.events[item["name"]]())
                    self._topics[(name, str(item["name"]))] = topic

    @classmethod
    def of(cls, d: Deployment) -> EventDecoder:
        bindings = {REGISTRY: d.registry, TOKEN: d.token, MARKET: d.market, ANCHOR: d.anchor}
        return cls({name: (b.address, list(b.contract.abi)) for name, b in bindings.items()})

    def topic(self, contract: str, name: str) -> bytes:
        """The first topic (signature hash) of `contract`'s event `name`; `KeyError` if it has none."""
        return self._topics[(contract, name)]

    def has(self, contract: str, name: str) -> bool:
        return (contract, name) in self._topics

    def decode(self, raw: Mapping[str, Any]) -> ChainEvent | None:
        topics = [_bytes(t) for t in raw["topics"]]
        if not topics:
            return None
        known = self._events.get((str(raw["address"]).lower(), topics[0]))
        if known is None:
            return None
        contract, event = known
        log = {
            "address": to_checksum_address(str(raw["address"])),
            "topics": [HexBytes(t) for t in topics],
            "data": HexBytes(_bytes(raw["data"])),
            "blockNumber": int(raw["blockNumber"]),
            "transactionHash": HexBytes(_bytes(raw["transactionHash"])),
            "transactionIndex": int(raw.get("transactionIndex", 0)),
            "blockHash": HexBytes(_bytes(raw.get("blockHash", b"\x00" * 32))),
            "logIndex": int(raw["logIndex"]),
        }
        data = event.process_log(log)
        return ChainEvent(
            contract=contract,
            name=str(data["event"]),
            args=dict(data["args"]),
            block=int(raw["blockNumber"]),
            log_index=int(raw["logIndex"]),
            tx_hash="0x" + _bytes(raw["transactionHash"]).hex(),
        )


class LogPager:
    """Raw logs of some addresses in bounded block ranges, from a cursor it advances."""

    def __init__(
        self,
        get_logs: Callable[[dict[str, Any]], Iterable[Any]],
        head: Callable[[], int],
        addresses: Sequence[str],
        range_blocks: int = RANGE_BLOCKS,
    ) -> None:
        self._get_logs, self._head = get_logs, head
        self.addresses = [to_checksum_address(a) for a in addresses]
        self.range_blocks = range_blocks

    @classmethod
    def of(
        cls,
        d: Deployment,
        contracts: Sequence[str] = (REGISTRY, TOKEN, MARKET),
        range_blocks: int = RANGE_BLOCKS,
    ) -> LogPager:
        chain = d.chain
        addresses = {
            REGISTRY: d.registry.address,
            TOKEN: d.token.address,
            MARKET: d.market.address,
            ANCHOR: d.anchor.address,
        }
        return cls(
            lambda params: chain.rpc(lambda: chain.w3.eth.get_logs(params), "get logs"),  # type: ignore[arg-type]
            lambda: int(chain.rpc(lambda: chain.w3.eth.block_number, "block number")),
            [addresses[c] for c in contracts],
            range_blocks,
        )

    def head(self) -> int:
        return self._head()

    def page(self, cursor: Cursor, to_block: int, topics: Sequence[Any] | None = None) -> list[Any]:
        """The logs of at most `range_blocks` blocks from `cursor` up to `to_block`; advances the cursor
        (when `cursor.next_block > to_block`, nothing is read)."""
        if cursor.next_block > to_block:
            return []
        last = min(to_block, cursor.next_block + self.range_blocks - 1)
        params: dict[str, Any] = {"address": self.addresses, "fromBlock": cursor.next_block, "toBlock": last}
        if topics is not None:
            params["topics"] = list(topics)
        logs = list(self._get_logs(params))
        cursor.next_block = last + 1
        return logs

    def pages(
        self, cursor: Cursor, to_block: int, topics: Sequence[Any] | None = None
    ) -> Iterator[list[Any]]:
        """Every page up to `to_block` (inclusive), one bounded call each."""
        while cursor.next_block <= to_block:
            yield self.page(cursor, to_block, topics)


class EventReader:
    """Decoded events of a deployment, read page by page; optionally only some names, or those whose
    indexed argument at `topic_index` (1-based, after the signature) equals `topic_value`."""

    def __init__(
        self,
        d: Deployment,
        contracts: Sequence[str] = (REGISTRY, TOKEN, MARKET),
        names: Iterable[str] | None = None,
        range_blocks: int = RANGE_BLOCKS,
    ) -> None:
        self.d = d
        self.decoder = EventDecoder.of(d)
        self.pager = LogPager.of(d, contracts, range_blocks)
        self.names = set(names) if names is not None else None
        self._topics: list[Any] | None = None
        if self.names is not None:
            wanted = [(c, n) for c in contracts for n in self.names if self.decoder.has(c, n)]
            self._topics = [[HexBytes(self.decoder.topic(c, n)) for c, n in wanted]]
        self._stamps: dict[int, int] = {}

    def where(self, topic_index: int, value: bytes) -> EventReader:
        """Only events whose indexed argument number `topic_index` (1-based) is `value` (32 bytes)."""
        topics: list[Any] = list(self._topics or [None])
        while len(topics) <= topic_index:
            topics.append(None)
        topics[topic_index] = HexBytes(value)
        self._topics = topics
        return self

    def page(self, cursor: Cursor, to_block: int | None = None) -> list[ChainEvent]:
        """One bounded page of decoded events from `cursor`, in chain order; advances the cursor."""
        last = self.pager.head() if to_block is None else to_block
        return self._decoded(self.pager.page(cursor, last, self._topics))

    def read(self, from_block: int, to_block: int | None = None) -> list[ChainEvent]:
        """Every event from `from_block` to `to_block` (default: the head), in chain order."""
        last = self.pager.head() if to_block is None else to_block
        cursor = Cursor(from_block)
        out: list[ChainEvent] = []
        for logs in self.pager.pages(cursor, last, self._topics):
            out.extend(self._decoded(logs))
        return out

    def timestamp(self, block: int) -> int:
        """The block's timestamp (cached)."""
        if block not in self._stamps:
            chain = self.d.chain
            self._stamps[block] = int(chain.rpc(lambda: chain.w3.eth.get_block(block), "block")["timestamp"])
        return self._stamps[block]

    def _decoded(self, logs: Iterable[Any]) -> list[ChainEvent]:
        events = [e for raw in logs if (e := self.decoder.decode(raw)) is not None]
        if self.names is not None:
            events = [e for e in events if e.name in self.names]
        events.sort(key=lambda e: e.position)
        return events


def address_topic(address: str) -> bytes:
    """An address as an indexed event topic (left-padded to 32 bytes)."""
    return bytes(12) + bytes.fromhex(address.removeprefix("0x"))


def uint_topic(value: int) -> bytes:
    """An unsigned integer as an indexed event topic."""
    return value.to_bytes(32, "big")
