"""`die_with`: a forked child gets SIGTERM when the parent it names dies (Linux)."""

from __future__ import annotations

import os
import select
import sys
import time

import pytest

from base.signals import die_with, prctl_function


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
def test_a_child_dies_with_its_parent() -> None:
    assert prctl_function() is prctl_function()  # looked up once per process
    read, write = os.pipe()
    parent = os.fork()
    if parent == 0:  # the parent: forks the child, then dies
        os.close(read)
        child = os.fork()
        if child == 0:
            die_with(os.getppid())
            os.write(write, b"ready")
            time.sleep(30)  # still holding the pipe's write end unless SIGTERM ends it
            os._exit(0)
        os.close(write)
        time.sleep(0.5)
        os._exit(0)
    os.close(write)
    assert os.read(read, 5) == b"ready"
    os.waitpid(parent, 0)
    ready, _, _ = select.select([read], [], [], 10.0)
    assert ready and os.read(read, 1) == b"", "the child outlived its parent"  # EOF: the child is gone
    os.close(read)
