// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Owned} from "./Owned.sol";
import {Direction, Strategy, Eligibility, IRegistry, IFlexToken} from "./FlexTypes.sol";

/// @title FlexibilityMarket: flexibility requests, commitments, delivery and payment (rules R6-R11)
/// @notice The aggregator opens one request at a time. Under the fair strategy every active prosumer
/// registered before the request may accept its share: power * its flexibility / total flexibility
/// (totals snapshotted at opening), at most 25% of its capacity. Under the reputation strategy
/// prosumers apply; after the deadline the aggregator submits the ranking, which the contract checks
/// in one pass: selected candidates in non-increasing order of the ranking key (reputation desc, then
/// offered flexibility desc, then tariff asc), selected until the request is covered (the last one
/// commits only the remainder), and no displaced candidate ranking above the last selected one.
/// After the window the aggregator records each participant's measured delivery in bounded batches:
/// a delivery is compliant when delivered >= 0 and |delivered - committed| <= 10% of committed, in the
/// requested direction (magnitudes; a move the wrong way never passes). Compliant participants are
/// paid their tariff for the committed energy and gain reputation; the others get a penalty.
/// Finalising emits the aggregate result, which `result` also returns.
/// @dev Timestamps are `block.timestamp` seconds. `durationS` is the contracted duration that energy is
/// computed from; [start, end) is the window on the chain clock (equal to durationS at speed 1).
contract FlexibilityMarket is Owned {
    enum Status {
        None,
        Open,
        Settled,
        Cancelled
    }

    /// @notice A prosumer's standing in one request.
    enum Response {
        None,
        Accepted, // fair: committed to its share
        Declined, // said no, with a reason code
        Applied, // reputation: candidate
        Selected, // reputation: committed
        Displaced, // reputation: outranked
        Compliant, // settled within tolerance, paid
        Penalised // settled outside tolerance
    }

    /// @dev Slot read (and for joins, written) by accept and apply.
    struct Request {
        Status status;
        Strategy strategy;
        Direction direction;
        uint32 powerW;
        uint32 deadline;
        uint32 openedBlock;
        uint48 totalFlexW; // snapshot of total contracted flexibility in `direction`
        uint32 joined; // accepted (fair) or applied (reputation)
        uint56 committedW; // sum of committed power
    }

    struct Schedule {
        uint32 start;
        uint32 end;
        uint32 durationS;
        uint32 participants; // reputation: selected prosumers (fair: every joiner participates)
        uint32 ranked; // reputation: candidates selected or displaced so far
        uint32 recorded; // deliveries recorded
        uint32 compliant; // compliant deliveries
    }

    struct Outcome {
        int64 deliveredWh;
        uint128 paid;
    }

    struct Commitment {
        Response response;
        uint32 powerW; // committed (or, for a candidate, offered) power
        uint88 tariff; // tariff in the request's direction when the prosumer joined
        int64 deliveredWh;
    }

    struct RankKey {
        uint16 reputation;
        uint32 flexW;
        uint88 tariff;
    }

    /// @notice The aggregate result of a request (rule R10).
    struct Result {
        uint256 requestedWh;
        uint256 committedWh;
        int256 deliveredWh;
        uint256 participants;
        uint256 compliant;
        uint256 paid;
    }

    uint256 public constant TOLERANCE_DIVISOR = 10; // 10 %
    uint256 public constant MAX_SHARE_DIVISOR = 4; // 25 % of capacity

    IRegistry public immutable registry;
    IFlexToken public immutable token;
    // One slot, non-zero from construction: opening a request reads the role and updates the
    // counters with a single slot access, never paying for a new slot.
    address public aggregator;
    uint64 public requestCount;
    uint32 public currentRequestId; // 0 when no request is open

    mapping(uint256 => Request) private _requests;
    mapping(uint256 => Schedule) private _schedules;
    mapping(uint256 => Outcome) private _outcomes;
    mapping(uint256 => RankKey) private _lastSelected;
    mapping(uint256 => mapping(address => Commitment)) private _commitments;

    error NotAggregator(address caller);
    /// @notice Another request is still open; settle or cancel it first.
    error RequestStillOpen(uint256 openRequestId);
    error UnknownRequest(uint256 requestId);
    error RequestNotOpen(uint256 requestId, Status status);
    error InvalidSchedule(uint256 nowTs, uint256 deadline, uint256 start, uint256 end);
    error ZeroPower();
    error ZeroDuration();
    error NoFlexibilityAvailable(Direction direction);
    error WrongStrategy(uint256 requestId, Strategy strategy);
    error AlreadyStarted(uint256 requestId, uint256 start);
    error TermsChangeAfterJoin(uint256 requestId, uint256 joined);
    error AcceptanceClosed(uint256 requestId, uint256 deadline);
    error AcceptanceStillOpen(uint256 requestId, uint256 deadline);
    error AlreadyResponded(uint256 requestId, address prosumer, Response response);
    error NotActive(address prosumer);
    error RegisteredAfterOpen(address prosumer, uint256 termsBlock, uint256 openedBlock);
    error NothingToCommit(address prosumer);
    error NotACandidate(uint256 requestId, address prosumer);
    error SelectionOutOfOrder(uint256 requestId, address prosumer);
    error AlreadyCovered(uint256 requestId, address prosumer);
    error NotYetCovered(uint256 requestId, address prosumer);
    error DisplacedOutranksSelected(uint256 requestId, address prosumer);
    error SelectionIncomplete(uint256 requestId, uint256 ranked, uint256 candidates);
    error WindowNotOver(uint256 requestId, uint256 end);
    error LengthMismatch(uint256 prosumers, uint256 deliveries);
    error NotAParticipant(uint256 requestId, address prosumer);
    error UnsettledParticipants(uint256 requestId, uint256 recorded, uint256 participants);

    event AggregatorChanged(address indexed aggregator);
    event FlexibilityRequested(
        uint256 indexed requestId,
        Direction direction,
        Strategy strategy,
        uint32 powerW,
        uint32 durationS,
        uint32 start,
        uint32 end,
        uint32 deadline,
        uint48 totalFlexW
    );
    event RequestModified(uint256 indexed requestId, uint32 powerW, uint32 durationS, uint32 start, uint32 end, uint32 deadline);
    event RequestCancelled(uint256 indexed requestId);
    event Accepted(uint256 indexed requestId, address indexed prosumer, uint32 powerW);
    event Declined(uint256 indexed requestId, address indexed prosumer, uint8 reason);
    event Applied(uint256 indexed requestId, address indexed prosumer, uint32 offeredW);
    event Selected(uint256 indexed requestId, address indexed prosumer, uint32 powerW, uint16 reputation);
    event Displaced(uint256 indexed requestId, address indexed prosumer, uint16 reputation);
    event SelectionCompleted(uint256 indexed requestId, uint32 participants, uint56 committedW);
    event DeliveryRecorded(
        uint256 indexed requestId,
        address indexed prosumer,
        uint32 committedW,
        int64 deliveredWh,
        bool compliant,
        uint256 payment
    );
    event RequestSettled(
        uint256 indexed requestId,
        uint256 requestedWh,
        uint256 committedWh,
        int256 deliveredWh,
        uint256 participants,
        uint256 compliant,
        uint256 paid
    );

    modifier onlyAggregator() {
        if (msg.sender != aggregator) revert NotAggregator(msg.sender);
        _;
    }

    constructor(IRegistry registry_, IFlexToken token_, address aggregator_) {
        if (address(registry_) == address(0) || address(token_) == address(0) || aggregator_ == address(0)) {
            revert ZeroAddress();
        }
        registry = registry_;
        token = token_;
        aggregator = aggregator_;
        emit AggregatorChanged(aggregator_);
    }

    function setAggregator(address aggregator_) external onlyOwner {
        if (aggregator_ == address(0)) revert ZeroAddress();
        aggregator = aggregator_;
        emit AggregatorChanged(aggregator_);
    }

    // ---------------------------------------------------------------- aggregator: request life cycle

    /// @notice Opens a request (one at a time). `deadline` closes acceptance; the window is [start, end).
    /// `lapsed` lists registrations the aggregator knows to have expired: they are dropped from the
    /// registry totals first, so the snapshot counts active flexibility only (pass [] when none).
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
        if (total > type(uint48).max) total = type(uint48).max; // > 281 GW: shares only get smaller
        requestId = requestCount + 1;
        requestCount = uint64(requestId);
        currentRequestId = uint32(requestId);
        _requests[requestId] = Request(
            Status.Open,
            strategy,
            direction,
            powerW,
            deadline,
            uint32(block.number),
            uint48(total),
            0,
            0
        );
        _schedules[requestId] = Schedule(start, end, durationS, 0, 0, 0, 0);
        emit FlexibilityRequested(requestId, direction, strategy, powerW, durationS, start, end, deadline, uint48(total));
    }

    /// @notice Changes the timing (and, while nobody joined, the power and duration) of an open request
    /// before its start. Power and duration fix what joiners committed to, so they freeze at the first join.
    function modifyRequest(
        uint256 requestId,
        uint32 powerW,
        uint32 durationS,
        uint32 start,
        uint32 end,
        uint32 deadline
    ) external onlyAggregator {
        Request storage r = _open(requestId);
        Schedule storage s = _schedules[requestId];
        if (block.timestamp >= s.start) revert AlreadyStarted(requestId, s.start);
        if ((powerW != r.powerW || durationS != s.durationS) && r.joined != 0) {
            revert TermsChangeAfterJoin(requestId, r.joined);
        }
        _checkSchedule(powerW, durationS, start, end, deadline);
        r.powerW = powerW;
        r.deadline = deadline;
        s.start = start;
        s.end = end;
        s.durationS = durationS;
        emit RequestModified(requestId, powerW, durationS, start, end, deadline);
    }

    /// @notice Cancels an open request before its start; nobody is paid or penalised.
    function cancelRequest(uint256 requestId) external onlyAggregator {
        Request storage r = _open(requestId);
        uint32 start = _schedules[requestId].start;
        if (block.timestamp >= start) revert AlreadyStarted(requestId, start);
        r.status = Status.Cancelled;
        currentRequestId = 0;
        emit RequestCancelled(requestId);
    }

    // ---------------------------------------------------------------- prosumers

    /// @notice Fair strategy: commits the caller to its share of the request.
    function accept(uint256 requestId) external {
        Request storage r = _joinable(requestId, Strategy.Fair);
        Commitment storage c = _fresh(requestId);
        Eligibility memory e = _eligible(r);
        uint256 share = (uint256(r.powerW) * e.flexW) / r.totalFlexW;
        uint256 cap = e.capacityW / MAX_SHARE_DIVISOR;
        if (share > cap) share = cap;
        if (share == 0) revert NothingToCommit(msg.sender);
        c.response = Response.Accepted;
        c.powerW = uint32(share);
        c.tariff = e.tariff;
        r.joined += 1;
        r.committedW += uint56(share);
        emit Accepted(requestId, msg.sender, uint32(share));
    }

    /// @notice Says no to a request, with a reason code (documented off chain).
    function decline(uint256 requestId, uint8 reason) external {
        Request storage r = _open(requestId);
        if (block.timestamp > r.deadline) revert AcceptanceClosed(requestId, r.deadline);
        Commitment storage c = _fresh(requestId);
        c.response = Response.Declined;
        emit Declined(requestId, msg.sender, reason);
    }

    /// @notice Reputation strategy: the caller becomes a candidate, offering its flexibility (at most
    /// 25% of its capacity).
    function applyFor(uint256 requestId) external {
        Request storage r = _joinable(requestId, Strategy.Reputation);
        Commitment storage c = _fresh(requestId);
        Eligibility memory e = _eligible(r);
        uint256 offer = e.capacityW / MAX_SHARE_DIVISOR;
        if (e.flexW < offer) offer = e.flexW;
        if (offer == 0) revert NothingToCommit(msg.sender);
        c.response = Response.Applied;
        c.powerW = uint32(offer);
        c.tariff = e.tariff;
        r.joined += 1;
        emit Applied(requestId, msg.sender, uint32(offer));
    }

    // ---------------------------------------------------------------- aggregator: selection

    /// @notice Submits (part of) the ranking for a reputation request after its deadline. May be split
    /// over several calls: all selected first, in ranking order, then the displaced.
    function select(
        uint256 requestId,
        address[] calldata selected,
        address[] calldata displaced
    ) external onlyAggregator {
        Request storage r = _open(requestId);
        if (r.strategy != Strategy.Reputation) revert WrongStrategy(requestId, r.strategy);
        if (block.timestamp <= r.deadline) revert AcceptanceStillOpen(requestId, r.deadline);
        Schedule storage s = _schedules[requestId];
        Ranking memory k = Ranking(r.powerW, r.committedW, s.participants, _lastSelected[requestId]);
        for (uint256 i; i < selected.length; ++i) _selectOne(requestId, selected[i], k);
        for (uint256 i; i < displaced.length; ++i) _displaceOne(requestId, displaced[i], k);
        r.committedW = uint56(k.committed);
        s.participants = uint32(k.participants);
        uint256 ranked = s.ranked + selected.length + displaced.length;
        s.ranked = uint32(ranked);
        _lastSelected[requestId] = k.last;
        if (ranked == r.joined) emit SelectionCompleted(requestId, uint32(k.participants), uint56(k.committed));
    }

    // ---------------------------------------------------------------- aggregator: settlement

    /// @notice Records measured deliveries (Wh, in the requested direction) after the window, pays the
    /// compliant participants and updates reputations. Bounded batches; see `bench gas` for the size.
    function recordDeliveries(
        uint256 requestId,
        address[] calldata prosumers,
        int64[] calldata deliveredWh
    ) external onlyAggregator {
        if (prosumers.length != deliveredWh.length) revert LengthMismatch(prosumers.length, deliveredWh.length);
        Request storage r = _open(requestId);
        Schedule storage s = _settleable(requestId, r);
        uint256 duration = s.durationS;
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
        registry.recordOutcomes(prosumers, outcomes);
        if (paid != 0) token.mint(prosumers, payments);
        s.recorded += uint32(prosumers.length);
        s.compliant += uint32(compliantCount);
        Outcome storage o = _outcomes[requestId];
        o.deliveredWh += int64(deliveredSum);
        o.paid += uint128(paid);
    }

    /// @notice Closes a request once every participant's delivery is recorded; emits the aggregate result.
    function finalise(uint256 requestId) external onlyAggregator {
        Request storage r = _open(requestId);
        Schedule storage s = _settleable(requestId, r);
        uint256 participants = _participants(r, s);
        if (s.recorded != participants) revert UnsettledParticipants(requestId, s.recorded, participants);
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

    // ---------------------------------------------------------------- views

    function request(uint256 requestId) external view returns (Request memory, Schedule memory) {
        return (_requests[requestId], _schedules[requestId]);
    }

    function commitmentOf(uint256 requestId, address prosumer) external view returns (Commitment memory) {
        return _commitments[requestId][prosumer];
    }

    /// @notice The aggregate result: final once the request is Settled.
    function result(uint256 requestId) public view returns (Result memory) {
        Request storage r = _requests[requestId];
        Schedule storage s = _schedules[requestId];
        Outcome storage o = _outcomes[requestId];
        return
            Result(
                (uint256(r.powerW) * s.durationS) / 3600,
                (uint256(r.committedW) * s.durationS) / 3600,
                o.deliveredWh,
                _participants(r, s),
                s.compliant,
                o.paid
            );
    }

    /// @notice The compliance rule, exposed for off-chain checks: delivered >= 0 and
    /// |delivered - committed| <= committed / 10, computed in watt-seconds without division.
    function isCompliant(uint256 committedW, uint256 durationS, int64 deliveredWh) external pure returns (bool) {
        return _compliant(committedW * durationS, deliveredWh);
    }

    // ---------------------------------------------------------------- internals

    function _participants(Request storage r, Schedule storage s) private view returns (uint256) {
        return r.strategy == Strategy.Fair ? r.joined : s.participants;
    }

    /// @dev Running state of a selection pass.
    struct Ranking {
        uint256 power;
        uint256 committed;
        uint256 participants;
        RankKey last;
    }

    function _selectOne(uint256 requestId, address p, Ranking memory k) private {
        Commitment storage c = _candidate(requestId, p);
        if (k.committed >= k.power) revert AlreadyCovered(requestId, p);
        RankKey memory key = _key(p, c);
        if (k.participants != 0 && _outranks(key, k.last)) revert SelectionOutOfOrder(requestId, p);
        uint256 commit = c.powerW;
        if (commit > k.power - k.committed) commit = k.power - k.committed;
        c.response = Response.Selected;
        c.powerW = uint32(commit);
        k.committed += commit;
        k.participants += 1;
        k.last = key;
        emit Selected(requestId, p, uint32(commit), key.reputation);
    }

    function _displaceOne(uint256 requestId, address p, Ranking memory k) private {
        Commitment storage c = _candidate(requestId, p);
        if (k.committed < k.power) revert NotYetCovered(requestId, p);
        RankKey memory key = _key(p, c);
        if (_outranks(key, k.last)) revert DisplacedOutranksSelected(requestId, p);
        c.response = Response.Displaced;
        emit Displaced(requestId, p, key.reputation);
    }

    /// @dev Settles one participant's commitment and reports it; reputation and payment follow per batch.
    function _settle(
        uint256 requestId,
        address p,
        int64 deliveredWh,
        uint256 duration
    ) private returns (bool compliant, uint256 payment) {
        Commitment storage c = _commitments[requestId][p];
        Response response = c.response;
        if (response != Response.Accepted && response != Response.Selected) revert NotAParticipant(requestId, p);
        uint32 committedW = c.powerW;
        uint256 committedWs = uint256(committedW) * duration; // watt-seconds
        compliant = _compliant(committedWs, deliveredWh);
        payment = compliant ? (uint256(c.tariff) * committedWs) / 3_600_000 : 0;
        c.response = compliant ? Response.Compliant : Response.Penalised;
        c.deliveredWh = deliveredWh;
        emit DeliveryRecorded(requestId, p, committedW, deliveredWh, compliant, payment);
    }

    function _compliant(uint256 committedWs, int64 deliveredWh) private pure returns (bool) {
        if (deliveredWh < 0) return false;
        uint256 deliveredWs = uint256(uint64(deliveredWh)) * 3600;
        uint256 diff = deliveredWs > committedWs ? deliveredWs - committedWs : committedWs - deliveredWs;
        return diff * TOLERANCE_DIVISOR <= committedWs;
    }

    function _checkSchedule(uint32 powerW, uint32 durationS, uint32 start, uint32 end, uint32 deadline) private view {
        if (powerW == 0) revert ZeroPower();
        if (durationS == 0) revert ZeroDuration();
        if (deadline < block.timestamp || start < deadline || end <= start) {
            revert InvalidSchedule(block.timestamp, deadline, start, end);
        }
    }

    function _open(uint256 requestId) private view returns (Request storage r) {
        r = _requests[requestId];
        if (r.status == Status.None) revert UnknownRequest(requestId);
        if (r.status != Status.Open) revert RequestNotOpen(requestId, r.status);
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

    function _eligible(Request storage r) private view returns (Eligibility memory e) {
        e = registry.eligibility(msg.sender, r.direction);
        if (!e.active) revert NotActive(msg.sender);
        if (e.termsBlock >= r.openedBlock) revert RegisteredAfterOpen(msg.sender, e.termsBlock, r.openedBlock);
    }

    function _candidate(uint256 requestId, address p) private view returns (Commitment storage c) {
        c = _commitments[requestId][p];
        if (c.response != Response.Applied) revert NotACandidate(requestId, p);
    }

    function _settleable(uint256 requestId, Request storage r) private view returns (Schedule storage s) {
        s = _schedules[requestId];
        if (block.timestamp < s.end) revert WindowNotOver(requestId, s.end);
        if (r.strategy == Strategy.Reputation && s.ranked != r.joined) {
            revert SelectionIncomplete(requestId, s.ranked, r.joined);
        }
    }

    function _key(address p, Commitment storage c) private view returns (RankKey memory) {
        return RankKey(uint16(registry.reputation(p)), c.powerW, c.tariff);
    }

    /// @dev True when `a` ranks strictly above `b`: higher reputation, then more flexibility, then
    /// a lower tariff.
    function _outranks(RankKey memory a, RankKey memory b) private pure returns (bool) {
        if (a.reputation != b.reputation) return a.reputation > b.reputation;
        if (a.flexW != b.flexW) return a.flexW > b.flexW;
        return a.tariff < b.tariff;
    }
}
