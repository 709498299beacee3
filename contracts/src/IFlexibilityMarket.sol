// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Direction, Strategy, SignedAnswer} from "./FlexTypes.sol";

/// @title The flexibility market's interface: its states, records, errors and events (rules R6-R11)
/// @notice One request is open at a time. The aggregator opens it; prosumers answer until its
/// deadline (fair: `accept` or `decline`; reputation: `applyFor` or `decline`); under the reputation
/// strategy the aggregator then submits the ranking (`select`); after the window it records each
/// participant's measured delivery (`recordDeliveries`) and finalises the request with its settlement
/// anchored (`finaliseAnchored`; plain `finalise` only without participants). A request that cannot be
/// finished is cancelled before its start or closed after its window plus a grace (`closeRequest`),
/// so the market can always move on.
interface IFlexibilityMarket {
    enum Status {
        None,
        Open,
        Settled,
        Cancelled,
        Closed // closed without full settlement after its window and grace (`closeRequest`)
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
        Penalised, // settled outside tolerance
        ToppedUp // fair: accepted, then given its part of the declined share (its total commitment)
    }

    /// @notice What `accept` and `applyFor` read and write: one slot.
    struct Request {
        Status status;
        Strategy strategy;
        Direction direction;
        uint32 powerW;
        uint32 durationS; // the contracted duration that energy is computed from
        uint32 deadline;
        uint32 openedBlock;
        uint40 totalFlexW; // snapshot of total contracted flexibility in `direction` (capped at 2^40 - 1)
        uint32 joined; // accepted (fair) or applied (reputation)
        uint32 committedW; // sum of committed power, never above powerW (fair: its booking, <= 5/4 powerW)
    }

    struct Schedule {
        uint32 start;
        uint32 end;
        uint32 participants; // reputation: selected prosumers (fair: every joiner participates)
        uint32 ranked; // reputation: candidates selected or displaced so far
        uint32 recorded; // deliveries recorded
        uint32 compliant; // compliant deliveries
    }

    /// @notice A prosumer's answer to a request. Stored in ONE slot per prosumer, reused from request
    /// to request (one request is open at a time): answering overwrites the prosumer's previous answer,
    /// so `commitmentOf` an older request reads as zeros once the prosumer answered a newer one.
    struct Commitment {
        Response response;
        uint32 powerW; // committed (or, for a candidate, offered) power
        uint80 tariff; // tariff in the request's direction when the prosumer joined (<= MAX_TARIFF < 2^80)
        int64 deliveredWh;
        uint16 reputation; // reputation when the prosumer applied (its ranking key)
        uint32 roomW; // fair: how much more it takes in a top-up (min(its limit, flex, 25% cap) - share)
        uint24 requestId; // the request this answer belongs to
    }

    /// @notice A fair request's top-up round: the share prosumers declined, re-offered to those who
    /// accepted in proportion to their room (R7).
    struct TopUpRound {
        uint32 gapW; // power - committed at the first top-up call: what is re-offered
        uint32 counted; // accepters topped up so far
        uint64 declaredRoomW; // the sum of every accepter's room, as the aggregator declares it
        uint64 summedRoomW; // the sum of the rooms topped up so far (must reach the declared sum)
        uint32 extraW; // committed in the top-up so far
        uint32 bookedW; // what the round aims to commit in total: power, or more when over-booked (<= 5/4 power)
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

    error NotAggregator(address caller);
    /// @notice Another request is still open; settle, cancel or close it first.
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
    /// @notice The request lasts longer than the prosumer's contract guarantees (R2).
    error DurationBeyondContract(uint256 requestId, uint256 durationS, uint256 maxDurationS);
    error NothingToCommit(address prosumer);
    /// @notice A decline reason code outside `DeclineReason`.
    error UnknownDeclineReason(uint8 reason);
    error NotACandidate(uint256 requestId, address prosumer);
    /// @notice A selected candidate ranks above the one ranked before it (in this or an earlier batch).
    error SelectionOutOfOrder(uint256 requestId, address prosumer);
    error AlreadyCovered(uint256 requestId, address prosumer);
    error NotYetCovered(uint256 requestId, address prosumer);
    /// @notice A displaced candidate ranks above the one ranked before it (in this or an earlier batch).
    error DisplacedOutOfOrder(uint256 requestId, address prosumer);
    error SelectionIncomplete(uint256 requestId, uint256 ranked, uint256 candidates);
    error WindowNotOver(uint256 requestId, uint256 end);
    /// @notice Two arrays that must pair up element by element differ in length.
    error LengthMismatch(uint256 left, uint256 right);
    error NotAParticipant(uint256 requestId, address prosumer);
    error UnsettledParticipants(uint256 requestId, uint256 recorded, uint256 participants);
    /// @notice `finaliseAnchored` needs a non-zero root over at least one leaf.
    error EmptyAnchor(uint256 requestId);
    /// @notice Plain `finalise` of a request with recorded deliveries: its settlement must be anchored
    /// (`finaliseAnchored` with the root over one leaf per recorded delivery), so that every delivery
    /// paid can be verified and disputed.
    error AnchorRequired(uint256 requestId, uint256 recorded);
    /// @notice The anchored tree must have one leaf per delivery the market recorded.
    error LeafCountMismatch(uint256 requestId, uint256 leafCount, uint256 recorded);
    /// @notice The request may be closed only from `closableAt`.
    error CloseTooEarly(uint256 requestId, uint256 closableAt);
    /// @notice `acceptUpTo` with a limit below the prosumer's share: decline instead.
    error LimitBelowShare(uint256 requestId, uint256 shareW, uint256 maxW);
    /// @notice Only an accepter not yet topped up can be topped up.
    error NotToppable(uint256 requestId, address prosumer);
    /// @notice Every call of one top-up round must declare the same total room.
    error TopUpRoomChanged(uint256 requestId, uint256 declaredW, uint256 givenW);
    /// @notice The booking of a top-up round is below the power or above it by more than a quarter
    /// (`MAX_OVERBOOK_DIVISOR`), or differs from the one its first call declared.
    error BookingOutOfBounds(uint256 requestId, uint256 powerW, uint256 bookedW);
    /// @notice The rooms topped up add up to more than the declared total, or (once every accepter is
    /// topped up) to another amount.
    error TopUpRoomMismatch(uint256 requestId, uint256 declaredW, uint256 summedW);
    /// @notice A top-up was begun but not every accepter was topped up.
    error TopUpIncomplete(uint256 requestId, uint256 counted, uint256 accepters);
    /// @notice Request ids are stored in 24 bits: no request can open after id 2^24 - 1.
    error RequestLimitReached(uint256 maxRequests);
    /// @notice Only the market itself may call this (`answerAs`, from `relayAnswers`).
    error NotSelf(address caller);
    /// @notice An `AnswerAction` code outside the enum.
    error UnknownAnswerAction(uint8 action);
    /// @notice The relayed answer at `index` ran out of gas: the whole batch reverts (so a gas estimate
    /// never drops answers silently); send it with more gas or in smaller batches.
    error AnswerOutOfGas(uint256 index);

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
        uint40 totalFlexW
    );
    event RequestModified(uint256 indexed requestId, uint32 powerW, uint32 durationS, uint32 start, uint32 end, uint32 deadline);
    event RequestCancelled(uint256 indexed requestId);
    /// @notice The request was closed without full settlement: `recorded` of `participants`
    /// deliveries had been recorded (and paid when compliant); nobody else is paid or penalised.
    event RequestClosed(uint256 indexed requestId, uint256 recorded, uint256 participants);
    event Accepted(uint256 indexed requestId, address indexed prosumer, uint32 powerW);
    /// @notice A top-up: the accepter now commits `committedW` in all, `extraW` of it from the top-up.
    event ToppedUp(uint256 indexed requestId, address indexed prosumer, uint32 extraW, uint32 committedW);
    event TopUpCompleted(uint256 indexed requestId, uint32 extraW, uint32 committedW);
    event Declined(uint256 indexed requestId, address indexed prosumer, uint8 reason);
    /// @notice A relayed answer was refused (`reason`: the selector of the error the direct answer would
    /// have reverted with, e.g. `InvalidSignature`, `AlreadyResponded`, `NotActive`); the batch went on.
    event AnswerRefused(uint256 indexed requestId, uint256 index, bytes4 reason);
    event Applied(uint256 indexed requestId, address indexed prosumer, uint32 offeredW, uint16 reputation);
    event Selected(uint256 indexed requestId, address indexed prosumer, uint32 powerW, uint16 reputation);
    event Displaced(uint256 indexed requestId, address indexed prosumer, uint16 reputation);
    event SelectionCompleted(uint256 indexed requestId, uint32 participants, uint32 committedW);
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

    /// @notice The settlement root of a request finalised with `finaliseAnchored` (docs/tamper-evidence.md):
    /// the Merkle root over one leaf per recorded delivery, also kept in storage (`settlementRoot`).
    event SettlementAnchored(uint256 indexed requestId, bytes32 root, uint32 leafCount);

    /// @notice Opens a request (R6; one at a time). Only the aggregator.
    /// @param direction up (more power to the grid) or down
    /// @param powerW the power asked for (W)
    /// @param durationS the contracted duration energy is computed from (s)
    /// @param start the window's start (chain seconds)
    /// @param end the window's end (exclusive)
    /// @param deadline when answers close; now <= deadline <= start < end
    /// @param strategy fair (R7) or reputation (R8)
    /// @param lapsed registrations the aggregator knows to have expired: dropped from the registry
    /// totals first, so the snapshot counts active flexibility only (pass [] when none)
    /// @return requestId the new request's id
    function openRequest(
        Direction direction,
        uint32 powerW,
        uint32 durationS,
        uint32 start,
        uint32 end,
        uint32 deadline,
        Strategy strategy,
        address[] calldata lapsed
    ) external returns (uint256 requestId);

    /// @notice Changes the timing (and, while nobody joined, the power and duration) of an open request
    /// while answers are still open (until its deadline). Power and duration fix what joiners
    /// committed to, so they freeze at the first join; nothing changes once ranking may begin.
    /// @param requestId the open request
    /// @param powerW new power (must equal the old one once somebody joined)
    /// @param durationS new duration (idem)
    /// @param start new start
    /// @param end new end
    /// @param deadline new deadline; now <= deadline <= start < end
    function modifyRequest(
        uint256 requestId,
        uint32 powerW,
        uint32 durationS,
        uint32 start,
        uint32 end,
        uint32 deadline
    ) external;

    /// @notice Cancels an open request before its start; nobody is paid or penalised.
    /// @param requestId the open request
    function cancelRequest(uint256 requestId) external;

    /// @notice Liveness: closes an open request that could not be finished, from `closableAt` (its
    /// window's end plus a grace as long as the window, at least `MIN_CLOSE_GRACE_S`). Deliveries
    /// recorded so far stand; nobody else is paid or penalised; `RequestClosed` says how many were
    /// recorded. The next request may then open.
    /// @param requestId the open request
    function closeRequest(uint256 requestId) external;

    /// @notice Fair strategy (R7): commits the caller to its share of the request,
    /// power * its flexibility / total flexibility (snapshot), at most 25% of its capacity, and to take
    /// part in a top-up up to its offer (its flexibility, at most 25% of its capacity).
    /// @param requestId the open fair request
    function accept(uint256 requestId) external;

    /// @notice As `accept`, with a limit on the total the caller commits to in a top-up.
    /// @param requestId the open fair request
    /// @param maxW the most it commits to in all (at least its share; its offer caps it anyway)
    function acceptUpTo(uint256 requestId, uint32 maxW) external;

    /// @notice Fair strategy's top-up round (R7), after the deadline and before the start: the power the
    /// decliners left uncovered (the gap) is re-offered to the accepters in proportion to their room,
    /// `extra = min(room, gap * room / total room)`, computed here for each. Splittable over calls;
    /// every call declares the same total room, which the contract checks against the sum of the rooms
    /// once every accepter is topped up (no accepter is left out, none twice, and the extras never add
    /// up to more than the gap). Settlement then waits for the round to complete. Only the aggregator.
    /// Over-booking: the round aims at `bookedW` (power, or up to a quarter more, `MAX_OVERBOOK_DIVISOR`)
    /// instead of the power, so the gap is `bookedW - committed`. The aggregator books more when its
    /// fleet delivered less than it committed in earlier requests (docs/aggregator.md); what is requested,
    /// judged and reported stays the power; each accepter still commits at most its offer, and is
    /// measured and paid on what it committed.
    /// @param requestId the fair request
    /// @param totalRoomW the sum of every accepter's room (`commitmentOf(...).roomW`)
    /// @param bookedW the round's target for the total commitment; 0 is the power (no over-booking);
    /// every call of the round declares the same
    /// @param prosumers accepters not yet topped up
    function topUp(uint256 requestId, uint64 totalRoomW, uint32 bookedW, address[] calldata prosumers) external;

    /// @notice A fair request's top-up round so far.
    /// @param requestId the request
    /// @return the gap re-offered, accepters counted, declared and summed rooms, and extra committed
    function topUpOf(uint256 requestId) external view returns (TopUpRound memory);

    /// @notice Says no to a request, with a `DeclineReason` code. Only active prosumers.
    /// @param requestId the open request
    /// @param reason a `DeclineReason` code
    function decline(uint256 requestId, uint8 reason) external;

    /// @notice Relays answers the prosumers signed (EIP-712, see `answerDigest`), in one transaction:
    /// each is recorded exactly as if its signer had sent `accept`, `acceptUpTo`, `applyFor` or `decline`
    /// itself (same checks, same events). An answer the direct call would refuse (or a bad signature) is
    /// skipped with `AnswerRefused`; the others are recorded. An answer that runs out of gas reverts the
    /// batch (`AnswerOutOfGas`). Only the aggregator.
    /// @param requestId the open request every answer is for
    /// @param answers the signed answers
    /// @return recorded how many answers were recorded
    function relayAnswers(uint256 requestId, SignedAnswer[] calldata answers) external returns (uint256 recorded);

    /// @notice One relayed answer: recovers its signer and records the answer as the signer's. Only the
    /// market itself (`relayAnswers` calls it so a refusal can be caught).
    /// @param requestId the request
    /// @param answer the signed answer
    function answerAs(uint256 requestId, SignedAnswer calldata answer) external;

    /// @notice The EIP-712 digest a prosumer signs for an answer: keccak256(0x1901, domainSeparator,
    /// keccak256(abi.encode(keccak256("Answer(uint256 requestId,uint8 action,uint32 value)"), requestId,
    /// action, value))) under the domain ("flexsim FlexibilityMarket", "1", chain id, this contract).
    /// @param requestId the request
    /// @param action an `AnswerAction` code
    /// @param value maxW for AcceptUpTo, the `DeclineReason` code for Decline, 0 otherwise
    /// @return the digest
    function answerDigest(uint256 requestId, uint8 action, uint32 value) external view returns (bytes32);

    /// @notice Reputation strategy (R8): the caller becomes a candidate, offering its flexibility (at
    /// most 25% of its capacity), ranked by its reputation at this moment.
    /// @param requestId the open reputation request
    function applyFor(uint256 requestId) external;

    /// @notice Submits (part of) the ranking of a reputation request after its deadline (R8). Over
    /// all calls, every candidate appears exactly once, in non-increasing order of the ranking key
    /// (reputation desc, offered flexibility desc, tariff asc): selected until the request is covered
    /// (the last one commits only the remainder), then displaced. Only the aggregator.
    /// @param requestId the reputation request
    /// @param selected the next candidates in ranking order, selected
    /// @param displaced the candidates after them in ranking order, displaced
    function select(uint256 requestId, address[] calldata selected, address[] calldata displaced) external;

    /// @notice Records measured deliveries (Wh, in the requested direction) after the window (R10),
    /// pays compliant participants their tariff for the committed energy (R11) and updates
    /// reputations (R9). Bounded batches; see `flexsim bench gas` for the size. Only the aggregator.
    /// @param requestId the request whose window is over
    /// @param prosumers participants not recorded yet
    /// @param deliveredWh each one's measured delivery
    function recordDeliveries(uint256 requestId, address[] calldata prosumers, int64[] calldata deliveredWh) external;

    /// @notice Closes a request without participants once its window is over; emits the result. A
    /// request with recorded deliveries reverts with `AnchorRequired`: finalise it with
    /// `finaliseAnchored`, which anchors its settlement (docs/tamper-evidence.md). Only the aggregator.
    /// @param requestId the request
    function finalise(uint256 requestId) external;

    /// @notice `finalise`, anchoring the request's settlement root in the same transaction: stored
    /// (`settlementRoot`) and emitted in the data of `SettlementAnchored`. The root is the Merkle root
    /// over one leaf per recorded delivery, `keccak256(abi.encode(requestId, prosumer, deliveredWh,
    /// readingsRoot))` (SettlementAnchor verifies disputes against it). Only the aggregator.
    /// @param requestId the request
    /// @param root the settlement tree's root (non-zero)
    /// @param leafCount its leaves: must equal the deliveries recorded (`Schedule.recorded`, at least one)
    function finaliseAnchored(uint256 requestId, bytes32 root, uint32 leafCount) external;

    /// @notice The settlement root anchored by `finaliseAnchored` (zero: not anchored).
    /// @param requestId the request
    /// @return the root
    function settlementRoot(uint256 requestId) external view returns (bytes32);

    /// @notice A request's stored record and schedule.
    /// @param requestId the request
    /// @return the request's record (status, strategy, direction, power, duration, deadline, snapshot, sums)
    /// @return the request's schedule (start, end, participants, ranked, recorded, compliant)
    function request(uint256 requestId) external view returns (Request memory, Schedule memory);

    /// @notice A prosumer's standing in a request.
    /// @param requestId the request
    /// @param prosumer the account
    /// @return its response, committed (or offered) power, tariff, delivery and ranking reputation
    function commitmentOf(uint256 requestId, address prosumer) external view returns (Commitment memory);

    /// @notice The aggregate result (R10): final once the request is Settled.
    /// @param requestId the request
    /// @return requested, committed and delivered energy (Wh), participants, compliant ones, paid
    function result(uint256 requestId) external view returns (Result memory);

    /// @notice The first second at which `closeRequest` may close the request (liveness).
    /// @param requestId the request
    /// @return the window's end plus a grace as long as the window, at least `MIN_CLOSE_GRACE_S`
    function closableAt(uint256 requestId) external view returns (uint256);

    /// @notice The compliance rule (R10), exposed for off-chain checks.
    /// @param committedW committed power (W)
    /// @param durationS contracted duration (s)
    /// @param deliveredWh measured delivery (Wh, in the requested direction)
    /// @return compliant delivered >= 0 and |delivered - committed| <= committed / 10
    function isCompliant(uint256 committedW, uint256 durationS, int64 deliveredWh) external pure returns (bool);
}
