// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title The market's rules as pure functions: shares, offers, ranking, compliance, payment
/// @notice Mirrored in Python by `domain/market_rules.py`; `tests/contracts/test_market_rules.py`
/// compares both on the same inputs.
library MarketRules {
    /// @notice R10: a delivery is compliant within 1/10 (10 %) of the commitment.
    uint256 internal constant TOLERANCE_DIVISOR = 10;
    /// @notice R7: a modulation never exceeds 1/4 (25 %) of the DER's capacity.
    uint256 internal constant MAX_SHARE_DIVISOR = 4;
    /// @notice A fair top-up round books at most power + power / 4 (over-booking, `TopUp`).
    uint256 internal constant MAX_OVERBOOK_DIVISOR = 4;

    /// @notice A candidate's ranking key (R8).
    struct RankKey {
        uint16 reputation;
        uint32 flexW;
        uint88 tariff;
    }

    /// @notice R7: power * flex / total flex, at most 25 % of capacity. Fits uint32 (<= capacity / 4).
    function fairShare(uint256 powerW, uint256 flexW, uint256 totalFlexW, uint256 capacityW) internal pure returns (uint256) {
        uint256 share = (powerW * flexW) / totalFlexW;
        uint256 cap = capacityW / MAX_SHARE_DIVISOR;
        return share > cap ? cap : share;
    }

    /// @notice R8: what a candidate offers: its flexibility, at most 25 % of its capacity.
    function offer(uint256 flexW, uint256 capacityW) internal pure returns (uint256) {
        uint256 cap = capacityW / MAX_SHARE_DIVISOR;
        return flexW < cap ? flexW : cap;
    }

    /// @notice R7 with its top-up: the fair share, and the room the accepter leaves for a top-up: the
    /// lesser of its own limit `maxW` and its offer (flexibility, at most 25 % of capacity), minus the
    /// share. Both fit uint32 (<= capacity / 4).
    function fairCommitment(
        uint256 powerW,
        uint256 flexW,
        uint256 totalFlexW,
        uint256 capacityW,
        uint256 maxW
    ) internal pure returns (uint256 share, uint256 room) {
        uint256 cap = capacityW / MAX_SHARE_DIVISOR;
        share = (powerW * flexW) / totalFlexW;
        if (share > cap) share = cap;
        uint256 most = flexW < cap ? flexW : cap; // the offer
        if (maxW < most) most = maxW;
        room = most > share ? most - share : 0;
    }

    /// @notice R7's top-up: an accepter's part of the `gapW` the decliners left, in proportion to its room
    /// among `totalRoomW`, never more than its room. Floor division: the parts never add up to more.
    function topUp(uint256 gapW, uint256 roomW, uint256 totalRoomW) internal pure returns (uint256) {
        uint256 part = (gapW * roomW) / totalRoomW;
        return part < roomW ? part : roomW;
    }

    /// @notice R8: true when `a` ranks strictly above `b`: higher reputation, then more offered
    /// flexibility, then a lower tariff.
    function outranks(RankKey memory a, RankKey memory b) internal pure returns (bool) {
        if (a.reputation != b.reputation) return a.reputation > b.reputation;
        if (a.flexW != b.flexW) return a.flexW > b.flexW;
        return a.tariff < b.tariff;
    }

    /// @notice R10: delivered >= 0 and |delivered - committed| <= committed / 10, compared in
    /// watt-seconds without division, so a move in the wrong direction never passes by sign.
    function compliant(uint256 committedWs, int64 deliveredWh) internal pure returns (bool) {
        if (deliveredWh < 0) return false;
        uint256 deliveredWs = uint256(uint64(deliveredWh)) * 3600;
        uint256 diff = deliveredWs > committedWs ? deliveredWs - committedWs : committedWs - deliveredWs;
        return diff * TOLERANCE_DIVISOR <= committedWs;
    }

    /// @notice R11: the tariff (per kWh) times the committed energy, in token base units.
    function payment(uint256 tariff, uint256 committedWs) internal pure returns (uint256) {
        return (tariff * committedWs) / 3_600_000;
    }
}
