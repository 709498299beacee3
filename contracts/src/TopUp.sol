// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Strategy} from "./FlexTypes.sol";
import {IFlexibilityMarket} from "./IFlexibilityMarket.sol";
import {MarketCore} from "./MarketCore.sol";
import {MarketRules} from "./MarketRules.sol";

/// @title The fair strategy's top-up round (rule R7)
/// @notice Under the fair strategy a prosumer's share is computed from every registered prosumer's
/// flexibility, so what the decliners would have given stays uncovered. After the deadline the
/// aggregator re-offers that gap to the accepters, in proportion to each one's room (what it offered
/// beyond its share, up to the limit it set when accepting): `extra = min(room, gap * room / total)`.
/// Nobody is asked for more than it offered; the extras never add up to more than the gap; each
/// accepter's total commitment is what it is measured and paid on.
/// Over-booking: the round may aim above the power, at `bookedW <= 5/4 power`, when the aggregator's
/// fleet delivered less than it committed before; the gap is then `bookedW - committed`. The request,
/// and what it is judged on, stays the power.
abstract contract TopUp is MarketCore {
    /// @inheritdoc IFlexibilityMarket
    function topUp(
        uint256 requestId,
        uint64 totalRoomW,
        uint32 bookedW,
        address[] calldata prosumers
    ) external onlyAggregator {
        Request storage r = _open(requestId);
        if (r.strategy != Strategy.Fair) revert WrongStrategy(requestId, r.strategy);
        if (block.timestamp <= r.deadline) revert AcceptanceStillOpen(requestId, r.deadline);
        uint32 start = _schedules[requestId].start;
        if (block.timestamp >= start) revert AlreadyStarted(requestId, start);
        TopUpRound memory t = _topUps[requestId];
        uint32 booked = bookedW == 0 ? r.powerW : bookedW;
        if (t.counted == 0 && t.declaredRoomW == 0) {
            if (booked < r.powerW || booked - r.powerW > r.powerW / MarketRules.MAX_OVERBOOK_DIVISOR) {
                revert BookingOutOfBounds(requestId, r.powerW, booked);
            }
            t.gapW = booked - r.committedW; // committed <= power <= booked before the round
            t.declaredRoomW = totalRoomW;
            t.bookedW = booked;
        } else if (totalRoomW != t.declaredRoomW) {
            revert TopUpRoomChanged(requestId, t.declaredRoomW, totalRoomW);
        } else if (booked != t.bookedW) {
            revert BookingOutOfBounds(requestId, r.powerW, booked);
        }
        uint256 extraSum;
        uint256 roomSum;
        for (uint256 i; i < prosumers.length; ++i) {
            (uint256 extra, uint256 room) = _topUpOne(requestId, prosumers[i], t);
            extraSum += extra;
            roomSum += room;
        }
        // Each extra <= gap * room / declared, so while the rooms add up to at most the declared total
        // the extras add up to at most the gap: committed stays <= booked (<= 5/4 power: fits uint32).
        t.summedRoomW += uint64(roomSum); // the rooms sum at most 2^32 accepters * 2^32 W
        if (t.summedRoomW > t.declaredRoomW) revert TopUpRoomMismatch(requestId, t.declaredRoomW, t.summedRoomW);
        t.counted += uint32(prosumers.length); // each accepter once, and there are <= joined of them
        t.extraW += uint32(extraSum);
        r.committedW += uint32(extraSum);
        if (t.counted == r.joined) {
            if (t.summedRoomW != t.declaredRoomW) revert TopUpRoomMismatch(requestId, t.declaredRoomW, t.summedRoomW);
            emit TopUpCompleted(requestId, t.extraW, r.committedW);
        }
        _topUps[requestId] = t;
    }

    /// @inheritdoc IFlexibilityMarket
    function topUpOf(uint256 requestId) external view returns (TopUpRound memory) {
        return _topUps[requestId];
    }

    function _topUpOne(
        uint256 requestId,
        address p,
        TopUpRound memory t
    ) private returns (uint256 extra, uint256 room) {
        Commitment storage c = _answers[p];
        if (_responseOf(requestId, c) != Response.Accepted) revert NotToppable(requestId, p);
        room = c.roomW;
        extra = t.declaredRoomW == 0 ? 0 : MarketRules.topUp(t.gapW, room, t.declaredRoomW);
        uint32 total = c.powerW + uint32(extra); // share + room <= capacity / 4
        c.response = Response.ToppedUp;
        c.powerW = total;
        emit ToppedUp(requestId, p, uint32(extra), total);
    }
}
