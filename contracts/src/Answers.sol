// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Strategy, DeclineReason, Eligibility, AnswerAction, SignedAnswer} from "./FlexTypes.sol";
import {IFlexibilityMarket} from "./IFlexibilityMarket.sol";
import {MarketCore} from "./MarketCore.sol";
import {MarketRules} from "./MarketRules.sol";

/// @title Prosumers' answers: accept (fair, R7), apply (reputation, R8), decline (either), sent directly
/// by the prosumer or signed by it and relayed by the aggregator in batches
/// @notice A relayed answer is the EIP-712 typed data `Answer(uint256 requestId,uint8 action,uint32 value)`
/// under the domain ("flexsim FlexibilityMarket", "1", chain id, this contract), signed by the prosumer.
/// `relayAnswers` recovers each signer (low s, v in {27, 28}, never the zero address) and records its
/// answer through the same code as the direct calls, with the signer in place of `msg.sender`.
abstract contract Answers is MarketCore {
    /// @notice EIP-712 type hash of a relayed answer.
    bytes32 public constant ANSWER_TYPEHASH = keccak256("Answer(uint256 requestId,uint8 action,uint32 value)");

    /// @inheritdoc IFlexibilityMarket
    function accept(uint256 requestId) external {
        _accept(requestId, msg.sender, type(uint32).max);
    }

    /// @inheritdoc IFlexibilityMarket
    function acceptUpTo(uint256 requestId, uint32 maxW) external {
        _accept(requestId, msg.sender, maxW);
    }

    /// @inheritdoc IFlexibilityMarket
    function decline(uint256 requestId, uint8 reason) external {
        _decline(requestId, msg.sender, reason);
    }

    /// @inheritdoc IFlexibilityMarket
    function applyFor(uint256 requestId) external {
        _apply(requestId, msg.sender);
    }

    /// @inheritdoc IFlexibilityMarket
    function relayAnswers(
        uint256 requestId,
        SignedAnswer[] calldata answers
    ) external onlyAggregator returns (uint256 recorded) {
        for (uint256 i; i < answers.length; ++i) {
            try this.answerAs(requestId, answers[i]) {
                ++recorded;
            } catch (bytes memory reason) {
                // No revert data: the answer ran out of gas (or hit the 63/64 call rule). Refusing it
                // would let a low gas limit drop answers silently, so the whole batch reverts.
                if (reason.length == 0) revert AnswerOutOfGas(i);
                emit AnswerRefused(requestId, i, bytes4(reason));
            }
        }
    }

    /// @inheritdoc IFlexibilityMarket
    function answerAs(uint256 requestId, SignedAnswer calldata answer) external {
        if (msg.sender != address(this)) revert NotSelf(msg.sender);
        uint8 action = answer.action;
        uint32 value = answer.value;
        address p = _recover(answerDigest(requestId, action, value), answer.v, answer.r, answer.s);
        if (action == uint8(AnswerAction.Accept)) {
            _accept(requestId, p, type(uint32).max);
        } else if (action == uint8(AnswerAction.AcceptUpTo)) {
            _accept(requestId, p, value);
        } else if (action == uint8(AnswerAction.Apply)) {
            _apply(requestId, p);
        } else if (action == uint8(AnswerAction.Decline)) {
            _decline(requestId, p, value > type(uint8).max ? type(uint8).max : uint8(value));
        } else {
            revert UnknownAnswerAction(action);
        }
    }

    /// @inheritdoc IFlexibilityMarket
    function answerDigest(uint256 requestId, uint8 action, uint32 value) public view returns (bytes32) {
        return _typedDataDigest(keccak256(abi.encode(ANSWER_TYPEHASH, requestId, action, value)));
    }

    function _accept(uint256 requestId, address p, uint256 maxW) private {
        Request storage r = _joinable(requestId, Strategy.Fair);
        Commitment storage c = _fresh(requestId, p);
        Eligibility memory e = _eligible(requestId, r, p);
        (uint256 share, uint256 room) = MarketRules.fairCommitment(
            r.powerW, e.flexW, r.totalFlexW, e.capacityW, maxW
        );
        if (share == 0) revert NothingToCommit(p);
        if (maxW < share) revert LimitBelowShare(requestId, share, maxW);
        // share and room <= capacity / 4: both fit uint32
        _join(c, requestId, Response.Accepted, uint32(share), e.tariff, 0, uint32(room));
        r.joined += 1;
        unchecked {
            // The sum of shares stays <= powerW (a uint32): every joiner's flexibility is part of the
            // snapshot total, so the shares add up to at most power * total / total.
            r.committedW += uint32(share);
        }
        emit Accepted(requestId, p, uint32(share));
    }

    function _decline(uint256 requestId, address p, uint8 reason) private {
        if (reason > uint8(type(DeclineReason).max)) revert UnknownDeclineReason(reason);
        Request storage r = _open(requestId);
        if (block.timestamp > r.deadline) revert AcceptanceClosed(requestId, r.deadline);
        Commitment storage c = _fresh(requestId, p);
        if (!registry.eligibility(p, r.direction).active) revert NotActive(p);
        _join(c, requestId, Response.Declined, 0, 0, 0, 0);
        emit Declined(requestId, p, reason);
    }

    function _apply(uint256 requestId, address p) private {
        Request storage r = _joinable(requestId, Strategy.Reputation);
        Commitment storage c = _fresh(requestId, p);
        Eligibility memory e = _eligible(requestId, r, p);
        uint256 offer = MarketRules.offer(e.flexW, e.capacityW);
        if (offer == 0) revert NothingToCommit(p);
        uint16 reputation = uint16(registry.reputation(p)); // <= 1000 by the registry's formula
        _join(c, requestId, Response.Applied, uint32(offer), e.tariff, reputation, 0); // offer <= capacity / 4
        r.joined += 1;
        emit Applied(requestId, p, uint32(offer), reputation);
    }

    function _joinable(uint256 requestId, Strategy strategy) private view returns (Request storage r) {
        r = _open(requestId);
        if (r.strategy != strategy) revert WrongStrategy(requestId, r.strategy);
        if (block.timestamp > r.deadline) revert AcceptanceClosed(requestId, r.deadline);
    }

    /// @dev Writes the prosumer's answer slot in one store instead of one per field. The word is
    /// `Commitment`'s storage layout: fields packed in declaration order from the low bits, here
    /// response (8 bits), powerW (32), tariff (80), deliveredWh (64, zero), reputation (16), roomW (32),
    /// requestId (24). `commitmentOf` reads it back through the struct, and the tests compare both.
    /// The tariff fits 80 bits: the registry refuses tariffs above `MAX_TARIFF` (1e24 < 2^80); the
    /// request id fits 24 bits: `openRequest` refuses ids above 2^24 - 1.
    function _join(
        Commitment storage c,
        uint256 requestId,
        Response response,
        uint32 powerW,
        uint88 tariff,
        uint16 reputation,
        uint32 roomW
    ) private {
        uint256 word = uint256(uint8(response)) |
            (uint256(powerW) << 8) |
            (uint256(tariff) << 40) |
            (uint256(reputation) << 184) |
            (uint256(roomW) << 200) |
            (requestId << 232);
        assembly ("memory-safe") {
            sstore(c.slot, word)
        }
    }

    /// @dev `p`'s answer slot, provided `p` has not answered `requestId` yet.
    function _fresh(uint256 requestId, address p) private view returns (Commitment storage c) {
        c = _answers[p];
        Response response = _responseOf(requestId, c);
        if (response != Response.None) revert AlreadyResponded(requestId, p, response);
    }
}
