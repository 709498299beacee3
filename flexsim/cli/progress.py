"""Progress lines of long commands: on stderr, so stdout stays the command's result (JSON, a path)."""

from __future__ import annotations

import sys


def progress(message: str) -> None:
    print(f"· {message}", file=sys.stderr, flush=True)
