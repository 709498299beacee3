"""`contracts.events`: one decoder for live and exported logs, one pager in bounded ranges, a cursor."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.events import MARKET, REGISTRY, Cursor, EventDecoder, EventReader, LogPager
from contracts.types import Strategy
from tests.contracts.flows import accept_all, open_request, register

pytestmark = pytest.mark.chain


def test_the_reader_decodes_every_event_in_chain_order(deployment, aggregator, clock, prosumers):
    first = deployment.chain.w3.eth.block_number + 1
    register(deployment, clock, prosumers[:3])
    rid, _ = open_request(deployment, aggregator, clock, 1_500)
    accept_all(deployment, prosumers[:3], rid)

    events = EventReader(deployment, (REGISTRY, MARKET)).read(first)

    names = [e.name for e in events]
    assert names.count("Registered") == 3 and names.count("Accepted") == 3
    assert names.index("FlexibilityRequested") < names.index("Accepted")
    assert [e.position for e in events] == sorted(e.position for e in events)
    accepted = [e for e in events if e.name == "Accepted"]
    assert {e.args["prosumer"] for e in accepted} == {p.address for p in prosumers[:3]}
    assert all(e.contract == MARKET and e.args["requestId"] == rid for e in accepted)


def test_names_and_an_indexed_topic_filter_on_the_node(deployment, aggregator, clock, prosumers):
    first = deployment.chain.w3.eth.block_number + 1
    register(deployment, clock, prosumers[:2])
    rid, _ = open_request(deployment, aggregator, clock, 1_000, strategy=Strategy.REPUTATION)
    for p in prosumers[:2]:
        deployment.market.apply_for(p, rid)
    me = prosumers[1].address
    reader = EventReader(deployment, (MARKET,), names={"Applied"})
    reader.where(2, bytes(12) + bytes.fromhex(me[2:]))
    (only,) = reader.read(first)
    assert (only.name, only.args["prosumer"], only.args["reputation"]) == ("Applied", me, 500)
    assert deployment.market.request_events("Applied", rid, first) == [
        e.args for e in EventReader(deployment, (MARKET,), names={"Applied"}).read(first)
    ]


def test_exported_logs_decode_offline_like_live_ones(deployment, clock, prosumers):
    first = deployment.chain.w3.eth.block_number + 1
    register(deployment, clock, prosumers[:1])
    pager = LogPager.of(deployment)
    raw = [log for page in pager.pages(Cursor(first), pager.head()) for log in page]
    exported = [
        {
            "address": log["address"],
            "topics": ["0x" + bytes(t).hex() for t in log["topics"]],
            "data": "0x" + bytes(log["data"]).hex(),
            "blockNumber": int(log["blockNumber"]),
            "transactionHash": "0x" + bytes(log["transactionHash"]).hex(),
            "logIndex": int(log["logIndex"]),
        }
        for log in raw
    ]  # what simulation/chain_export.py writes to chain-logs.json
    live = EventDecoder.of(deployment)
    offline = EventDecoder(
        {
            REGISTRY: (deployment.registry.address, deployment.registry.contract.abi),
            MARKET: (deployment.market.address, deployment.market.contract.abi),
        }
    )  # no chain needed
    decoded = [offline.decode(x) for x in exported]
    assert [d for d in decoded if d is not None] == [
        e for e in (live.decode(x) for x in raw) if e is not None and e.contract != "FlexToken"
    ]
    assert any(d is not None and d.name == "Registered" for d in decoded)


def test_the_pager_asks_in_bounded_ranges_and_resumes_from_its_cursor():
    calls: list[tuple[int, int]] = []

    def get_logs(params: dict[str, Any]) -> list[Any]:
        calls.append((params["fromBlock"], params["toBlock"]))
        return []

    pager = LogPager(get_logs, lambda: 2_500, ["0x" + "11" * 20], range_blocks=1_000)
    cursor = Cursor(100)
    assert pager.page(cursor, 2_500) == [] and cursor.next_block == 1_100
    list(pager.pages(cursor, 2_500))
    assert calls == [(100, 1_099), (1_100, 2_099), (2_100, 2_500)]
    assert cursor.next_block == 2_501
    assert list(pager.pages(cursor, 2_500)) == []  # nothing new: no call
    assert len(calls) == 3
