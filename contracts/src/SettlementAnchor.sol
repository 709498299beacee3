// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EIP712} from "./EIP712.sol";
import {IFlexibilityMarket} from "./IFlexibilityMarket.sol";

/// @title SettlementAnchor: tamper-evident settlements and delivery disputes (docs/tamper-evidence.md)
/// @notice The aggregator anchors one Merkle root over a request's settlement when it finalises it
/// (`FlexibilityMarket.finaliseAnchored`: the market stores the root, `settlementRoot`, and emits it in
/// `SettlementAnchored`); this contract holds no roots, it verifies disputes against the market's.
/// One leaf per recorded delivery, `keccak256(abi.encode(requestId, prosumer, deliveredWh,
/// readingsRoot))`, where `readingsRoot` is the Merkle root of the prosumer's readings that the
/// prosumer signed (EIP-712 `ReadingsRoot`, zero when it signed none). Trees hash sorted pairs
/// (`keccak256(min(a, b) ++ max(a, b))`), an odd node moves up unchanged, so a proof is the list of
/// siblings from the leaf up.
///
/// Anyone may then prove a fault of the aggregator:
/// - `disputeDelivery`: the delivery the market recorded for the prosumer differs from its leaf;
/// - `disputeReadingsRoot`: the leaf does not carry the readings root the prosumer signed.
/// An upheld dispute is a fault of the aggregator (it anchored the root): recorded once per (request,
/// prosumer) in `upheld` and emitted as `DeliveryDisputeUpheld` or `ReadingsRootDisputeUpheld`, which
/// off-chain compensation acts on (the prosumer is owed what its leaf says). A false dispute reverts.
/// The market's commitment slot of a prosumer is reused once it answers a newer request, so a delivery
/// dispute must be raised before that: a commitment that reads as `None` reverts `NoRecordedDelivery`,
/// it never counts as a delivery of zero.
contract SettlementAnchor is EIP712 {
    /// @notice EIP-712 type of a prosumer's signed readings root for one request's settlement window.
    bytes32 public constant READINGS_ROOT_TYPEHASH =
        keccak256("ReadingsRoot(address prosumer,uint256 requestId,int64 fromMs,int64 toMs,uint32 count,bytes32 root)");

    /// @notice What a prosumer signed: its readings with timestamps in [fromMs, toMs], `count` of them,
    /// hash to `root`.
    struct SignedRoot {
        int64 fromMs;
        int64 toMs;
        uint32 count;
        bytes32 root;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    IFlexibilityMarket public immutable market;

    /// @notice Whether a dispute about (request, prosumer) was upheld: the aggregator's recorded faults,
    /// one per (request, prosumer) at most (their events count them).
    mapping(uint256 => mapping(address => bool)) public upheld;

    /// @notice The market holds no settlement root for the request (not finalised with `finaliseAnchored`).
    error NotAnchored(uint256 requestId);
    error InvalidProof(uint256 requestId, address prosumer);
    /// @notice The market holds no settled commitment of the prosumer for the request (never took part,
    /// or its slot was reused by a newer request: disputes must come before the prosumer's next answer).
    error NoRecordedDelivery(uint256 requestId, address prosumer, IFlexibilityMarket.Response response);
    error DeliveryMatches(uint256 requestId, address prosumer, int64 deliveredWh);
    error NotSignedByProsumer(address prosumer, address signer);
    error ReadingsRootMatches(uint256 requestId, address prosumer, bytes32 root);
    error AlreadyUpheld(uint256 requestId, address prosumer);

    /// @notice A delivery dispute was upheld: the market recorded `recordedDeliveredWh`, the anchored leaf
    /// says `leafDeliveredWh` (what the prosumer is owed for).
    event DeliveryDisputeUpheld(
        uint256 indexed requestId,
        address indexed prosumer,
        int64 leafDeliveredWh,
        int64 recordedDeliveredWh
    );
    /// @notice A readings-root dispute was upheld: the leaf carries `leafReadingsRoot`, the prosumer signed
    /// `signedReadingsRoot`.
    event ReadingsRootDisputeUpheld(
        uint256 indexed requestId,
        address indexed prosumer,
        bytes32 leafReadingsRoot,
        bytes32 signedReadingsRoot
    );

    constructor(IFlexibilityMarket market_) EIP712("flexsim SettlementAnchor", "1") {
        market = market_;
    }

    /// @notice The anchored settlement root of a request, as the market stores it (zero: not anchored).
    /// @param requestId the request
    /// @return `market.settlementRoot(requestId)`
    function rootOf(uint256 requestId) external view returns (bytes32) {
        return market.settlementRoot(requestId);
    }

    /// @notice Proves that the delivery the market recorded for `prosumer` differs from its anchored
    /// leaf. Must be raised before the prosumer answers its next request (its slot is then reused).
    /// @param requestId the anchored request
    /// @param prosumer the participant
    /// @param leafDeliveredWh the delivery in its leaf
    /// @param readingsRoot the readings root in its leaf
    /// @param proof sibling hashes from the leaf up to the anchored root
    function disputeDelivery(
        uint256 requestId,
        address prosumer,
        int64 leafDeliveredWh,
        bytes32 readingsRoot,
        bytes32[] calldata proof
    ) external {
        _proveLeaf(requestId, prosumer, leafDeliveredWh, readingsRoot, proof);
        IFlexibilityMarket.Commitment memory c = market.commitmentOf(requestId, prosumer);
        if (c.response != IFlexibilityMarket.Response.Compliant && c.response != IFlexibilityMarket.Response.Penalised) {
            revert NoRecordedDelivery(requestId, prosumer, c.response);
        }
        if (c.deliveredWh == leafDeliveredWh) revert DeliveryMatches(requestId, prosumer, leafDeliveredWh);
        _uphold(requestId, prosumer);
        emit DeliveryDisputeUpheld(requestId, prosumer, leafDeliveredWh, c.deliveredWh);
    }

    /// @notice Proves that the anchored leaf of `prosumer` does not carry the readings root it signed.
    /// @param requestId the anchored request
    /// @param prosumer the participant (the signer)
    /// @param leafDeliveredWh the delivery in its leaf
    /// @param leafReadingsRoot the readings root in its leaf
    /// @param proof sibling hashes from the leaf up to the anchored root
    /// @param signed the prosumer's EIP-712 `ReadingsRoot` for this request and its signature
    function disputeReadingsRoot(
        uint256 requestId,
        address prosumer,
        int64 leafDeliveredWh,
        bytes32 leafReadingsRoot,
        bytes32[] calldata proof,
        SignedRoot calldata signed
    ) external {
        _proveLeaf(requestId, prosumer, leafDeliveredWh, leafReadingsRoot, proof);
        address signer = _recover(readingsRootDigest(prosumer, requestId, signed), signed.v, signed.r, signed.s);
        if (signer != prosumer) revert NotSignedByProsumer(prosumer, signer);
        if (signed.root == leafReadingsRoot) revert ReadingsRootMatches(requestId, prosumer, leafReadingsRoot);
        _uphold(requestId, prosumer);
        emit ReadingsRootDisputeUpheld(requestId, prosumer, leafReadingsRoot, signed.root);
    }

    /// @notice The EIP-712 digest a prosumer signs for its readings root of one request.
    /// @param prosumer the signer
    /// @param requestId the request
    /// @param signed the signed fields (the signature itself is ignored)
    /// @return keccak256(0x1901 ++ domainSeparator ++ structHash)
    function readingsRootDigest(
        address prosumer,
        uint256 requestId,
        SignedRoot calldata signed
    ) public view returns (bytes32) {
        return
            _typedDataDigest(
                keccak256(
                    abi.encode(
                        READINGS_ROOT_TYPEHASH,
                        prosumer,
                        requestId,
                        signed.fromMs,
                        signed.toMs,
                        signed.count,
                        signed.root
                    )
                )
            );
    }

    /// @notice The settlement leaf of one participant.
    /// @param requestId the request
    /// @param prosumer the participant
    /// @param deliveredWh its delivery as measured by the aggregator
    /// @param readingsRoot its signed readings root (zero when none)
    /// @return keccak256(abi.encode(requestId, prosumer, deliveredWh, readingsRoot))
    function leafHash(
        uint256 requestId,
        address prosumer,
        int64 deliveredWh,
        bytes32 readingsRoot
    ) public pure returns (bytes32) {
        return keccak256(abi.encode(requestId, prosumer, deliveredWh, readingsRoot));
    }

    /// @notice Whether `proof` leads from `leaf` to `root` (sorted-pair hashing).
    /// @param root the tree's root
    /// @param leaf the leaf hash
    /// @param proof sibling hashes from the leaf up
    /// @return true when the proof holds
    function verifyProof(bytes32 root, bytes32 leaf, bytes32[] calldata proof) public pure returns (bool) {
        return _processProof(leaf, proof) == root;
    }

    function _proveLeaf(
        uint256 requestId,
        address prosumer,
        int64 deliveredWh,
        bytes32 readingsRoot,
        bytes32[] calldata proof
    ) private view {
        bytes32 root = market.settlementRoot(requestId);
        if (root == bytes32(0)) revert NotAnchored(requestId);
        if (_processProof(leafHash(requestId, prosumer, deliveredWh, readingsRoot), proof) != root) {
            revert InvalidProof(requestId, prosumer);
        }
    }

    /// @dev Records the fault, once per (request, prosumer).
    function _uphold(uint256 requestId, address prosumer) private {
        if (upheld[requestId][prosumer]) revert AlreadyUpheld(requestId, prosumer);
        upheld[requestId][prosumer] = true;
    }

    /// @dev Folds the proof into the leaf: each step hashes the sorted pair in scratch memory.
    function _processProof(bytes32 leaf, bytes32[] calldata proof) private pure returns (bytes32 h) {
        h = leaf;
        uint256 n = proof.length;
        for (uint256 i; i < n; ) {
            bytes32 p = proof[i];
            assembly ("memory-safe") {
                switch lt(p, h)
                case 0 {
                    mstore(0x00, h)
                    mstore(0x20, p)
                }
                default {
                    mstore(0x00, p)
                    mstore(0x20, h)
                }
                h := keccak256(0x00, 0x40)
            }
            unchecked {
                ++i;
            }
        }
    }
}
