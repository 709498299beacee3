// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Strategy, DeclineReason, Eligibility} from "./FlexTypes.sol";
import {IFlexibilityMarket} from "./IFlexibilityMarket.sol";
import {MarketCore} from "./MarketCore.sol";
import {MarketRules} from "./MarketRules.sol";

/// @title Prosumers' answers: accept (fair, R7), apply (reputation, R8), decline (either)
abstract contract Answers is MarketCore {
    /// @inheritdoc IFlexibilityMarket
    function accept(uint256 requestId) external {
        Request storage r = _joinable(requestId, Strategy.Fair);
        Commitment storage c = _fresh(requestId);
        Eligibility memory e = _eligible(requestId, r);
        uint256 share = MarketRules.fairShare(r.powerW, e.flexW, r.totalFlexW, e.capacityW);
        if (share == 0) revert NothingToCommit(msg.sender);
        c.response = Response.Accepted;
        c.powerW = uint32(share); // <= capacity / 4
        c.tariff = e.tariff;
        r.joined += 1;
        unchecked {
            // The sum of shares stays <= powerW (a uint32): every joiner's flexibility is part of the
            // snapshot total, so the shares add up to at most power * total / total.
            r.committedW += uint32(share);
        }
        emit Accepted(requestId, msg.sender, uint32(share));
    }

    /// @inheritdoc IFlexibilityMarket
    function decline(uint256 requestId, uint8 reason) external {
        if (reason > uint8(type(DeclineReason).max)) revert UnknownDeclineReason(reason);
        Request storage r = _open(requestId);
        if (block.timestamp > r.deadline) revert AcceptanceClosed(requestId, r.deadline);
        Commitment storage c = _fresh(requestId);
        if (!registry.eligibility(msg.sender, r.direction).active) revert NotActive(msg.sender);
        c.response = Response.Declined;
        emit Declined(requestId, msg.sender, reason);
    }

    /// @inheritdoc IFlexibilityMarket
    function applyFor(uint256 requestId) external {
        Request storage r = _joinable(requestId, Strategy.Reputation);
        Commitment storage c = _fresh(requestId);
        Eligibility memory e = _eligible(requestId, r);
        uint256 offer = MarketRules.offer(e.flexW, e.capacityW);
        if (offer == 0) revert NothingToCommit(msg.sender);
        uint16 reputation = uint16(registry.reputation(msg.sender)); // <= 1000 by the registry's formula
        c.response = Response.Applied;
        c.powerW = uint32(offer); // <= capacity / 4
        c.tariff = e.tariff;
        c.reputation = reputation;
        r.joined += 1;
        emit Applied(requestId, msg.sender, uint32(offer), reputation);
    }

    function _joinable(uint256 requestId, Strategy strategy) private view returns (Request storage r) {
        r = _open(requestId);
        if (r.strategy != strategy) revert WrongStrategy(requestId, r.strategy);
        if (block.timestamp > r.deadline) revert AcceptanceClosed(requestId, r.deadline);
    }

    function _fresh(uint256 requestId) private view returns (Commitment storage c) {
        c = _commitments[requestId][msg.sender];
        if (c.response != Response.None) revert AlreadyResponded(requestId, msg.sender, c.response);
    }
}
