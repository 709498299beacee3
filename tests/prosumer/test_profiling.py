"""`PROSUMER_PROFILE_DIR`: a fleet child's threads are each profiled to a file; unset, nothing is."""

from __future__ import annotations

import pstats
import threading
from pathlib import Path

import pytest

from prosumer.profiling import VARIABLE, profiled


def work() -> int:
    t = threading.Thread(target=lambda: sum(range(1000)), name="uplink")
    t.start()
    t.join()
    return 7


def test_each_thread_of_a_profiled_child_writes_its_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(VARIABLE, str(tmp_path / "prof"))
    run = threading.Thread.run
    try:
        assert profiled(3, work) == 7
    finally:
        threading.Thread.run = run  # type: ignore[method-assign]  # a child would exit here
    names = sorted(p.name for p in (tmp_path / "prof").iterdir())
    assert names == ["prosumer-3-main.prof", "prosumer-3-uplink.prof"]
    stats = pstats.Stats(str(tmp_path / "prof" / "prosumer-3-main.prof"))
    assert any(name == "work" for (_, _, name) in stats.stats)  # type: ignore[attr-defined]


def test_unset_nothing_is_profiled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VARIABLE, raising=False)
    run = threading.Thread.run
    assert profiled(3, work) == 7
    assert threading.Thread.run is run
