"""Typed binding for SettlementAnchor: the anchored settlement roots (stored by the market at
`finaliseAnchored`) and disputes against them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from contracts.anchor import SignedRoot
from contracts.bindings import _Binding, _cs
from contracts.sender import Receipt, Sender


@dataclass(frozen=True)
class Upheld:
    """A `DeliveryDisputeUpheld` (fault 0) or `ReadingsRootDisputeUpheld` (fault 1) event."""

    request_id: int
    prosumer: str
    fault: int
    leaf: int | bytes  # the leaf's delivery (Wh) or readings root
    recorded: int | bytes  # the market's recorded delivery, or the prosumer's signed root


class AnchorBinding(_Binding):
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
        """The request's anchored settlement root, as the market stores it (zero bytes: not anchored)."""
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
