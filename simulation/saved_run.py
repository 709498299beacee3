"""A finished run, read back from its folder alone: what `flexsim run` and `flexsim report RUN_DIR` render.

A strategy's folder (`<run>/<strategy>/`) keeps everything the report is made of:

- `chain-logs.json`: the chain's record (`simulation.chain_export`), decoded here with the ABIs of
  `deployment/manifest.json`, so no chain is needed;
- `aggregator.db`: the aggregator's SQLite database (readings, requests, responses);
- `clock.json`: the run's clock (simulated start, real start, speed) and the scenario's duration;
- `grid_operator.json`, `prosumers.json` (starts and removals), the watch (`blocks.csv`, `txpool.csv`,
  `metrics.csv`) and `logs/prosumer-NNNN.log`, whose decline lines give each prosumer's own words.

`flexsim run` renders its report through `load_run` too, so a re-render shows what the run showed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contracts.events import ANCHOR, MARKET, REGISTRY, EventDecoder
from contracts.manifest import Manifest
from simulation import watch
from simulation.collect import ChainEvent, ChainFacts, ClockMapping, RunData, collect_run
from simulation.errors import RunFolderError
from simulation.notices import read_notices

CHAIN_LOGS = "chain-logs.json"
CLOCK = "clock.json"
MANIFEST = Path("deployment") / "manifest.json"
DATABASE = "aggregator.db"
DECLINE_LINE = re.compile(r"request (\d+): declined \(([^:]+): (.*)\) \(tx (0x[0-9a-fA-F]{64})\)")
"""What a prosumer logs when it declines (`prosumer.chain_side.ChainSide.decline`)."""


@dataclass(frozen=True)
class SavedClock:
    clock: ClockMapping
    duration_s: float | None  # the scenario's simulated duration (None: unknown)
    resolution_s: int  # simulated seconds per power bucket
    block_time_s: float = 0.0  # the chain's block time (0: a block per transaction)

    def to_json(self) -> str:
        c = self.clock
        return json.dumps(
            {
                "sim_start_epoch_s": c.sim_start,
                "sim_start": datetime.fromtimestamp(c.sim_start, UTC).isoformat(),
                "real_start_epoch_s": c.real_start,
                "speed": c.speed,
                "duration_s": self.duration_s,
                "power_resolution_s": self.resolution_s,
                "block_time_s": self.block_time_s,
            },
            indent=2,
        )


def write_clock(folder: Path, saved: SavedClock) -> None:
    (folder / CLOCK).write_text(saved.to_json())


def read_clock(folder: Path) -> SavedClock:
    data = _json(folder / CLOCK)
    try:
        clock = ClockMapping(
            float(data["sim_start_epoch_s"]), float(data["real_start_epoch_s"]), float(data["speed"])
        )
        return SavedClock(
            clock,
            None if data["duration_s"] is None else float(data["duration_s"]),
            int(data["power_resolution_s"]),
            float(data.get("block_time_s", 0.0)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RunFolderError(f"{folder / CLOCK} is not a run clock ({exc!r}): re-run the scenario") from None


def decoder(folder: Path) -> EventDecoder:
    """The decoder of the deployment the folder's manifest names (its ABIs beside it)."""
    path = folder / MANIFEST
    if not path.is_file():
        raise RunFolderError(f"{path} is missing: a strategy folder of `flexsim run` keeps its deployment")
    manifest = Manifest.load(path)
    c = manifest.contracts
    contracts = {
        REGISTRY: (c.registry, manifest.abi("Registry")),
        "FlexToken": (c.token, manifest.abi("FlexToken")),
        MARKET: (c.market, manifest.abi("FlexibilityMarket")),
    }
    if "SettlementAnchor" in manifest.abis:
        contracts[ANCHOR] = (c.anchor, manifest.abi("SettlementAnchor"))
    return EventDecoder(contracts)


def chain_facts(record: dict[str, Any], dec: EventDecoder) -> ChainFacts:
    """A chain record (the shape of `chain-logs.json`) decoded into what the report reads."""
    missing = [
        k for k in ("chain_id", "logs", "block_timestamps", "transactions", "state") if k not in record
    ]
    if missing:
        raise RunFolderError(
            f"the chain record lacks {', '.join(missing)} (written by an older flexsim?): re-run the "
            "scenario, or render it live with `flexsim report RUN_DIR --rpc-url URL` while its chain "
            "still runs"
        )
    stamps = {int(k): int(v) for k, v in record["block_timestamps"].items()}
    events = []
    for raw in sorted(record["logs"], key=lambda r: (int(r["blockNumber"]), int(r["logIndex"]))):
        e = dec.decode(raw)
        if e is None or e.contract not in (REGISTRY, MARKET):
            continue
        events.append(
            ChainEvent(
                "Registry" if e.contract == REGISTRY else "Market",
                e.name,
                e.args,
                e.block,
                stamps.get(e.block, 0),
                e.tx_hash,
            )
        )
    txs = record["transactions"]
    return ChainFacts(
        chain_id=int(record["chain_id"]),
        events=events,
        tx_gas={h: int(t["gas_used"]) for h, t in txs.items()},
        tx_function={h: str(t["function"]) for h, t in txs.items()},
        tx_gas_price={h: int(t["gas_price_wei"]) for h, t in txs.items()},
        balances={p: int(v) for p, v in record["state"]["balances"].items()},
        reputations={p: int(v) for p, v in record["state"]["reputations"].items()},
    )


def read_chain(folder: Path) -> ChainFacts:
    """The chain's record kept in the folder, decoded offline."""
    return chain_facts(_json(folder / CHAIN_LOGS), decoder(folder))


def explanations(logs: Path) -> dict[str, str]:
    """Decline transaction -> the prosumer's own explanation, from the prosumers' logs."""
    out: dict[str, str] = {}
    for path in sorted(logs.glob("prosumer-*.log")):
        with path.open(errors="replace") as f:
            for line in f:
                if "declined (" in line and (m := DECLINE_LINE.search(line)):
                    out[m.group(4).lower()] = m.group(3).strip()
    return out


def load_run(
    folder: Path, strategy: str, chain: ChainFacts | None = None, database_url: str | None = None
) -> RunData:
    """One strategy's run from its folder; `chain` instead of the saved record (e.g. read live),
    `database_url` instead of the folder's `aggregator.db`."""
    if database_url is None:
        if not (folder / DATABASE).is_file():
            raise RunFolderError(f"{folder / DATABASE} is missing: is {folder} a strategy folder of a run?")
        database_url = f"sqlite:///{folder / DATABASE}"
    saved = read_clock(folder)
    facts = chain if chain is not None else read_chain(folder)
    data = collect_run(facts, database_url, strategy, saved.clock, saved.resolution_s)
    data.duration_s = saved.duration_s
    if (folder / "grid_operator.json").is_file():
        data.grid = _json(folder / "grid_operator.json")
    if (folder / "prosumers.json").is_file():
        data.launches = _json(folder / "prosumers.json")
    data.watch = watch.load(folder)
    data.explanations = explanations(folder / "logs")
    data.notices = read_notices(folder / "logs")
    return data


def strategies_in(run_dir: Path) -> list[str]:
    """The strategies a run folder holds, in the order they ran (fair before reputation)."""
    found = [s for s in ("fair", "reputation") if (run_dir / s / DATABASE).is_file()]
    if not found:
        raise RunFolderError(
            f"{run_dir} holds no strategy folder with an aggregator.db (fair/, reputation/): "
            "give the folder `flexsim run` wrote (results/<scenario>-<time>)"
        )
    return found


def _json(path: Path) -> Any:
    if not path.is_file():
        raise RunFolderError(f"{path} is missing: re-run the scenario with this flexsim to keep it")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise RunFolderError(f"{path} is not valid JSON ({exc}): the run did not finish writing it") from None
