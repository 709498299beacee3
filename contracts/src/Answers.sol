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
        _accept(requestId, type(uint32).max);
    }

    /// @inheritdoc IFlexibilityMarket
    function acceptUpTo(uint256 requestId, uint32 maxW) external {
        _accept(requestId, maxW);
    }

    function _accept(uint256 requestId, uint256 maxW) private {
        Request storage r = _joinable(requestId, Strategy.Fair);
        Commitment storage c = _fresh(requestId);
        Eligibility memory e = _eligible(requestId, r);
        (uint256 share, uint256 room) = MarketRules.fairCommitment(
            r.powerW, e.flexW, r.totalFlexW, e.capacityW, maxW
        );
        if (share == 0) revert NothingToCommit(msg.sender);
        if (maxW < share) revert LimitBelowShare(requestId, share, maxW);
        // share and room <= capacity / 4: both fit uint32
        _join(c, Response.Accepted, uint32(share), e.tariff, 0, uint32(room));
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
        _join(c, Response.Applied, uint32(offer), e.tariff, reputation, 0); // offer <= capacity / 4
        r.joined += 1;
        emit Applied(requestId, msg.sender, uint32(offer), reputation);
    }

    function _joinable(uint256 requestId, Strategy strategy) private view returns (Request storage r) {
        r = _open(requestId);
        if (r.strategy != strategy) revert WrongStrategy(requestId, r.strategy);
        if (block.timestamp > r.deadline) revert AcceptanceClosed(requestId, r.deadline);
    }

    /// @dev Writes a fresh (all-zero) commitment slot in one store instead of one per field. The word
    /// is `Commitment`'s storage layout: fields packed in declaration order from the low bits, here
    /// response (8 bits), powerW (32), tariff (88), deliveredWh (64, zero), reputation (16), roomW (32).
    /// `commitmentOf` reads it back through the struct, and the tests compare both.
    function _join(
        Commitment storage c,
        Response response,
        uint32 powerW,
        uint88 tariff,
        uint16 reputation,
        uint32 roomW
    ) private {
        uint256 word = uint256(uint8(response)) |
            (uint256(powerW) << 8) |
            (uint256(tariff) << 40) |
            (uint256(reputation) << 192) |
            (uint256(roomW) << 208);
        assembly ("memory-safe") {
            sstore(c.slot, word)
        }
    }

    function _fresh(uint256 requestId) private view returns (Commitment storage c) {
        c = _commitments[requestId][msg.sender];
        if (c.response != Response.None) revert AlreadyResponded(requestId, msg.sender, c.response);
    }
}
