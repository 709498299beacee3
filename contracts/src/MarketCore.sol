// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Owned} from "./Owned.sol";
import {EIP712} from "./EIP712.sol";
import {Strategy, Eligibility, IRegistry, IFlexToken} from "./FlexTypes.sol";
import {IFlexibilityMarket} from "./IFlexibilityMarket.sol";
import {MarketRules} from "./MarketRules.sol";

/// @title The market's storage, roles and shared checks
/// @dev Timestamps are `block.timestamp` seconds. `durationS` is the contracted duration that energy is
/// computed from; [start, end) is the window on the chain clock (equal to durationS at speed 1).
abstract contract MarketCore is Owned, EIP712, IFlexibilityMarket {
    /// @notice R10: delivered within 1/10 of committed.
    uint256 public constant TOLERANCE_DIVISOR = MarketRules.TOLERANCE_DIVISOR;
    /// @notice R7: a share is at most 1/4 of capacity.
    uint256 public constant MAX_SHARE_DIVISOR = MarketRules.MAX_SHARE_DIVISOR;
    /// @notice The shortest grace after a window's end before an unfinished request may be closed.
    uint256 public constant MIN_CLOSE_GRACE_S = 60;

    IRegistry public immutable registry;
    IFlexToken public immutable token;
    // One slot, non-zero from construction: opening a request reads the role and updates the
    // counters with a single slot access, never paying for a new slot.
    address public aggregator;
    uint64 public requestCount;
    uint32 public currentRequestId; // 0 when no request is open

    /// @dev Settled sums of a request. int128 holds the sum of 2^32 int64 deliveries exactly.
    struct Outcome {
        int128 deliveredWh;
        uint128 paid;
    }

    mapping(uint256 => Request) internal _requests;
    mapping(uint256 => Schedule) internal _schedules;
    mapping(uint256 => Outcome) internal _outcomes;
    mapping(uint256 => MarketRules.RankKey) internal _lastRanked;
    mapping(uint256 => TopUpRound) internal _topUps;
    /// @dev One answer slot per prosumer, reused from request to request (its `requestId` says which):
    /// answering again overwrites a warm non-zero slot (~5,000 gas) instead of filling a new one (~22,100).
    mapping(address => Commitment) internal _answers;
    /// @dev Settlement roots anchored at finalisation (`finaliseAnchored`).
    mapping(uint256 => bytes32) internal _settlementRoots;

    modifier onlyAggregator() {
        if (msg.sender != aggregator) revert NotAggregator(msg.sender);
        _;
    }

    constructor(
        IRegistry registry_,
        IFlexToken token_,
        address aggregator_
    ) EIP712("flexsim FlexibilityMarket", "1") {
        if (address(registry_) == address(0) || address(token_) == address(0) || aggregator_ == address(0)) {
            revert ZeroAddress();
        }
        registry = registry_;
        token = token_;
        aggregator = aggregator_;
        emit AggregatorChanged(aggregator_);
    }

    /// @notice Hands the aggregator role (requests, selection, settlement) to another account.
    /// @param aggregator_ the new aggregator account
    function setAggregator(address aggregator_) external onlyOwner {
        if (aggregator_ == address(0)) revert ZeroAddress();
        aggregator = aggregator_;
        emit AggregatorChanged(aggregator_);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IFlexibilityMarket
    function request(uint256 requestId) external view returns (Request memory, Schedule memory) {
        return (_requests[requestId], _schedules[requestId]);
    }

    /// @inheritdoc IFlexibilityMarket
    function commitmentOf(uint256 requestId, address prosumer) external view returns (Commitment memory c) {
        c = _answers[prosumer];
        if (c.requestId != requestId) delete c; // the slot holds the prosumer's answer to another request
    }

    /// @inheritdoc IFlexibilityMarket
    function result(uint256 requestId) public view returns (Result memory) {
        Request storage r = _requests[requestId];
        Schedule storage s = _schedules[requestId];
        Outcome storage o = _outcomes[requestId];
        uint256 duration = r.durationS;
        return
            Result(
                (uint256(r.powerW) * duration) / 3600,
                (uint256(r.committedW) * duration) / 3600,
                o.deliveredWh,
                _participants(r, s),
                s.compliant,
                o.paid
            );
    }

    /// @inheritdoc IFlexibilityMarket
    function settlementRoot(uint256 requestId) external view returns (bytes32) {
        return _settlementRoots[requestId];
    }

    /// @inheritdoc IFlexibilityMarket
    function isCompliant(uint256 committedW, uint256 durationS, int64 deliveredWh) external pure returns (bool) {
        return MarketRules.compliant(committedW * durationS, deliveredWh);
    }

    // ---------------------------------------------------------------- shared checks

    function _participants(Request storage r, Schedule storage s) internal view returns (uint256) {
        return r.strategy == Strategy.Fair ? r.joined : s.participants;
    }

    function _open(uint256 requestId) internal view returns (Request storage r) {
        r = _requests[requestId];
        if (r.status == Status.None) revert UnknownRequest(requestId);
        if (r.status != Status.Open) revert RequestNotOpen(requestId, r.status);
    }

    /// @dev The response in answer slot `c` to `requestId`, or None when the slot holds another request's.
    function _responseOf(uint256 requestId, Commitment storage c) internal view returns (Response) {
        return c.requestId == requestId ? c.response : Response.None;
    }

    /// @dev An active prosumer, registered before the request opened, whose contract covers its duration.
    function _eligible(uint256 requestId, Request storage r, address p) internal view returns (Eligibility memory e) {
        e = registry.eligibility(p, r.direction);
        if (!e.active) revert NotActive(p);
        if (e.termsBlock >= r.openedBlock) revert RegisteredAfterOpen(p, e.termsBlock, r.openedBlock);
        if (r.durationS > e.maxDurationS) revert DurationBeyondContract(requestId, r.durationS, e.maxDurationS);
    }
}
