"""No child outlives its parent: SIGTERM unwinds like Ctrl-C, and children die with their parent.

- `raise_on_sigterm()` makes SIGTERM raise `Terminated` (a `KeyboardInterrupt`) in the main thread, so
  every `with` and `finally` that started a process stops it, as on Ctrl-C. Python's default for
  SIGTERM is to die on the spot, leaving those children running.
- `die_with_parent()` is a `preexec_fn` for `subprocess.Popen`: on Linux the child gets SIGTERM when
  its parent dies, even by SIGKILL (`PR_SET_PDEATHSIG`). The kernel ties this to the thread that
  started the child, so it is only used from the main thread; elsewhere it is None.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from collections.abc import Callable
from functools import cache
from types import FrameType

PR_SET_PDEATHSIG = 1


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: unwind and stop what was started."""


def raise_on_sigterm() -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise Terminated("SIGTERM")

    signal.signal(signal.SIGTERM, handler)


@cache
def prctl_function() -> Callable[..., int] | None:
    """libc's `prctl`, looked up once per process (None off Linux or without it). A fleet's parent looks
    it up before it forks: a lookup in each child made about 0.3 MB of its shared pages its own."""
    if sys.platform != "linux":
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


def die_with(parent: int) -> None:
    """In a child process: SIGTERM it when `parent` dies (Linux `PR_SET_PDEATHSIG`; elsewhere a no-op).
    A fork calls it first thing; `die_with_parent` hands it to `Popen` as its `preexec_fn`."""
    prctl = prctl_function()
    if prctl is None:
        return
    prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def die_with_parent() -> Callable[[], None] | None:
    if sys.platform != "linux" or threading.current_thread() is not threading.main_thread():
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork, not in the child
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec
