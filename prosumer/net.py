"""What every HTTP client of a prosumer shares: one TLS context per process, made once.

httpx builds a fresh `ssl.SSLContext` (and loads the CA bundle into it, ~1-2 MB and a few ms) for every
client it creates, https or not. A fleet's parent makes this one before it forks, so each child
inherits it copy-on-write instead of building its own.
"""

from __future__ import annotations

import ssl
from functools import cache


@cache
def tls_context() -> ssl.SSLContext:
    """The process's TLS context (certifi's CA bundle, as httpx uses by default)."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())
