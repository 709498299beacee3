"""A fleet child's record of its private memory, and its log lines named without new formatters."""

from __future__ import annotations

import logging

from prosumer.logs import NamedFormatter, configure_logging, rename_logging
from prosumer.memory import parse_private_kb, private_kb

ROLLUP = """55a0c0000000-7ffd0e7f6000 ---p 00000000 00:00 0                          [rollup]
Rss:               98240 kB
Pss:               21712 kB
Shared_Clean:      61244 kB
Shared_Dirty:      15112 kB
Private_Clean:       212 kB
Private_Dirty:     21672 kB
Referenced:        98240 kB
"""


def test_private_memory_is_private_clean_plus_private_dirty() -> None:
    assert parse_private_kb(ROLLUP) == 212 + 21672


def test_this_process_private_memory_is_read_or_none_without_the_file(tmp_path) -> None:
    assert private_kb(str(tmp_path / "missing")) is None
    own = private_kb()
    assert own is None or own > 0


def test_a_child_renames_the_parents_log_lines() -> None:
    root = logging.getLogger()
    saved = [(h, h.formatter) for h in root.handlers]
    try:
        configure_logging("fleet")
        rename_logging("prosumer-7")
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
        formatters = [h.formatter for h in root.handlers]
        assert formatters and all(isinstance(f, NamedFormatter) for f in formatters)
        assert all(" INFO prosumer-7 x: hello" in f.format(record) for f in formatters)  # type: ignore[union-attr]
    finally:
        for h, f in saved:
            h.setFormatter(f)
