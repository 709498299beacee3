"""A prosumer process's own memory, for the fleet's record of where its private memory goes.

`private_kb()` reads `/proc/self/smaps_rollup` (Linux): the pages only this process holds (USS =
Private_Clean + Private_Dirty), i.e. what one more prosumer costs a fleet. A fleet child logs it after
the fork, once set up and after its first readings (`memory_stages`), so a run's logs say which stage
each megabyte came from. None where the file does not exist.
"""

from __future__ import annotations

ROLLUP = "/proc/self/smaps_rollup"


def parse_private_kb(text: str) -> int:
    """Private_Clean + Private_Dirty (kB) of an smaps_rollup text."""
    total = 0
    for line in text.splitlines():
        if line.startswith(("Private_Clean:", "Private_Dirty:")):
            total += int(line.split()[1])
    return total


def private_kb(path: str = ROLLUP) -> int | None:
    try:
        with open(path) as f:
            return parse_private_kb(f.read())
    except OSError:
        return None
