// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Direction, Strategy} from "./FlexTypes.sol";
import {IFlexibilityMarket} from "./IFlexibilityMarket.sol";
import {MarketCore} from "./MarketCore.sol";
import {SafeCast} from "./SafeCast.sol";

/// @title Opening, modifying, cancelling and closing requests (rule R6; liveness)
abstract contract RequestLifecycle is MarketCore {
    /// @inheritdoc IFlexibilityMarket
    function openRequest(
        Direction direction,
        uint32 powerW,
        uint32 durationS,
        uint32 start,
        uint32 end,
        uint32 deadline,
        Strategy strategy,
        address[] calldata lapsed
    ) external onlyAggregator returns (uint256 requestId) {
        if (currentRequestId != 0) revert RequestStillOpen(currentRequestId);
        _checkSchedule(powerW, durationS, start, end, deadline);
        if (lapsed.length != 0) registry.expire(lapsed);
        (uint96 upW, uint96 downW, ) = registry.totals();
        uint96 total = direction == Direction.Up ? upW : downW;
        if (total == 0) revert NoFlexibilityAvailable(direction);
        if (total > type(uint40).max) total = type(uint40).max; // > 1.1 TW: shares only get smaller
        requestId = requestCount + 1;
        if (requestId > type(uint24).max) revert RequestLimitReached(type(uint24).max); // answer slots' width
        requestCount = uint64(requestId); // requestCount is a uint64 itself
        currentRequestId = SafeCast.toUint32(requestId);
        _requests[requestId] = Request(
            Status.Open,
            strategy,
            direction,
            powerW,
            durationS,
            deadline,
            SafeCast.toUint32(block.number),
            uint40(total),
            0,
            0
        );
        _schedules[requestId] = Schedule(start, end, 0, 0, 0, 0);
        emit FlexibilityRequested(requestId, direction, strategy, powerW, durationS, start, end, deadline, uint40(total));
    }

    /// @inheritdoc IFlexibilityMarket
    function modifyRequest(
        uint256 requestId,
        uint32 powerW,
        uint32 durationS,
        uint32 start,
        uint32 end,
        uint32 deadline
    ) external onlyAggregator {
        Request storage r = _open(requestId);
        if (block.timestamp > r.deadline) revert AcceptanceClosed(requestId, r.deadline);
        if ((powerW != r.powerW || durationS != r.durationS) && r.joined != 0) {
            revert TermsChangeAfterJoin(requestId, r.joined);
        }
        _checkSchedule(powerW, durationS, start, end, deadline);
        r.powerW = powerW;
        r.durationS = durationS;
        r.deadline = deadline;
        Schedule storage s = _schedules[requestId];
        s.start = start;
        s.end = end;
        emit RequestModified(requestId, powerW, durationS, start, end, deadline);
    }

    /// @inheritdoc IFlexibilityMarket
    function cancelRequest(uint256 requestId) external onlyAggregator {
        Request storage r = _open(requestId);
        uint32 start = _schedules[requestId].start;
        if (block.timestamp >= start) revert AlreadyStarted(requestId, start);
        r.status = Status.Cancelled;
        currentRequestId = 0;
        emit RequestCancelled(requestId);
    }

    /// @inheritdoc IFlexibilityMarket
    function closeRequest(uint256 requestId) external onlyAggregator {
        Request storage r = _open(requestId);
        Schedule storage s = _schedules[requestId];
        uint256 from = _closableAt(s);
        if (block.timestamp < from) revert CloseTooEarly(requestId, from);
        r.status = Status.Closed;
        currentRequestId = 0;
        emit RequestClosed(requestId, s.recorded, _participants(r, s));
    }

    /// @inheritdoc IFlexibilityMarket
    function closableAt(uint256 requestId) external view returns (uint256) {
        return _closableAt(_schedules[requestId]);
    }

    function _closableAt(Schedule storage s) private view returns (uint256) {
        uint256 window = uint256(s.end) - s.start;
        return uint256(s.end) + (window > MIN_CLOSE_GRACE_S ? window : MIN_CLOSE_GRACE_S);
    }

    function _checkSchedule(uint32 powerW, uint32 durationS, uint32 start, uint32 end, uint32 deadline) private view {
        if (powerW == 0) revert ZeroPower();
        if (durationS == 0) revert ZeroDuration();
        if (deadline < block.timestamp || start < deadline || end <= start) {
            revert InvalidSchedule(block.timestamp, deadline, start, end);
        }
    }
}
