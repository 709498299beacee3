"""The console's `Controls` over a run's fleet (R15), through the paths the scenario's own events use.

- add: a new prosumer process in the run's fleet (`add I KIND CAPACITY_W` on its command pipe) with a
  new account of its own, funded first (R14); it gets the aggregator's consent and registers on chain
  as every prosumer does;
- remove: SIGUSR1 to that prosumer (it removes its DER contract on chain, then stops), as injected
  removals are;
- outage / renegotiate: a line in that prosumer's commands file (`prosumer.commands`): an outage in
  its DER's own schedule, new terms through its chain worker (with the aggregator's consent when a term
  goes up).
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from eth_account import Account

from base.errors import ConfigError
from console.controls import DerIn, FleetMember, RenegotiateIn
from contracts.sender import Sender
from simulation.funding import FundingPlan, fund
from simulation.launch import FleetLauncher

Progress = Callable[[str], None]


@dataclass
class FleetControls:
    fleet: FleetLauncher
    keys_file: Path
    state_dir: Path
    seed: int
    funder: Sender
    funding: FundingPlan
    progress: Progress
    key_for: Callable[[int], str] = field(default=lambda _i: "0x" + secrets.token_hex(32))
    clock_changes: bool = False  # the sandbox only: a run's results map one clock
    clock: dict[str, object] | None = None  # the last clock command, for the prosumers added after it
    added: set[int] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def members(self) -> list[FleetMember]:
        pids = self.fleet.pids()
        return [
            FleetMember(i, self.fleet.addresses[i], pids[i]["exit"] is None, i in self.added)
            for i in sorted(pids)
        ]

    def add(self, der: DerIn) -> str:
        with self._lock:  # one new index at a time
            keys = json.loads(self.keys_file.read_text())
            index = len(keys)
            key = self.key_for(index)
            address = Account.from_key(key).address
            fund(self.funder, self.funding, [address], self.progress)
            keys.append(key)
            self.keys_file.write_text(json.dumps(keys))
            self.fleet.addresses.append(address)
            words = ["add", str(index), der.kind, str(der.capacity_w)]
            words += [
                f"{k}={v}"
                for k, v in (("flex_up_w", der.flex_up_w), ("flex_down_w", der.flex_down_w))
                if v is not None
            ]
            self.fleet.command(" ".join(words), index, address)
            self.added.add(index)
        self.progress(f"console: added prosumer {index} ({der.kind}, {der.capacity_w} W, {address})")
        return f"prosumer {index} ({der.kind}, {der.capacity_w} W) starting as {address}"

    def remove(self, index: int) -> str:
        self._running(index)
        if not self.fleet.remove(index):
            raise ConfigError(f"prosumer {index} is not running")
        self.progress(f"console: removing prosumer {index}")
        return f"prosumer {index}: SIGUSR1, it removes its DER contract on chain and stops"

    def outage(self, index: int, duration_s: int) -> str:
        self._command(index, {"outage_s": duration_s})
        return f"prosumer {index}: outage from now for {duration_s} simulated s"

    def renegotiate(self, index: int, terms: RenegotiateIn) -> str:
        changes = terms.model_dump(exclude_none=True)
        if not changes:
            raise ConfigError("give at least one new term (flex up, flex down or a tariff)")
        self._command(index, {"renegotiate": changes})
        return f"prosumer {index}: renegotiation to {changes} asked (on chain after the open request)"

    def set_clock(self, sim_start: datetime, speed: float, real_start: float) -> str:
        if not self.clock_changes:
            raise ConfigError(
                "the clock can change in the console's sandbox only: a run's results (and its grid "
                "operator's schedule) map one clock, and prosumers the console did not start keep theirs"
            )
        command: dict[str, object] = {
            "clock": {"sim_start": sim_start.isoformat(), "speed": speed, "real_start": real_start}
        }
        self.clock = command
        members = self.fleet.pids()
        for index in members:  # started and stopped alike: one that starts later reads the last clock
            self._write(index, command)
        return f"{len(members)} prosumers and the aggregator at {speed:g}x from {sim_start:%Y-%m-%d %H:%M:%S}"

    def _running(self, index: int) -> None:
        record = self.fleet.pids().get(index)
        if record is None or record["exit"] is not None:
            raise ConfigError(f"prosumer {index} is not running")

    def _command(self, index: int, command: dict[str, object]) -> None:
        self._running(index)
        self._write(index, command)

    def _write(self, index: int, command: dict[str, object]) -> None:
        path = self.state_dir / f"prosumer-{self.seed}-{index}.commands.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as f:
            f.write(json.dumps(command) + "\n")
