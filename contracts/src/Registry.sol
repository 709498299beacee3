// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Owned} from "./Owned.sol";
import {SourceKind, Direction, Terms, Eligibility, IRegistry, IFlexToken} from "./FlexTypes.sol";

/// @title Registry of prosumer contracts (DER terms) and their reputation
/// @notice A prosumer registers its own DER contract (rules R1-R3). One registration per account.
/// Totals of contracted flexibility are kept exact through register, renegotiate, remove, terminate
/// and expire. A registration whose expiry has passed is no longer active (it cannot take part in
/// requests) and is dropped from the totals by `expire` (anyone may call it, in bounded batches) or
/// lazily when the prosumer registers again.
///
/// Reputation (rule R9) is computed from four counters that follow the account across registrations:
///     reputation = clamp(500 + 20*compliant + 5*participations - 25*downRenegotiations - 40*penalties, 0, 1000)
/// `compliant`: deliveries within tolerance; `participations`: settled commitments (compliant or not);
/// `downRenegotiations`: renegotiations that lowered flexibility or the magnitude of expected energy;
/// `penalties`: deliveries outside tolerance. Only the market moves the delivery counters.
contract Registry is Owned, IRegistry {
    /// @dev What the market needs about one direction, in one slot, so accepting a request reads a
    /// single registry slot. Capacity, expiry and terms block are kept in both directions' slots.
    struct DirectionTerms {
        uint32 capacityW; // 0 means "not registered"
        uint40 expiry;
        uint32 termsBlock;
        uint32 flexW;
        uint88 tariff;
    }

    /// @dev The rest of the terms and the reputation counters. This slot stays non-zero after the
    /// first registration, so reputation follows the account and later updates never pay for a new slot.
    struct Profile {
        SourceKind kind;
        uint32 maxDurationS;
        int40 expectedWhPerDay;
        bool known;
        uint16 compliant;
        uint16 participations;
        uint16 downRenegotiations;
        uint16 penalties;
    }

    struct Totals {
        uint96 flexUpW;
        uint96 flexDownW;
        uint64 count;
    }

    int256 public constant REPUTATION_BASE = 500;
    int256 public constant REPUTATION_MAX = 1000;
    int256 public constant WEIGHT_COMPLIANT = 20;
    int256 public constant WEIGHT_PARTICIPATION = 5;
    int256 public constant WEIGHT_DOWN_RENEGOTIATION = 25;
    int256 public constant WEIGHT_PENALTY = 40;

    address public aggregator;
    address public market;
    IFlexToken public token;

    mapping(address => DirectionTerms)[2] private _terms; // indexed by Direction
    mapping(address => Profile) private _profiles;
    Totals private _totals;

    /// @notice The caller is not the aggregator.
    error NotAggregator(address caller);
    /// @notice The caller is not the market contract.
    error NotMarket(address caller);
    /// @notice Market and token were already connected.
    error AlreadyConnected();
    /// @notice The account already holds an active registration.
    error AlreadyRegistered(address prosumer);
    /// @notice The account holds no registration.
    error NotRegistered(address prosumer);
    /// @notice Capacity must be positive.
    error ZeroCapacity();
    /// @notice Contracted flexibility cannot exceed the DER's capacity.
    error FlexibilityExceedsCapacity(uint32 flexW, uint32 capacityW);
    /// @notice The expiry must lie in the future.
    error ExpiryNotInFuture(uint40 expiry, uint256 nowTs);

    event Registered(address indexed prosumer, Terms terms, uint40 expiry);
    event Renegotiated(address indexed prosumer, Terms terms, uint40 expiry, bool downward);
    event Removed(address indexed prosumer);
    event Terminated(address indexed prosumer, address indexed by);
    event Expired(address indexed prosumer);
    event OutcomeRecorded(address indexed prosumer, bool compliant, uint256 reputation);
    event AggregatorChanged(address indexed aggregator);
    event Connected(address indexed market, address indexed token);

    constructor(address aggregator_) {
        if (aggregator_ == address(0)) revert ZeroAddress();
        aggregator = aggregator_;
        emit AggregatorChanged(aggregator_);
    }

    // ---------------------------------------------------------------- wiring

    /// @notice Connects the market (which moves delivery counters) and the token (whose account the
    /// registry opens for each new prosumer). Once only.
    function connect(address market_, IFlexToken token_) external onlyOwner {
        if (market != address(0)) revert AlreadyConnected();
        if (market_ == address(0) || address(token_) == address(0)) revert ZeroAddress();
        market = market_;
        token = token_;
        emit Connected(market_, address(token_));
    }

    function setAggregator(address aggregator_) external onlyOwner {
        if (aggregator_ == address(0)) revert ZeroAddress();
        aggregator = aggregator_;
        emit AggregatorChanged(aggregator_);
    }

    // ---------------------------------------------------------------- prosumer life cycle

    /// @notice Registers the caller's DER contract. An expired registration of the caller is dropped first.
    function register(Terms calldata terms, uint40 expiry) external {
        DirectionTerms storage up = _terms[0][msg.sender];
        if (up.capacityW != 0) {
            if (up.expiry > block.timestamp) revert AlreadyRegistered(msg.sender);
            _drop(msg.sender);
            emit Expired(msg.sender);
        }
        _checkTerms(terms, expiry);
        _store(msg.sender, terms, expiry);
        Profile storage pr = _profiles[msg.sender];
        if (!pr.known) {
            pr.known = true;
            token.openAccount(msg.sender);
        }
        _add(terms.flexUpW, terms.flexDownW);
        emit Registered(msg.sender, terms, expiry);
    }

    /// @notice Replaces the caller's terms and expiry (also renews an expired registration).
    /// Lowering either flexibility or the magnitude of expected energy is a downward renegotiation.
    function renegotiate(Terms calldata terms, uint40 expiry) external {
        DirectionTerms storage up = _terms[0][msg.sender];
        DirectionTerms storage down = _terms[1][msg.sender];
        if (up.capacityW == 0) revert NotRegistered(msg.sender);
        _checkTerms(terms, expiry);
        Profile storage pr = _profiles[msg.sender];
        bool downward = terms.flexUpW < up.flexW ||
            terms.flexDownW < down.flexW ||
            _abs(terms.expectedWhPerDay) < _abs(pr.expectedWhPerDay);
        _subtract(up.flexW, down.flexW);
        _store(msg.sender, terms, expiry);
        _add(terms.flexUpW, terms.flexDownW);
        if (downward) pr.downRenegotiations = _inc(pr.downRenegotiations);
        emit Renegotiated(msg.sender, terms, expiry, downward);
    }

    /// @notice Ends the caller's registration. Its reputation stays with the account.
    function remove() external {
        if (_terms[0][msg.sender].capacityW == 0) revert NotRegistered(msg.sender);
        _drop(msg.sender);
        emit Removed(msg.sender);
    }

    /// @notice The aggregator ends a prosumer's registration.
    function terminate(address prosumer) external {
        if (msg.sender != aggregator) revert NotAggregator(msg.sender);
        if (_terms[0][prosumer].capacityW == 0) revert NotRegistered(prosumer);
        _drop(prosumer);
        emit Terminated(prosumer, msg.sender);
    }

    /// @notice Drops the expired registrations among `prosumers` from the totals; skips the others.
    /// Anyone may call it. Keep batches bounded (a few hundred addresses fit a block).
    /// @return dropped how many registrations were dropped
    function expire(address[] calldata prosumers) external returns (uint256 dropped) {
        for (uint256 i; i < prosumers.length; ++i) {
            DirectionTerms storage up = _terms[0][prosumers[i]];
            if (up.capacityW != 0 && up.expiry <= block.timestamp) {
                _drop(prosumers[i]);
                emit Expired(prosumers[i]);
                ++dropped;
            }
        }
    }

    // ---------------------------------------------------------------- market hook

    /// @notice Records the outcomes of settled commitments (only the market, one call per batch).
    function recordOutcomes(address[] calldata prosumers, bool[] memory compliant) external {
        if (msg.sender != market) revert NotMarket(msg.sender);
        for (uint256 i; i < prosumers.length; ++i) {
            Profile storage pr = _profiles[prosumers[i]];
            pr.participations = _inc(pr.participations);
            if (compliant[i]) pr.compliant = _inc(pr.compliant);
            else pr.penalties = _inc(pr.penalties);
            emit OutcomeRecorded(prosumers[i], compliant[i], _reputation(pr));
        }
    }

    // ---------------------------------------------------------------- views

    function isActive(address prosumer) public view returns (bool) {
        DirectionTerms storage up = _terms[0][prosumer];
        return up.capacityW != 0 && up.expiry > block.timestamp;
    }

    /// @notice The prosumer's terms, expiry, the block its terms took effect and whether it is active.
    function registrationOf(
        address prosumer
    ) external view returns (Terms memory terms, uint40 expiry, uint32 termsBlock, bool active) {
        DirectionTerms memory up = _terms[0][prosumer];
        DirectionTerms memory down = _terms[1][prosumer];
        Profile storage pr = _profiles[prosumer];
        bool registered = up.capacityW != 0;
        terms = Terms(
            registered ? pr.kind : SourceKind.Solar,
            up.capacityW,
            registered ? pr.expectedWhPerDay : int40(0),
            up.flexW,
            down.flexW,
            registered ? pr.maxDurationS : 0,
            up.tariff,
            down.tariff
        );
        return (terms, up.expiry, up.termsBlock, registered && up.expiry > block.timestamp);
    }

    /// @notice One slot read: whether the prosumer is active, when its terms took effect, its capacity,
    /// and its flexibility and tariff in `direction`.
    function eligibility(address prosumer, Direction direction) external view returns (Eligibility memory e) {
        DirectionTerms memory t = _terms[uint8(direction)][prosumer];
        e.active = t.capacityW != 0 && t.expiry > block.timestamp;
        e.termsBlock = t.termsBlock;
        e.capacityW = t.capacityW;
        e.flexW = t.flexW;
        e.tariff = t.tariff;
    }

    /// @notice The reputation score in [0, 1000]; see the contract notice for the formula.
    function reputation(address prosumer) external view returns (uint256) {
        return _reputation(_profiles[prosumer]);
    }

    function counters(
        address prosumer
    ) external view returns (uint16 compliant, uint16 participations, uint16 downRenegotiations, uint16 penalties) {
        Profile storage pr = _profiles[prosumer];
        return (pr.compliant, pr.participations, pr.downRenegotiations, pr.penalties);
    }

    /// @notice Sum of contracted flexibility and count of registrations not yet removed, terminated or
    /// expired-and-dropped. Call `expire` on lapsed registrations to make these the active totals.
    function totals() external view returns (uint96 flexUpW, uint96 flexDownW, uint64 count) {
        Totals memory t = _totals;
        return (t.flexUpW, t.flexDownW, t.count);
    }

    // ---------------------------------------------------------------- internals

    function _checkTerms(Terms calldata terms, uint40 expiry) private view {
        if (terms.capacityW == 0) revert ZeroCapacity();
        if (terms.flexUpW > terms.capacityW) revert FlexibilityExceedsCapacity(terms.flexUpW, terms.capacityW);
        if (terms.flexDownW > terms.capacityW) revert FlexibilityExceedsCapacity(terms.flexDownW, terms.capacityW);
        if (expiry <= block.timestamp) revert ExpiryNotInFuture(expiry, block.timestamp);
    }

    function _store(address prosumer, Terms calldata terms, uint40 expiry) private {
        uint32 blockNo = uint32(block.number);
        _terms[0][prosumer] = DirectionTerms(terms.capacityW, expiry, blockNo, terms.flexUpW, terms.tariffUp);
        _terms[1][prosumer] = DirectionTerms(terms.capacityW, expiry, blockNo, terms.flexDownW, terms.tariffDown);
        Profile storage pr = _profiles[prosumer];
        pr.kind = terms.kind;
        pr.maxDurationS = terms.maxDurationS;
        pr.expectedWhPerDay = terms.expectedWhPerDay;
    }

    function _drop(address prosumer) private {
        _subtract(_terms[0][prosumer].flexW, _terms[1][prosumer].flexW);
        delete _terms[0][prosumer];
        delete _terms[1][prosumer];
    }

    function _add(uint32 upW, uint32 downW) private {
        Totals memory t = _totals;
        _totals = Totals(t.flexUpW + upW, t.flexDownW + downW, t.count + 1);
    }

    function _subtract(uint32 upW, uint32 downW) private {
        Totals memory t = _totals;
        _totals = Totals(t.flexUpW - upW, t.flexDownW - downW, t.count - 1);
    }

    function _reputation(Profile storage a) private view returns (uint256) {
        int256 score = REPUTATION_BASE +
            WEIGHT_COMPLIANT * int256(uint256(a.compliant)) +
            WEIGHT_PARTICIPATION * int256(uint256(a.participations)) -
            WEIGHT_DOWN_RENEGOTIATION * int256(uint256(a.downRenegotiations)) -
            WEIGHT_PENALTY * int256(uint256(a.penalties));
        if (score < 0) return 0;
        if (score > REPUTATION_MAX) return uint256(REPUTATION_MAX);
        return uint256(score);
    }

    /// @dev Saturating increment: a counter that reached its maximum stays there.
    function _inc(uint16 x) private pure returns (uint16) {
        return x == type(uint16).max ? x : x + 1;
    }

    function _abs(int40 x) private pure returns (uint40) {
        return x < 0 ? uint40(-x) : uint40(x);
    }
}
