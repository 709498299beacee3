"""At most `slots` prosumers of a fleet setting up at once (`python -m prosumer fleet --setup-slots K`).

A prosumer's setup (its DER model, the funds check, the aggregator's consent, the registration
transaction, the open request) is the costliest thing it does, and it talks to the aggregator's login
(a challenge per consent). A thousand children setting up together on two cores time each other out:
every challenge whose answer a timed-out child never read stays pending at the aggregator until it
expires, and all children share one client address (127.0.0.1), whose pending challenges the
aggregator bounds (`AGGREGATOR_CHALLENGES_PER_CLIENT`, 256): beyond, 429 until the oldest expires.
Measured at 1,000 before this gate: 1,117 such 429s and 719 timeouts, 240 prosumers streaming after
561 s (docs/scale.md).

The gate keeps the abuse bound as it is and lets each setup run at the speed of an unloaded machine:
slot I is the lock file `<dir>/slot-I`, held with `flock` (so a child that dies frees its slot: the
kernel drops its locks). Prosumer N waits for slot `N % slots`, trying it every `poll_s` (jittered)
without blocking, so a stop request is seen while it waits. Waiting costs a few wake-ups a second and
nothing else.
"""

from __future__ import annotations

import fcntl
import logging
import os
import random
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

POLL_S = 0.25


class SetupGate:
    def __init__(self, directory: Path, slots: int, index: int, poll_s: float = POLL_S) -> None:
        if slots < 1:
            raise ValueError("a setup gate needs at least one slot")
        self.path = directory / f"slot-{index % slots}"
        self.poll_s = poll_s
        self._fd: int | None = None

    def acquire(self, stop: threading.Event) -> bool:
        """Holds the slot; False when `stop` was set first."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        started = time.monotonic()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if stop.wait(self.poll_s * (0.5 + random.random())):
                    os.close(fd)
                    return False
        self._fd = fd
        waited = time.monotonic() - started
        if waited >= 1.0:
            log.info("setting up after %.1f s in the fleet's setup queue (%s)", waited, self.path.name)
        return True

    def release(self) -> None:
        """Frees the slot (closing the file drops the lock); again is harmless."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None
