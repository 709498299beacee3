// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Strategy} from "./FlexTypes.sol";
import {IFlexibilityMarket} from "./IFlexibilityMarket.sol";
import {MarketCore} from "./MarketCore.sol";
import {MarketRules} from "./MarketRules.sol";

/// @title The reputation strategy's selection (rule R8), checked in one pass per batch
/// @notice The aggregator submits every candidate exactly once, in non-increasing order of the ranking
/// key, possibly over several calls: selected until the request is covered, then displaced. The
/// contract keeps the last ranked key between calls, so the order holds across batches; settlement
/// waits until every candidate is ranked. The only selection that can complete is therefore the
/// documented ranking (candidates with equal keys in any order). A submission that leaves out a
/// candidate who outranks a later one can never complete: the aggregator then cancels the request
/// before its start or closes it after its window (`closeRequest`).
abstract contract Selection is MarketCore {
    /// @dev Running state of a selection pass.
    struct Ranking {
        uint256 power;
        uint256 committed;
        uint256 participants;
        uint256 ranked;
        MarketRules.RankKey last;
    }

    /// @inheritdoc IFlexibilityMarket
    function select(
        uint256 requestId,
        address[] calldata selected,
        address[] calldata displaced
    ) external onlyAggregator {
        Request storage r = _open(requestId);
        if (r.strategy != Strategy.Reputation) revert WrongStrategy(requestId, r.strategy);
        if (block.timestamp <= r.deadline) revert AcceptanceStillOpen(requestId, r.deadline);
        Schedule storage s = _schedules[requestId];
        Ranking memory k = Ranking(r.powerW, r.committedW, s.participants, s.ranked, _lastRanked[requestId]);
        for (uint256 i; i < selected.length; ++i) _selectOne(requestId, selected[i], k);
        for (uint256 i; i < displaced.length; ++i) _displaceOne(requestId, displaced[i], k);
        // committed <= power and participants, ranked <= joined: all fit their uint32 fields.
        r.committedW = uint32(k.committed);
        s.participants = uint32(k.participants);
        s.ranked = uint32(k.ranked);
        _lastRanked[requestId] = k.last;
        if (k.ranked == r.joined) emit SelectionCompleted(requestId, uint32(k.participants), uint32(k.committed));
    }

    function _selectOne(uint256 requestId, address p, Ranking memory k) private {
        Commitment storage c = _candidate(requestId, p);
        if (k.committed >= k.power) revert AlreadyCovered(requestId, p);
        MarketRules.RankKey memory key = MarketRules.RankKey(c.reputation, c.powerW, c.tariff);
        if (k.ranked != 0 && MarketRules.outranks(key, k.last)) revert SelectionOutOfOrder(requestId, p);
        uint256 commit = c.powerW;
        if (commit > k.power - k.committed) commit = k.power - k.committed;
        c.response = Response.Selected;
        c.powerW = uint32(commit); // <= the offer, a uint32
        k.committed += commit;
        k.participants += 1;
        k.ranked += 1;
        k.last = key;
        emit Selected(requestId, p, uint32(commit), key.reputation);
    }

    function _displaceOne(uint256 requestId, address p, Ranking memory k) private {
        Commitment storage c = _candidate(requestId, p);
        if (k.committed < k.power) revert NotYetCovered(requestId, p);
        MarketRules.RankKey memory key = MarketRules.RankKey(c.reputation, c.powerW, c.tariff);
        if (k.ranked != 0 && MarketRules.outranks(key, k.last)) revert DisplacedOutOfOrder(requestId, p);
        c.response = Response.Displaced;
        k.ranked += 1;
        k.last = key;
        emit Displaced(requestId, p, key.reputation);
    }

    function _candidate(uint256 requestId, address p) private view returns (Commitment storage c) {
        c = _answers[p];
        if (_responseOf(requestId, c) != Response.Applied) revert NotACandidate(requestId, p);
    }
}
