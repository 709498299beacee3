"""What the aggregator needs to know from the chain registry: is a prosumer active, and on what terms.

`RegistryView` is the small protocol the API depends on. `ChainRegistryView` reads the Registry
contract (one `registrationOf` call answers both questions) and reuses an answer for a short TTL.
`LazyChainRegistryView` connects on first use, so the service starts before the chain is reachable.
`TrustedRegistryView` is for benchmarks and chain-free tests only: it trusts a fixed list of prosumers
and never asks a chain.

All methods block (RPC); async callers run them in a worker thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

from aggregator.errors import RegistryUnavailable
from base.errors import FlexsimError
from contracts.bindings import RegistryBinding
from contracts.errors import ChainError
from contracts.types import Registration, SourceKind, Terms

log = logging.getLogger(__name__)

UNREGISTERED = Registration(Terms(SourceKind.SOLAR, 0, 0, 0, 0, 0, 0, 0), 0, 0, False)


class RegistryView(Protocol):
    def is_active(self, address: str) -> bool: ...

    def terms(self, address: str) -> Registration: ...


class ChainRegistryView:
    """Reads `Registry.registrationOf`, caching each answer for `ttl_s` seconds."""

    def __init__(
        self, binding: RegistryBinding, ttl_s: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.binding = binding
        self.ttl_s = ttl_s
        self._clock = clock
        self._cache: dict[str, tuple[float, Registration]] = {}
        self._lock = threading.Lock()

    def terms(self, address: str) -> Registration:
        key = address.lower()
        now = self._clock()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            registration = self.binding.registration_of(address)
        except ChainError as exc:
            raise RegistryUnavailable(f"cannot read the registry: {exc}", retry_after_s=5) from exc
        with self._lock:
            self._cache[key] = (now + self.ttl_s, registration)
        return registration

    def is_active(self, address: str) -> bool:
        return self.terms(address).active

    def forget(self, address: str) -> None:
        """Drops a cached answer (chain sync calls this when it sees the prosumer's terms change)."""
        with self._lock:
            self._cache.pop(address.lower(), None)


class LazyChainRegistryView:
    """Connects to the chain named by the settings on first use; refuses with 503 until it can."""

    def __init__(self, rpc_url: str, manifest: Path, ttl_s: float = 5.0) -> None:
        self.rpc_url = rpc_url
        self.manifest = manifest
        self.ttl_s = ttl_s
        self._view: ChainRegistryView | None = None
        self._lock = threading.Lock()

    def _connect(self) -> ChainRegistryView:
        with self._lock:
            if self._view is not None:
                return self._view
            if not self.rpc_url:
                raise RegistryUnavailable(
                    "no chain configured: set AGGREGATOR_RPC_URL and AGGREGATOR_MANIFEST so the aggregator "
                    "can check prosumers against the registry",
                    retry_after_s=30,
                )
            if not self.manifest.exists():
                raise RegistryUnavailable(
                    f"deployment manifest {self.manifest} not found: deploy with `flexsim deploy` or set "
                    "AGGREGATOR_MANIFEST",
                    retry_after_s=30,
                )
            from contracts.deployment import Deployment

            try:
                deployment = Deployment.load(self.manifest, rpc_url=self.rpc_url)
            except FlexsimError as exc:
                raise RegistryUnavailable(f"cannot attach to the registry: {exc}", retry_after_s=5) from exc
            self._view = ChainRegistryView(deployment.registry, self.ttl_s)
            log.info("registry view attached to %s at %s", deployment.registry.address, self.rpc_url)
            return self._view

    def terms(self, address: str) -> Registration:
        return self._connect().terms(address)

    def is_active(self, address: str) -> bool:
        return self._connect().is_active(address)

    def forget(self, address: str) -> None:
        if self._view is not None:
            self._view.forget(address)


class TrustedRegistryView:
    """BENCHMARKS AND CHAIN-FREE TESTS ONLY: trusts `registrations` as if the chain had said so."""

    def __init__(self, registrations: Mapping[str, Registration]) -> None:
        self._registrations = {a.lower(): r for a, r in registrations.items()}

    def terms(self, address: str) -> Registration:
        return self._registrations.get(address.lower(), UNREGISTERED)

    def is_active(self, address: str) -> bool:
        return self.terms(address).active

    def set(self, address: str, registration: Registration) -> None:
        self._registrations[address.lower()] = registration
