// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Strategy} from "./FlexTypes.sol";
import {IFlexibilityMarket} from "./IFlexibilityMarket.sol";
import {MarketCore} from "./MarketCore.sol";
import {MarketRules} from "./MarketRules.sol";
import {SafeCast} from "./SafeCast.sol";

/// @title Settlement: measured deliveries, compliance (R10), payment (R11), reputation (R9), result
/// @notice A delivery is compliant when delivered >= 0 and |delivered - committed| <= 10 % of
/// committed, in the requested direction (magnitudes; a move the wrong way never passes). Compliant
/// participants are paid their tariff for the committed energy and gain reputation; the others get
/// a penalty. Finalising emits the aggregate result, which `result` also returns. A request with
/// recorded deliveries is finalised only with `finaliseAnchored`, which anchors the settlement's Merkle
/// root (docs/tamper-evidence.md), so every settled delivery can be verified and disputed; plain
/// `finalise` closes only a request without participants (nothing to anchor).
abstract contract Settlement is MarketCore {
    /// @inheritdoc IFlexibilityMarket
    function recordDeliveries(
        uint256 requestId,
        address[] calldata prosumers,
        int64[] calldata deliveredWh
    ) external onlyAggregator {
        if (prosumers.length != deliveredWh.length) revert LengthMismatch(prosumers.length, deliveredWh.length);
        Request storage r = _open(requestId);
        Schedule storage s = _settleable(requestId, r);
        uint256 duration = r.durationS;
        uint256 compliantCount;
        int256 deliveredSum;
        uint256 paid;
        bool[] memory outcomes = new bool[](prosumers.length);
        uint256[] memory payments = new uint256[](prosumers.length);
        for (uint256 i; i < prosumers.length; ++i) {
            (bool compliant, uint256 payment) = _settle(requestId, prosumers[i], deliveredWh[i], duration);
            outcomes[i] = compliant;
            payments[i] = payment;
            if (compliant) ++compliantCount;
            deliveredSum += deliveredWh[i];
            paid += payment;
        }
        // Each participant is recorded once, so the counts stay <= participants (a uint32).
        s.recorded += uint32(prosumers.length);
        s.compliant += uint32(compliantCount);
        Outcome storage o = _outcomes[requestId];
        o.deliveredWh += int128(deliveredSum); // |sum| <= 2^32 participants * 2^63 Wh < 2^127
        o.paid = SafeCast.toUint128(uint256(o.paid) + paid);
        registry.recordOutcomes(prosumers, outcomes);
        if (paid != 0) token.mint(prosumers, payments);
    }

    /// @inheritdoc IFlexibilityMarket
    function finalise(uint256 requestId) external onlyAggregator {
        uint32 recorded = _finalise(requestId);
        if (recorded != 0) revert AnchorRequired(requestId, recorded);
    }

    /// @inheritdoc IFlexibilityMarket
    function finaliseAnchored(uint256 requestId, bytes32 root, uint32 leafCount) external onlyAggregator {
        if (root == bytes32(0) || leafCount == 0) revert EmptyAnchor(requestId);
        uint32 recorded = _finalise(requestId);
        if (leafCount != recorded) revert LeafCountMismatch(requestId, leafCount, recorded);
        _settlementRoots[requestId] = root;
        emit SettlementAnchored(requestId, root, leafCount);
    }

    /// @dev Settles the request once every participant is recorded and emits its result; returns the
    /// deliveries recorded.
    function _finalise(uint256 requestId) private returns (uint32 recorded) {
        Request storage r = _open(requestId);
        Schedule storage s = _settleable(requestId, r);
        uint256 participants = _participants(r, s);
        recorded = s.recorded;
        if (recorded != participants) revert UnsettledParticipants(requestId, recorded, participants);
        r.status = Status.Settled;
        currentRequestId = 0;
        Result memory res = result(requestId);
        emit RequestSettled(
            requestId,
            res.requestedWh,
            res.committedWh,
            res.deliveredWh,
            res.participants,
            res.compliant,
            res.paid
        );
    }

    /// @dev Settles one participant's commitment and reports it; reputation and payment follow per batch.
    function _settle(
        uint256 requestId,
        address p,
        int64 deliveredWh,
        uint256 duration
    ) private returns (bool compliant, uint256 payment) {
        Commitment storage c = _answers[p];
        Response response = _responseOf(requestId, c);
        if (response != Response.Accepted && response != Response.Selected && response != Response.ToppedUp) {
            revert NotAParticipant(requestId, p);
        }
        uint32 committedW = c.powerW;
        uint256 committedWs = uint256(committedW) * duration; // watt-seconds
        compliant = MarketRules.compliant(committedWs, deliveredWh);
        payment = compliant ? MarketRules.payment(c.tariff, committedWs) : 0;
        c.response = compliant ? Response.Compliant : Response.Penalised;
        c.deliveredWh = deliveredWh;
        emit DeliveryRecorded(requestId, p, committedW, deliveredWh, compliant, payment);
    }

    function _settleable(uint256 requestId, Request storage r) private view returns (Schedule storage s) {
        s = _schedules[requestId];
        if (block.timestamp < s.end) revert WindowNotOver(requestId, s.end);
        if (r.strategy == Strategy.Reputation && s.ranked != r.joined) {
            revert SelectionIncomplete(requestId, s.ranked, r.joined);
        }
        uint32 counted = _topUps[requestId].counted;
        if (counted != 0 && counted != r.joined) revert TopUpIncomplete(requestId, counted, r.joined);
    }
}
