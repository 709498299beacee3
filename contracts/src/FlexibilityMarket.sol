// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IRegistry, IFlexToken} from "./FlexTypes.sol";
import {MarketCore} from "./MarketCore.sol";
import {RequestLifecycle} from "./RequestLifecycle.sol";
import {Answers} from "./Answers.sol";
import {Selection} from "./Selection.sol";
import {Settlement} from "./Settlement.sol";
import {TopUp} from "./TopUp.sol";

/// @title FlexibilityMarket: flexibility requests, commitments, delivery and payment (rules R6-R11)
/// @notice The aggregator opens one request at a time (`RequestLifecycle`, R6). Under the fair strategy
/// every active prosumer registered before the request may accept its share: power * its flexibility /
/// total flexibility (totals snapshotted at opening), at most 25% of its capacity (`Answers`, R7);
/// after the deadline the share the decliners left is re-offered to the accepters (`TopUp`, R7).
/// Under the reputation strategy prosumers apply; after the deadline the aggregator submits the
/// ranking, which the contract checks across batches (`Selection`, R8). After the window the
/// aggregator records each participant's measured delivery in bounded batches and finalises with the
/// settlement's Merkle root anchored (`Settlement`, R9-R11). A request that cannot be finished is cancelled before its start or closed
/// after its window and grace, so the next one can always open. The interface, with every error and
/// event, is `IFlexibilityMarket`; the rules as pure functions are in `MarketRules`.
contract FlexibilityMarket is RequestLifecycle, Answers, TopUp, Selection, Settlement {
    constructor(
        IRegistry registry_,
        IFlexToken token_,
        address aggregator_
    ) MarketCore(registry_, token_, aggregator_) {}
}
