"""How a prosumer process logs: one line per record, named after the prosumer (or the fleet)."""

from __future__ import annotations

import logging

LOG_FORMAT = "%(asctime)s %(levelname)s {who} %(name)s: %(message)s"


def configure_logging(who: str, level: int = logging.INFO) -> None:
    root = logging.getLogger()
    fmt = logging.Formatter(LOG_FORMAT.format(who=who))
    if not root.handlers:
        logging.basicConfig()
    root.setLevel(level)
    for handler in root.handlers:
        handler.setFormatter(fmt)
    for noisy in ("httpx", "httpcore", "web3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
