"""The prosumer's account key: given, or read from its key file, or generated and saved there.

A generated key is written to a temporary file with mode 0600 and renamed into place, so a crash never
leaves half a key; a restart with the same key file keeps the account (and its registration,
reputation and tokens on chain).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import tempfile
from pathlib import Path

from base.errors import ConfigError

log = logging.getLogger(__name__)

_HEX_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")


def parse_key(text: str, origin: str) -> str:
    """A 0x-prefixed 32-byte hex key, or a `ConfigError` that says where the bad key came from."""
    value = text.strip()
    if not _HEX_KEY.match(value):
        raise ConfigError(f"{origin} does not hold a private key (64 hex digits): fix or delete it")
    return value if value.startswith("0x") else "0x" + value


def load_or_create_key(path: Path) -> str:
    """The key in `path`; when the file does not exist, a new random key saved there first."""
    if path.exists():
        try:
            return parse_key(path.read_text(), f"key file {path}")
        except OSError as exc:
            raise ConfigError(f"cannot read key file {path}: {exc}") from exc
    key = "0x" + secrets.token_bytes(32).hex()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(key + "\n")
            os.link(tmp, path)  # fails if another process created the file meanwhile: keep theirs
        finally:
            os.unlink(tmp)
    except FileExistsError:
        return parse_key(path.read_text(), f"key file {path}")
    except OSError as exc:
        raise ConfigError(
            f"cannot save a new key to {path}: {exc}; set PROSUMER_KEY_FILE or PROSUMER_STATE_DIR "
            "to a writable place, or give the key in PROSUMER_KEY"
        ) from exc
    log.info("generated a new account key in %s", path)
    return key
