"""Typed binding for SettlementAnchor: anchoring settlement roots and raising disputes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from contracts.anchor import SignedRoot
from contracts.bindings import _Binding, _cs
from contracts.sender import Receipt, Sender

ANCHOR_GAS = 120_000
"""Gas limit for an `anchor` sent right behind the `finalise` it needs (not mined yet, so it cannot be
estimated): it uses about 55,000 (`flexsim bench gas`)."""


@dataclass(frozen=True)
class Upheld:
    """A `DeliveryDisputeUpheld` (fault 0) or `ReadingsRootDisputeUpheld` (fault 1) event."""

    request_id: int
    prosumer: str
    fault: int
    leaf: int | bytes  # the leaf's delivery (Wh) or readings root
    recorded: int | bytes  # the market's recorded delivery, or the prosumer's signed root


class AnchorBinding(_Binding):
    def anchor(self, sender: Sender, request_id: int, root: bytes, leaf_count: int) -> Receipt:
        return self._tx(sender, "anchor", request_id, root, leaf_count)

    def submit_anchor(
        self, sender: Sender, request_id: int, root: bytes, leaf_count: int, gas: int = ANCHOR_GAS
    ) -> str:
        """`anchor` sent behind a `finalise` not mined yet (fixed gas limit; see `ANCHOR_GAS`)."""
        return self._submit(sender, "anchor", request_id, root, leaf_count, gas=gas)

    def dispute_delivery(
        self,
        sender: Sender,
        request_id: int,
        prosumer: str,
        leaf_delivered_wh: int,
        readings_root: bytes,
        proof: Sequence[bytes],
    ) -> Receipt:
        return self._tx(
            sender,
            "disputeDelivery",
            request_id,
            _cs(prosumer),
            leaf_delivered_wh,
            readings_root,
            list(proof),
        )

    def dispute_readings_root(
        self,
        sender: Sender,
        request_id: int,
        prosumer: str,
        leaf_delivered_wh: int,
        leaf_readings_root: bytes,
        proof: Sequence[bytes],
        signed: SignedRoot,
    ) -> Receipt:
        return self._tx(
            sender,
            "disputeReadingsRoot",
            request_id,
            _cs(prosumer),
            leaf_delivered_wh,
            leaf_readings_root,
            list(proof),
            signed.as_tuple(),
        )

    def upheld_events(self, receipt: Receipt) -> list[Upheld]:
        out = [
            Upheld(int(a["requestId"]), str(a["prosumer"]), 0, int(a["leafDeliveredWh"]),
                   int(a["recordedDeliveredWh"]))
            for a in (e["args"] for e in self.events(receipt, "DeliveryDisputeUpheld"))
        ]  # fmt: skip
        out += [
            Upheld(int(a["requestId"]), str(a["prosumer"]), 1, bytes(a["leafReadingsRoot"]),
                   bytes(a["signedReadingsRoot"]))
            for a in (e["args"] for e in self.events(receipt, "ReadingsRootDisputeUpheld"))
        ]  # fmt: skip
        return out

    def root_of(self, request_id: int) -> bytes:
        return bytes(self._view("rootOf", request_id))

    def is_upheld(self, request_id: int, prosumer: str) -> bool:
        return bool(self._view("upheld", request_id, _cs(prosumer)))

    def faults(self, from_block: int = 0) -> int:
        """Upheld disputes so far: the aggregator's recorded faults (from the events)."""
        count = 0
        for name in ("DeliveryDisputeUpheld", "ReadingsRootDisputeUpheld"):
            event = self.contract.events[name]()

            def logs(e: Any = event) -> list[Any]:
                return list(e.get_logs(from_block=from_block))

            count += len(self.chain.rpc(logs, f"{name} logs"))
        return count

    def readings_root_digest(self, signed: SignedRoot) -> bytes:
        return bytes(
            self._view("readingsRootDigest", _cs(signed.prosumer), signed.request_id, signed.as_tuple())
        )

    def leaf_hash(self, request_id: int, prosumer: str, delivered_wh: int, readings_root: bytes) -> bytes:
        return bytes(self._view("leafHash", request_id, _cs(prosumer), delivered_wh, readings_root))

    def verify_proof(self, root: bytes, leaf: bytes, proof: Sequence[bytes]) -> bool:
        return bool(self._view("verifyProof", root, leaf, list(proof)))
