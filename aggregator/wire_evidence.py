"""Wire models of tamper evidence (docs/tamper-evidence.md): a prosumer's signed readings root, and the
proof of its settlement leaf. Request ids are the chain's; hashes are 0x-prefixed 32-byte hex."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from aggregator.wire import EXAMPLE_ADDRESS, Address, _examples, _input

HASH_PATTERN = r"^0x[0-9a-fA-F]{64}$"
Hash32 = Annotated[str, Field(pattern=HASH_PATTERN, description="32 bytes, 0x-prefixed hex")]
EXAMPLE_ROOT = "0x" + "ab" * 32
INT64 = 2**63


class SignedRootIn(BaseModel):
    """The prosumer's EIP-712 `ReadingsRoot` for one request: its `count` readings with timestamps
    (simulated epoch milliseconds, `round(t * 1000)`) in [from_ms, to_ms] hash to `root`."""

    model_config = _input(
        {
            "request_id": 7,
            "from_ms": 1748779200000,
            "to_ms": 1748783700000,
            "count": 900,
            "root": EXAMPLE_ROOT,
            "signature": "0x" + "11" * 65,
        }
    )

    request_id: int = Field(ge=1, lt=2**63, description="The chain request id")
    from_ms: int = Field(ge=-INT64, lt=INT64)
    to_ms: int = Field(ge=-INT64, lt=INT64)
    count: int = Field(ge=0, lt=2**32)
    root: Hash32
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$", description="65 bytes r ++ s ++ v, hex")


class SignedRootAck(BaseModel):
    model_config = _examples(
        {"request_id": 7, "prosumer": EXAMPLE_ADDRESS, "root": EXAMPLE_ROOT, "count": 900, "status": "stored"}
    )

    request_id: int
    prosumer: Address
    root: Hash32
    count: int
    status: Literal["stored", "duplicate"]


class LeafProofOut(BaseModel):
    """A prosumer's settlement leaf in an anchored request and the Merkle proof to the anchored root
    (sorted-pair hashing; siblings from the leaf up): what `disputeDelivery` and `disputeReadingsRoot`
    of the SettlementAnchor contract take."""

    model_config = _examples(
        {
            "request_id": 7,
            "prosumer": EXAMPLE_ADDRESS,
            "delivered_wh": 412,
            "readings_root": EXAMPLE_ROOT,
            "position": 0,
            "leaf_count": 1,
            "root": EXAMPLE_ROOT,
            "proof": [],
            "anchor_tx": EXAMPLE_ROOT,
        }
    )

    request_id: int
    prosumer: Address
    delivered_wh: int = Field(description="The delivery in the leaf (Wh, in the requested direction)")
    readings_root: Hash32 = Field(description="The prosumer's signed readings root in the leaf (zero: none)")
    position: int = Field(description="Leaf position (leaves are ordered by address)")
    leaf_count: int
    root: Hash32 = Field(description="The anchored settlement root")
    proof: list[Hash32]
    anchor_tx: str | None = Field(None, description="The transaction that anchored it (finaliseAnchored)")
