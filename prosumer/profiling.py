"""A fleet child's CPU profile, for finding what a reading costs (`PROSUMER_PROFILE_DIR=DIR`).

With the variable set, each fleet child profiles every one of its threads with `cProfile` (the main
thread from the fork, each thread from its start) and writes `DIR/prosumer-<index>-<thread>.prof` when
the thread ends (the main thread: when the child stops). Read them with `python -m pstats`. Unset (the
default), nothing is patched. A profiled child runs several times slower: for finding where the time
goes, never for measuring how much.
"""

from __future__ import annotations

import cProfile
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

VARIABLE = "PROSUMER_PROFILE_DIR"


def profiled(index: int, body: Callable[[], int]) -> int:
    """Runs `body` (the child), profiling it and every thread it starts when `PROSUMER_PROFILE_DIR` is set."""
    where = os.environ.get(VARIABLE)
    if not where:
        return body()
    folder = Path(where)
    folder.mkdir(parents=True, exist_ok=True)
    run = threading.Thread.run

    def run_profiled(self: threading.Thread, *args: Any, **kwargs: Any) -> None:
        p = cProfile.Profile()
        p.enable()
        try:
            run(self, *args, **kwargs)
        finally:
            p.disable()
            p.dump_stats(folder / f"prosumer-{index}-{self.name}.prof")

    threading.Thread.run = run_profiled  # type: ignore[method-assign]
    main = cProfile.Profile()
    main.enable()
    try:
        return body()
    finally:
        main.disable()
        main.dump_stats(folder / f"prosumer-{index}-main.prof")
