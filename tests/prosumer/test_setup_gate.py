"""The fleet's setup queue: one prosumer per slot sets up; a stop ends the wait; a dead holder frees it."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from prosumer.net import jittered
from prosumer.setup_gate import SetupGate


def test_a_slot_is_held_by_one_prosumer_at_a_time(tmp_path: Path) -> None:
    first, second = SetupGate(tmp_path, 2, 0, poll_s=0.01), SetupGate(tmp_path, 2, 2, poll_s=0.01)
    other_slot = SetupGate(tmp_path, 2, 1, poll_s=0.01)
    assert first.acquire(threading.Event())
    assert other_slot.acquire(threading.Event())  # prosumer 1 has a slot of its own
    stop = threading.Event()
    got: list[bool] = []
    waiter = threading.Thread(target=lambda: got.append(second.acquire(stop)))
    waiter.start()
    waiter.join(0.3)
    assert waiter.is_alive() and not got  # prosumer 2 waits for prosumer 0's slot
    first.release()
    waiter.join(5.0)
    assert got == [True] and second.held
    second.release()
    second.release()  # again is harmless
    other_slot.release()


def test_a_stop_ends_the_wait(tmp_path: Path) -> None:
    holder, waiter = SetupGate(tmp_path, 1, 0), SetupGate(tmp_path, 1, 1, poll_s=0.01)
    assert holder.acquire(threading.Event())
    stop = threading.Event()
    stop.set()
    assert not waiter.acquire(stop)
    assert not waiter.held
    holder.release()


def test_a_prosumer_that_dies_frees_its_slot(tmp_path: Path) -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child takes the slot, says so, and dies holding it
        ok = SetupGate(tmp_path, 1, 0).acquire(threading.Event())
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    assert os.read(read, 1) == b"1"
    os.waitpid(pid, 0)
    gate = SetupGate(tmp_path, 1, 5, poll_s=0.01)
    stop = threading.Event()
    threading.Timer(5.0, stop.set).start()  # fails the test instead of hanging it
    assert gate.acquire(stop)
    stop.set()
    gate.release()


def test_a_gate_needs_a_slot(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        SetupGate(tmp_path, 0, 0)


def test_retries_wait_at_least_what_was_asked_and_at_most_a_quarter_more() -> None:
    waits = [jittered(2.0) for _ in range(200)]
    assert all(2.0 <= w <= 2.5 for w in waits)
    assert len(set(waits)) > 1
