"""Tamper evidence on the aggregator's side (docs/tamper-evidence.md): checking a prosumer's signed
readings root against the stored readings, keeping it, recording the anchored settlement leaves and
serving a prosumer its proof.

A signed root is taken only when it holds: the signature recovers to the logged-in prosumer, and the
readings stored for it with timestamps in [from_ms, to_ms] are `count` readings that hash to `root`.
Anything else answers 409 and says what the store holds, so a prosumer learns at once that readings it
was acknowledged are missing or altered.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from aggregator.db import Database
from aggregator.errors import Conflict, InvalidInput, NotFound, RegistryUnavailable
from aggregator.evidence_tables import SettlementAnchorRecord, SettlementLeafRecord, SignedReadingsRoot
from aggregator.store import ReadingFilter, ReadingStore
from contracts.anchor import (
    LeafReading,
    SignedRoot,
    merkle_levels,
    milli,
    proof_from_levels,
    readings_root,
    recover_signer,
    settlement_leaf,
)

MAX_SIGNED_READINGS = 200_000
"""Most readings one signed root may cover (a day at one reading every 0.5 s)."""


def hex32(raw: bytes) -> str:
    return "0x" + raw.hex()


def unhex(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x"))


def signed_readings(store: ReadingStore, prosumer: str, from_ms: int, to_ms: int) -> list[LeafReading]:
    """The stored readings of `prosumer` with `round(t * 1000)` in [from_ms, to_ms], in seq order."""
    rows = store.query(
        ReadingFilter(prosumer=prosumer.lower(), start=from_ms / 1000 - 0.001, end=to_ms / 1000 + 0.002),
        MAX_SIGNED_READINGS,
    )
    picked = [
        LeafReading(r.seq, r.t, r.power_w, r.energy_wh, r.available_w)
        for r in rows
        if from_ms <= milli(r.t) <= to_ms
    ]
    return sorted(picked, key=lambda r: r.seq)


def signed_root_from_row(row: SignedReadingsRoot) -> SignedRoot:
    sig = unhex(row.signature)
    return SignedRoot(row.prosumer, row.request_id, row.from_ms, row.to_ms, row.count, unhex(row.root),
                      sig[64], sig[:32], sig[32:64])  # fmt: skip


def root_problem(signed: SignedRoot, chain_id: int, anchor: str, stored: Sequence[LeafReading]) -> str | None:
    """Why `signed` does not hold for the `stored` readings, or None when it does."""
    try:
        signer = recover_signer(chain_id, anchor, signed)
    except Exception as exc:  # eth_keys' BadSignature and ValueError
        return f"the signature is malformed: {exc}"
    if signer.lower() != signed.prosumer.lower():
        return f"the signature recovers to {signer}, not to {signed.prosumer}: sign with the prosumer's key"
    root = readings_root(signed.prosumer, stored)
    if len(stored) != signed.count or root != signed.root:
        return (
            f"the {len(stored)} readings stored for {signed.prosumer} in "
            f"[{signed.from_ms}, {signed.to_ms}] ms "
            f"hash to {hex32(root)}, not to the signed {hex32(signed.root)} over {signed.count} readings: "
            "readings are missing or were altered; resend the missing ones and sign again"
        )
    return None


@dataclass(frozen=True)
class AnchorSite:
    """Where signatures point: the chain id and the SettlementAnchor address, from the manifest."""

    chain_id: int
    anchor: str

    @classmethod
    def from_manifest(cls, path: Path) -> AnchorSite:
        from contracts.manifest import Manifest

        if not path.exists():
            raise RegistryUnavailable(
                f"no deployment manifest at {path}: set AGGREGATOR_MANIFEST so signed readings roots can be "
                "checked against the SettlementAnchor's EIP-712 domain",
                retry_after_s=30,
            )
        m = Manifest.load(path)
        return cls(m.chain_id, m.contracts.anchor)


@dataclass(frozen=True)
class Leaf:
    prosumer: str  # lower case
    delivered_wh: int
    readings_root: bytes


def ordered_leaves(leaves: Sequence[Leaf]) -> list[Leaf]:
    return sorted(leaves, key=lambda x: x.prosumer.lower())


def leaf_hashes(request_id: int, leaves: Sequence[Leaf]) -> list[bytes]:
    return [settlement_leaf(request_id, x.prosumer, x.delivered_wh, x.readings_root) for x in leaves]


@dataclass(frozen=True)
class Span:
    """What a request's deliveries were measured over: simulated epoch s, direction, baseline margin."""

    direction: int
    start: float
    end: float
    margin_s: float


TREES_KEPT = 16
"""Anchored requests whose Merkle tree the repository keeps hashed (the most recently asked)."""


@dataclass(frozen=True)
class AnchoredTree:
    """An anchored request's record, leaves and hashed tree: what every participant's proof is read from."""

    record: SettlementAnchorRecord
    leaves: list[Leaf]
    positions: dict[str, int]
    levels: list[list[bytes]]


class EvidenceRepo:
    def __init__(self, db: Database, store: ReadingStore) -> None:
        self.db = db
        self.store = store
        # An anchor never changes once saved, so its tree is hashed once: every participant of a
        # request asks for its proof right after the settlement (hundreds at once at scale), and
        # hashing the whole tree per answer made that O(participants^2) keccaks on the API's process.
        self._trees: OrderedDict[int, AnchoredTree] = OrderedDict()
        self._trees_lock = threading.Lock()

    def accept_root(self, signed: SignedRoot, site: AnchorSite) -> bool:
        """Checks and stores a signed root; False when the same root was stored before."""
        if signed.from_ms > signed.to_ms:
            raise InvalidInput(f"from_ms {signed.from_ms} is after to_ms {signed.to_ms}")
        with self.db.session() as s:
            existing = s.get(SignedReadingsRoot, (signed.prosumer.lower(), signed.request_id))
            if existing is not None:
                if existing.root == hex32(signed.root) and existing.count == signed.count:
                    return False
                raise Conflict(
                    f"{signed.prosumer} already signed root {existing.root} for request {signed.request_id}: "
                    "a root is signed once per request"
                )
        stored = signed_readings(self.store, signed.prosumer, signed.from_ms, signed.to_ms)
        problem = root_problem(signed, site.chain_id, site.anchor, stored)
        if problem is not None:
            raise Conflict(problem)
        try:
            self._insert_root(signed)
        except IntegrityError:  # the same prosumer sent it twice at once: the first one stored it
            return False
        return True

    def _insert_root(self, signed: SignedRoot) -> None:
        with self.db.session() as s:
            s.add(
                SignedReadingsRoot(
                    prosumer=signed.prosumer.lower(),
                    request_id=signed.request_id,
                    from_ms=signed.from_ms,
                    to_ms=signed.to_ms,
                    count=signed.count,
                    root=hex32(signed.root),
                    signature=hex32(signed.r + signed.s + bytes([signed.v])),
                    received_at=time.time(),
                )
            )

    def roots(self, request_id: int) -> dict[str, SignedRoot]:
        """Every signed root of a request, by lower-case prosumer address."""
        with self.db.session() as s:
            rows = s.scalars(select(SignedReadingsRoot).where(SignedReadingsRoot.request_id == request_id))
            return {r.prosumer: signed_root_from_row(r) for r in rows}

    def all_roots(self) -> list[SignedRoot]:
        with self.db.session() as s:
            return [signed_root_from_row(r) for r in s.scalars(select(SignedReadingsRoot))]

    def save_anchor(
        self,
        request_id: int,
        root: bytes,
        leaves: Sequence[Leaf],
        span: Span,
        tx_hash: str | None,
        block: int | None,
    ) -> None:
        with self.db.session() as s:
            s.merge(
                SettlementAnchorRecord(
                    request_id=request_id, root=hex32(root), leaf_count=len(leaves), direction=span.direction,
                    sim_start=span.start, sim_end=span.end, margin_s=span.margin_s, tx_hash=tx_hash,
                    block=block, anchored_at=time.time(),
                )
            )  # fmt: skip
            for i, x in enumerate(leaves):
                s.merge(
                    SettlementLeafRecord(
                        request_id=request_id, prosumer=x.prosumer.lower(), position=i,
                        delivered_wh=x.delivered_wh, readings_root=hex32(x.readings_root),
                    )
                )  # fmt: skip
        with self._trees_lock:  # saved again (a recovered anchor): its tree is read anew
            self._trees.pop(request_id, None)

    def anchor(self, request_id: int) -> tuple[SettlementAnchorRecord, list[Leaf]] | None:
        with self.db.session() as s:
            record = s.get(SettlementAnchorRecord, request_id)
            if record is None:
                return None
            rows = s.scalars(
                select(SettlementLeafRecord)
                .where(SettlementLeafRecord.request_id == request_id)
                .order_by(SettlementLeafRecord.position)
            )
            leaves = [Leaf(r.prosumer, r.delivered_wh, unhex(r.readings_root)) for r in rows]
            s.expunge(record)
            return record, leaves

    def anchored_ids(self) -> list[int]:
        with self.db.session() as s:
            return list(
                s.scalars(
                    select(SettlementAnchorRecord.request_id).order_by(SettlementAnchorRecord.request_id)
                )
            )

    def proof(self, request_id: int, prosumer: str) -> tuple[SettlementAnchorRecord, Leaf, int, list[bytes]]:
        """The anchor, the prosumer's leaf, its position and its proof; NotFound when there is none."""
        tree = self._tree(request_id)
        index = tree.positions.get(prosumer.lower())
        if index is None:
            raise NotFound(f"{prosumer} has no delivery recorded in request {request_id}")
        return tree.record, tree.leaves[index], index, proof_from_levels(tree.levels, index)

    def _tree(self, request_id: int) -> AnchoredTree:
        with self._trees_lock:
            tree = self._trees.get(request_id)
            if tree is not None:
                self._trees.move_to_end(request_id)
                return tree
        found = self.anchor(request_id)
        if found is None:
            raise NotFound(
                f"request {request_id} is not anchored (yet): its settlement is anchored as it is finalised"
            )
        record, leaves = found
        positions = {x.prosumer: i for i, x in enumerate(leaves)}
        tree = AnchoredTree(record, leaves, positions, merkle_levels(leaf_hashes(request_id, leaves)))
        with self._trees_lock:
            self._trees[request_id] = tree
            while len(self._trees) > TREES_KEPT:
                self._trees.popitem(last=False)
        return tree
