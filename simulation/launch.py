"""Starting a run's prosumers: one forked fleet (`python -m prosumer fleet --on-command`) driven step by
step through the ramp, and injected removals delivered to the right child.

The fleet's parent preloads the imports, population and profiles of every prosumer of the scenario
once; each `start` command forks the named prosumers (each its own OS process, account and
connections, about 22 MB of private memory instead of about 70 MB for a `python -m prosumer` of its
own). Keys come from a keys file in the run folder (mode 0600). The parent keeps a pid map, which is
how a removal reaches its prosumer: SIGUSR1 to that child, which removes its DER contract on chain
and stops. Closing the command pipe (or SIGTERM to the parent) stops every prosumer.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account

from base.errors import FlexsimError
from base.settings_env import to_env
from prosumer.settings import ProsumerSettings
from simulation.processes import Child, ProcessGroup
from simulation.ramp import Removal

log = logging.getLogger(__name__)
Progress = Callable[[str], None]

FLEET_STOP_TIMEOUT_S = 40.0  # children flush their readings (5 s) or finish a removal first
FLEET_STOP_PER_PROSUMER_S = 0.05  # ... and 1,000 children wind down on two cores (about 40 s more)


@dataclass
class LaunchEvent:
    real_t: float
    index: int
    kind: str  # "start" or "remove"
    address: str
    pid: int | None = None


@dataclass
class FleetLauncher:
    """Drives one fleet parent; records when each prosumer started or was removed."""

    child: Child
    pid_map: Path
    addresses: list[str]
    events: list[LaunchEvent] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        group: ProcessGroup,
        out: Path,
        env: dict[str, str],
        keys: list[str],
        stagger_ms: float,
    ) -> FleetLauncher:
        """Starts the fleet's parent (it preloads everything, then waits for commands)."""
        keys_file = out / "fleet-keys.json"
        keys_file.touch(mode=0o600)
        keys_file.chmod(0o600)
        keys_file.write_text(json.dumps(keys))
        pid_map = out / "fleet-pids.json"
        args = [
            "fleet", "--on-command", "--count", str(len(keys)), "--first", "0",
            "--keys-file", str(keys_file), "--pid-map", str(pid_map),
            "--log-dir", str(group.log_dir), "--stagger-ms", str(stagger_ms),
        ]  # fmt: skip
        fleet_env = {**env, **to_env(ProsumerSettings, {"state_dir": out / "prosumers"})}
        stop_timeout_s = FLEET_STOP_TIMEOUT_S + FLEET_STOP_PER_PROSUMER_S * len(keys)
        child = group.start(
            "fleet", "prosumer", fleet_env, args, stdin_pipe=True, stop_timeout_s=stop_timeout_s
        )
        return cls(child, pid_map, [Account.from_key(k).address for k in keys])

    def stop(self, group: ProcessGroup) -> int | None:
        """Stops the fleet (SIGTERM: every child flushes its buffered readings, then exits); its exit code."""
        return group.stop(self.child)

    def launch(self, indices: list[int]) -> None:
        """Asks the fleet to fork these prosumers (`stagger_ms` apart, in the fleet)."""
        if not indices:
            return
        self.check()
        stdin = self.child.process.stdin
        assert stdin is not None
        try:
            stdin.write(("start " + " ".join(str(i) for i in indices) + "\n").encode())
            stdin.flush()
        except BrokenPipeError:
            self.check()
            raise
        now = time.time()
        self.events.extend(LaunchEvent(now, i, "start", self.addresses[i]) for i in indices)

    def command(self, line: str, index: int, address: str) -> None:
        """Any other fleet command (`add I KIND CAPACITY_W ...`: a DER added by the console)."""
        self.check()
        stdin = self.child.process.stdin
        assert stdin is not None
        stdin.write((line + "\n").encode())
        stdin.flush()
        self.events.append(LaunchEvent(time.time(), index, "start", address))

    def wait_ready(self, timeout_s: float) -> None:
        """Waits until the fleet's parent has loaded what it needs and listens (its pid map is written
        then), so the simulated clock does not start while it is still importing."""
        deadline = time.time() + timeout_s
        while not self.pid_map.is_file():
            self.check()
            if time.time() > deadline:
                raise FlexsimError(
                    f"the prosumer fleet was not ready within {timeout_s:.0f} s: see {self.child.log_path}"
                )
            time.sleep(0.2)

    def set_clock(self, real_start: float) -> None:
        """Tells the fleet when the simulated clock starts (for the prosumers it forks from now on)."""
        stdin = self.child.process.stdin
        assert stdin is not None
        stdin.write(f"clock {real_start!r}\n".encode())
        stdin.flush()

    def pids(self) -> dict[int, dict[str, Any]]:
        """The fleet's pid map: index -> {pid, exit (None while running)}."""
        try:
            return {int(k): v for k, v in json.loads(self.pid_map.read_text()).items()}
        except (OSError, ValueError):
            return {}

    def running(self) -> int:
        return sum(1 for r in self.pids().values() if r["exit"] is None)

    def remove(self, index: int) -> bool:
        """SIGUSR1 to prosumer `index` (it removes its DER contract, then stops); False when it is
        not running."""
        record = self.pids().get(index)
        if record is None or record["exit"] is not None:
            return False
        try:
            os.kill(int(record["pid"]), signal.SIGUSR1)
        except ProcessLookupError:
            return False
        self.events.append(LaunchEvent(time.time(), index, "remove", self.addresses[index], record["pid"]))
        return True

    def check(self) -> None:
        if not self.child.running:
            raise FlexsimError(
                f"the prosumer fleet stopped (exit {self.child.process.returncode}); see "
                f"{self.child.log_path}:\n{self.child.tail()}"
            )

    def write(self, path: Path) -> None:
        path.write_text(json.dumps([e.__dict__ for e in self.events], indent=1))


@dataclass(frozen=True)
class RampStep:
    """Prosumers that arrive together (a step of the ramp), `at_s` simulated seconds in."""

    at_s: float
    indices: tuple[int, ...]

    def launch(self, fleet: FleetLauncher, progress: Progress) -> None:
        if self.at_s > 0:
            progress(f"adding {len(self.indices)} prosumers (DER arrivals)")
        fleet.launch(list(self.indices))


@dataclass(frozen=True)
class RemovalStep:
    """An injected removal, as a step of the run's timeline."""

    removal: Removal

    @property
    def at_s(self) -> float:
        return self.removal.at_s

    def launch(self, fleet: FleetLauncher, progress: Progress) -> None:
        i = self.removal.index
        if fleet.remove(i):
            progress(f"removing prosumer {i} ({fleet.addresses[i]}): SIGUSR1, it removes its DER contract")
        else:
            progress(f"prosumer {i} is not running: nothing to remove")
