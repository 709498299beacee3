"""What every HTTP client of a prosumer shares: one TLS context per process, made once; its retries' jitter.

httpx builds a fresh `ssl.SSLContext` (and loads the CA bundle into it, ~1-2 MB and a few ms) for every
client it creates, https or not. A fleet's parent makes this one before it forks, so each child
inherits it copy-on-write instead of building its own.
"""

from __future__ import annotations

import random
import ssl
from functools import cache


@cache
def tls_context() -> ssl.SSLContext:
    """The process's TLS context (certifi's CA bundle, as httpx uses by default)."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def jittered(delay_s: float) -> float:
    """`delay_s` plus up to a quarter of it at random: never sooner than a server's `Retry-After`, and the
    prosumers of one fleet refused together do not come back together."""
    return delay_s * (1.0 + 0.25 * random.random())
