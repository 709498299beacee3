"""How a prosumer process logs: one line per record, named after the prosumer (or the fleet)."""

from __future__ import annotations

import logging

LOG_FORMAT = "%(asctime)s %(levelname)s %(who)s %(name)s: %(message)s"


class NamedFormatter(logging.Formatter):
    """The log format with the process's name in it; `who` can be changed in place (`rename_logging`)."""

    def __init__(self, who: str) -> None:
        super().__init__(LOG_FORMAT)
        self.who = who

    def format(self, record: logging.LogRecord) -> str:
        record.who = self.who
        return super().format(record)


def configure_logging(who: str, level: int = logging.INFO) -> None:
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig()
    root.setLevel(level)
    for handler in root.handlers:
        handler.setFormatter(NamedFormatter(who))
    for noisy in ("httpx", "httpcore", "web3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def rename_logging(who: str) -> None:
    """Names the records of a forked child (`who`), keeping the logging its parent configured: one
    attribute set instead of new formatters (a fleet's child shares the parent's logging setup)."""
    handlers = logging.getLogger().handlers
    formatters = [h.formatter for h in handlers]
    if not handlers or not all(isinstance(f, NamedFormatter) for f in formatters):
        configure_logging(who)
        return
    for f in formatters:
        assert isinstance(f, NamedFormatter)
        f.who = who
