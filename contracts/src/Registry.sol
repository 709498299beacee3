// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Owned} from "./Owned.sol";
import {EIP712} from "./EIP712.sol";
import {SourceKind, Direction, Terms, Consent, Eligibility, IRegistry, IFlexToken} from "./FlexTypes.sol";

/// @title Registry of prosumer contracts (DER terms) and their reputation
/// @notice A prosumer registers its own DER contract with its aggregator (rules R1-R3): one
/// registration per account, with terms the aggregator consented to. Consent is an EIP-712 signature
/// by the aggregator account (`RegistrationConsent`, see `consentDigest`), bound to the prosumer, the
/// exact terms and expiry, the prosumer's consent nonce (single use) and a deadline. Registering and
/// any renegotiation that raises a term (capacity, flexibility, duration, tariff, the magnitude of
/// expected energy, the kind, or a later expiry) need it; a renegotiation that only lowers terms does
/// not. Terms are bounded to sane ranges whatever the aggregator signs: flexibility <= capacity <=
/// 100 MW, |expected energy| <= 24 h at capacity, durations <= 7 days, tariffs <= 1e24 base units per
/// kWh, expiry <= 5 years ahead.
///
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
contract Registry is Owned, EIP712, IRegistry {
    /// @dev What the market needs about one direction, in one slot, so accepting a request reads a
    /// single registry slot. Capacity, expiry, terms block and duration are kept in both directions' slots.
    struct DirectionTerms {
        uint32 capacityW; // 0 means "not registered"
        uint40 expiry;
        uint32 termsBlock;
        uint32 flexW;
        uint88 tariff;
        uint32 maxDurationS;
    }

    /// @dev The rest of the terms, the consent nonce and the reputation counters. This slot stays
    /// non-zero after the first registration, so reputation follows the account and later updates
    /// never pay for a new slot.
    struct Profile {
        SourceKind kind;
        int40 expectedWhPerDay;
        bool known;
        uint32 consentNonce;
        uint16 compliant;
        uint16 participations;
        uint16 downRenegotiations;
        uint16 penalties;
    }

    /// @dev `countPlusOne` is the registration count plus one: the slot is non-zero from construction,
    /// so the first registration of a deployment updates it instead of paying for a new slot.
    struct Totals {
        uint96 flexUpW;
        uint96 flexDownW;
        uint64 countPlusOne;
    }

    int256 public constant REPUTATION_BASE = 500;
    int256 public constant REPUTATION_MAX = 1000;
    int256 public constant WEIGHT_COMPLIANT = 20;
    int256 public constant WEIGHT_PARTICIPATION = 5;
    int256 public constant WEIGHT_DOWN_RENEGOTIATION = 25;
    int256 public constant WEIGHT_PENALTY = 40;

    /// @notice Largest capacity of one DER (W): 100 MW.
    uint32 public constant MAX_CAPACITY_W = 100_000_000;
    /// @notice Longest duration a prosumer may guarantee (s): 7 days.
    uint32 public constant MAX_DURATION_S = 7 days;
    /// @notice Highest tariff (token base units per kWh): one million tokens.
    uint88 public constant MAX_TARIFF = 1e24;
    /// @notice Longest contract (s from now to expiry): 5 years.
    uint256 public constant MAX_TERM_S = 5 * 365 days;
    /// @notice EIP-712 type of the aggregator's consent; its fields are the terms, flattened.
    bytes32 public constant CONSENT_TYPEHASH =
        keccak256(
            "RegistrationConsent(address prosumer,uint8 kind,uint32 capacityW,int40 expectedWhPerDay,"
            "uint32 flexUpW,uint32 flexDownW,uint32 maxDurationS,uint88 tariffUp,uint88 tariffDown,"
            "uint40 expiry,uint32 nonce,uint40 deadline)"
        );

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
    /// @notice Capacity above `MAX_CAPACITY_W`.
    error CapacityOutOfRange(uint32 capacityW, uint32 maxW);
    /// @notice Contracted flexibility cannot exceed the DER's capacity.
    error FlexibilityExceedsCapacity(uint32 flexW, uint32 capacityW);
    /// @notice |expected energy per day| above 24 hours at capacity.
    error ExpectedEnergyOutOfRange(int40 expectedWhPerDay, uint256 maxWh);
    /// @notice A guaranteed duration above `MAX_DURATION_S`.
    error DurationOutOfRange(uint32 maxDurationS, uint32 limitS);
    /// @notice A tariff above `MAX_TARIFF`.
    error TariffOutOfRange(uint88 tariff, uint88 maxTariff);
    /// @notice The expiry must lie in the future.
    error ExpiryNotInFuture(uint40 expiry, uint256 nowTs);
    /// @notice The expiry lies more than `MAX_TERM_S` ahead.
    error ExpiryTooFar(uint40 expiry, uint256 latest);
    /// @notice These terms need the aggregator's consent and none was given.
    error ConsentRequired(address prosumer);
    /// @notice The consent's deadline has passed: ask the aggregator for a fresh one.
    error ConsentExpired(uint40 deadline, uint256 nowTs);
    /// @notice The consent was not signed by the aggregator for these terms, expiry and nonce.
    error ConsentNotByAggregator(address signer, address aggregator);
    /// @notice Two arrays that must pair up element by element differ in length.
    error LengthMismatch(uint256 left, uint256 right);

    event Registered(address indexed prosumer, Terms terms, uint40 expiry);
    event Renegotiated(address indexed prosumer, Terms terms, uint40 expiry, bool downward);
    event Removed(address indexed prosumer);
    event Terminated(address indexed prosumer, address indexed by);
    event Expired(address indexed prosumer);
    event OutcomeRecorded(address indexed prosumer, bool compliant, uint256 reputation);
    event AggregatorChanged(address indexed aggregator);
    event Connected(address indexed market, address indexed token);

    constructor(address aggregator_) EIP712("flexsim Registry", "1") {
        if (aggregator_ == address(0)) revert ZeroAddress();
        aggregator = aggregator_;
        _totals.countPlusOne = 1;
        emit AggregatorChanged(aggregator_);
    }

    // ---------------------------------------------------------------- wiring

    /// @notice Connects the market (which moves delivery counters) and the token (whose account the
    /// registry opens for each new prosumer). Once only.
    /// @param market_ the FlexibilityMarket contract
    /// @param token_ the FlexToken contract
    function connect(address market_, IFlexToken token_) external onlyOwner {
        if (market != address(0)) revert AlreadyConnected();
        if (market_ == address(0) || address(token_) == address(0)) revert ZeroAddress();
        market = market_;
        token = token_;
        emit Connected(market_, address(token_));
    }

    /// @notice Hands the aggregator role (consent, termination) to another account.
    /// @param aggregator_ the new aggregator account
    function setAggregator(address aggregator_) external onlyOwner {
        if (aggregator_ == address(0)) revert ZeroAddress();
        aggregator = aggregator_;
        emit AggregatorChanged(aggregator_);
    }

    // ---------------------------------------------------------------- prosumer life cycle

    /// @notice Registers the caller's DER contract with terms the aggregator consented to (R1, R2).
    /// An expired registration of the caller is dropped first.
    /// @param terms the DER's terms, within the documented bounds
    /// @param expiry when the contract ends (chain seconds), at most `MAX_TERM_S` ahead
    /// @param consent the aggregator's signature over (caller, terms, expiry, `consentNonce(caller)`)
    function register(Terms calldata terms, uint40 expiry, Consent calldata consent) external {
        DirectionTerms storage up = _terms[0][msg.sender];
        bool lapsed = up.capacityW != 0;
        if (lapsed && up.expiry > block.timestamp) revert AlreadyRegistered(msg.sender);
        _checkTerms(terms, expiry);
        Profile storage pr = _profiles[msg.sender];
        uint32 nonce = pr.consentNonce;
        _checkConsent(msg.sender, terms, expiry, nonce, consent);
        if (lapsed) {
            _drop(msg.sender);
            emit Expired(msg.sender);
        }
        bool first = !pr.known;
        pr.known = true;
        pr.consentNonce = nonce + 1;
        _store(msg.sender, terms, expiry, pr);
        _add(terms.flexUpW, terms.flexDownW);
        emit Registered(msg.sender, terms, expiry);
        if (first) token.openAccount(msg.sender);
    }

    /// @notice Replaces the caller's terms and expiry (also renews an expired registration) (R3).
    /// Raising any term or the expiry needs the aggregator's consent; lowering does not (pass a zero
    /// consent). Lowering either flexibility or the magnitude of expected energy is a downward
    /// renegotiation, which lowers the reputation.
    /// @param terms the new terms, within the documented bounds
    /// @param expiry the new expiry
    /// @param consent the aggregator's signature, required when the new terms raise anything
    function renegotiate(Terms calldata terms, uint40 expiry, Consent calldata consent) external {
        DirectionTerms storage up = _terms[0][msg.sender];
        DirectionTerms storage down = _terms[1][msg.sender];
        if (up.capacityW == 0) revert NotRegistered(msg.sender);
        _checkTerms(terms, expiry);
        Profile storage pr = _profiles[msg.sender];
        if (_raises(up, down, pr, terms, expiry)) {
            uint32 nonce = pr.consentNonce;
            _checkConsent(msg.sender, terms, expiry, nonce, consent);
            pr.consentNonce = nonce + 1;
        }
        bool downward = terms.flexUpW < up.flexW ||
            terms.flexDownW < down.flexW ||
            _abs(terms.expectedWhPerDay) < _abs(pr.expectedWhPerDay);
        _subtract(up.flexW, down.flexW);
        _store(msg.sender, terms, expiry, pr);
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
    /// @param prosumer the account whose registration ends
    function terminate(address prosumer) external {
        if (msg.sender != aggregator) revert NotAggregator(msg.sender);
        if (_terms[0][prosumer].capacityW == 0) revert NotRegistered(prosumer);
        _drop(prosumer);
        emit Terminated(prosumer, msg.sender);
    }

    /// @notice Drops the expired registrations among `prosumers` from the totals; skips the others.
    /// Anyone may call it. Keep batches bounded (a few hundred addresses fit a block).
    /// @param prosumers accounts to check
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

    /// @notice Records the outcomes of settled commitments (only the market, one call per batch) (R9).
    /// @param prosumers the settled participants
    /// @param compliant for each, whether its delivery was within tolerance
    function recordOutcomes(address[] calldata prosumers, bool[] calldata compliant) external {
        if (msg.sender != market) revert NotMarket(msg.sender);
        if (prosumers.length != compliant.length) revert LengthMismatch(prosumers.length, compliant.length);
        for (uint256 i; i < prosumers.length; ++i) {
            Profile storage pr = _profiles[prosumers[i]];
            pr.participations = _inc(pr.participations);
            if (compliant[i]) pr.compliant = _inc(pr.compliant);
            else pr.penalties = _inc(pr.penalties);
            emit OutcomeRecorded(prosumers[i], compliant[i], _reputation(pr));
        }
    }

    // ---------------------------------------------------------------- views

    /// @notice Whether the prosumer holds a registration that has not expired.
    /// @param prosumer the account
    /// @return registered and not expired
    function isActive(address prosumer) public view returns (bool) {
        DirectionTerms storage up = _terms[0][prosumer];
        return up.capacityW != 0 && up.expiry > block.timestamp;
    }

    /// @notice The prosumer's terms, expiry, the block its terms took effect and whether it is active.
    /// @param prosumer the account
    /// @return terms the registered terms (zero when not registered)
    /// @return expiry when the registration ends
    /// @return termsBlock the block in which the terms took effect
    /// @return active registered and not expired
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
            up.maxDurationS,
            up.tariff,
            down.tariff
        );
        return (terms, up.expiry, up.termsBlock, registered && up.expiry > block.timestamp);
    }

    /// @notice One slot read: whether the prosumer is active, when its terms took effect, its capacity,
    /// its flexibility and tariff in `direction`, and the longest duration it guarantees.
    /// @param prosumer the account
    /// @param direction up or down
    /// @return e the prosumer's eligibility in that direction
    function eligibility(address prosumer, Direction direction) external view returns (Eligibility memory e) {
        DirectionTerms memory t = _terms[uint8(direction)][prosumer];
        e.active = t.capacityW != 0 && t.expiry > block.timestamp;
        e.termsBlock = t.termsBlock;
        e.capacityW = t.capacityW;
        e.flexW = t.flexW;
        e.tariff = t.tariff;
        e.maxDurationS = t.maxDurationS;
    }

    /// @notice The reputation score in [0, 1000]; see the contract notice for the formula (R9).
    /// @param prosumer the account (its reputation follows it across registrations)
    /// @return the score
    function reputation(address prosumer) external view returns (uint256) {
        return _reputation(_profiles[prosumer]);
    }

    /// @notice The four counters behind the reputation (R9).
    /// @param prosumer the account
    /// @return compliant deliveries within tolerance
    /// @return participations settled commitments
    /// @return downRenegotiations renegotiations that lowered flexibility or expected energy
    /// @return penalties deliveries outside tolerance
    function counters(
        address prosumer
    ) external view returns (uint16 compliant, uint16 participations, uint16 downRenegotiations, uint16 penalties) {
        Profile storage pr = _profiles[prosumer];
        return (pr.compliant, pr.participations, pr.downRenegotiations, pr.penalties);
    }

    /// @notice The nonce the prosumer's next consent must carry (it grows by one with each use).
    /// @param prosumer the account
    /// @return the nonce
    function consentNonce(address prosumer) external view returns (uint32) {
        return _profiles[prosumer].consentNonce;
    }

    /// @notice The EIP-712 digest the aggregator signs to consent to `terms` for `prosumer`.
    /// @param prosumer the account that will register or renegotiate
    /// @param terms the terms consented to
    /// @param expiry the expiry consented to
    /// @param nonce the prosumer's consent nonce at the time of use
    /// @param deadline the last second (chain clock) at which the consent may be used
    /// @return the digest: keccak256(0x1901, domainSeparator, hash of the RegistrationConsent struct)
    function consentDigest(
        address prosumer,
        Terms calldata terms,
        uint40 expiry,
        uint32 nonce,
        uint40 deadline
    ) public view returns (bytes32) {
        return
            _typedDataDigest(
                keccak256(
                    abi.encode(
                        CONSENT_TYPEHASH,
                        prosumer,
                        uint8(terms.kind),
                        terms.capacityW,
                        terms.expectedWhPerDay,
                        terms.flexUpW,
                        terms.flexDownW,
                        terms.maxDurationS,
                        terms.tariffUp,
                        terms.tariffDown,
                        expiry,
                        nonce,
                        deadline
                    )
                )
            );
    }

    /// @notice Sum of contracted flexibility and count of registrations not yet removed, terminated or
    /// expired-and-dropped. Call `expire` on lapsed registrations to make these the active totals.
    /// @return flexUpW total flexibility up (W)
    /// @return flexDownW total flexibility down (W)
    /// @return count registrations
    function totals() external view returns (uint96 flexUpW, uint96 flexDownW, uint64 count) {
        Totals memory t = _totals;
        return (t.flexUpW, t.flexDownW, t.countPlusOne - 1);
    }

    // ---------------------------------------------------------------- internals

    function _checkTerms(Terms calldata terms, uint40 expiry) private view {
        uint32 capacity = terms.capacityW;
        if (capacity == 0) revert ZeroCapacity();
        if (capacity > MAX_CAPACITY_W) revert CapacityOutOfRange(capacity, MAX_CAPACITY_W);
        if (terms.flexUpW > capacity) revert FlexibilityExceedsCapacity(terms.flexUpW, capacity);
        if (terms.flexDownW > capacity) revert FlexibilityExceedsCapacity(terms.flexDownW, capacity);
        uint256 maxWh = uint256(capacity) * 24;
        if (_abs(terms.expectedWhPerDay) > maxWh) revert ExpectedEnergyOutOfRange(terms.expectedWhPerDay, maxWh);
        if (terms.maxDurationS > MAX_DURATION_S) revert DurationOutOfRange(terms.maxDurationS, MAX_DURATION_S);
        if (terms.tariffUp > MAX_TARIFF) revert TariffOutOfRange(terms.tariffUp, MAX_TARIFF);
        if (terms.tariffDown > MAX_TARIFF) revert TariffOutOfRange(terms.tariffDown, MAX_TARIFF);
        if (expiry <= block.timestamp) revert ExpiryNotInFuture(expiry, block.timestamp);
        if (expiry > block.timestamp + MAX_TERM_S) revert ExpiryTooFar(expiry, block.timestamp + MAX_TERM_S);
    }

    function _checkConsent(
        address prosumer,
        Terms calldata terms,
        uint40 expiry,
        uint32 nonce,
        Consent calldata consent
    ) private view {
        if (consent.v == 0) revert ConsentRequired(prosumer);
        if (consent.deadline < block.timestamp) revert ConsentExpired(consent.deadline, block.timestamp);
        bytes32 digest = consentDigest(prosumer, terms, expiry, nonce, consent.deadline);
        address signer = _recover(digest, consent.v, consent.r, consent.s);
        address aggregator_ = aggregator;
        if (signer != aggregator_) revert ConsentNotByAggregator(signer, aggregator_);
    }

    /// @dev True when the new terms or expiry raise anything the aggregator answers for.
    function _raises(
        DirectionTerms storage up,
        DirectionTerms storage down,
        Profile storage pr,
        Terms calldata terms,
        uint40 expiry
    ) private view returns (bool) {
        return
            terms.kind != pr.kind ||
            terms.capacityW > up.capacityW ||
            terms.flexUpW > up.flexW ||
            terms.flexDownW > down.flexW ||
            terms.maxDurationS > up.maxDurationS ||
            terms.tariffUp > up.tariff ||
            terms.tariffDown > down.tariff ||
            _abs(terms.expectedWhPerDay) > _abs(pr.expectedWhPerDay) ||
            expiry > up.expiry;
    }

    function _store(address prosumer, Terms calldata terms, uint40 expiry, Profile storage pr) private {
        // 2^32 blocks are 680 years of 5 s blocks: the block number fits for the life of any chain.
        uint32 blockNo = uint32(block.number);
        uint32 capacity = terms.capacityW;
        uint32 duration = terms.maxDurationS;
        _terms[0][prosumer] = DirectionTerms(capacity, expiry, blockNo, terms.flexUpW, terms.tariffUp, duration);
        _terms[1][prosumer] = DirectionTerms(capacity, expiry, blockNo, terms.flexDownW, terms.tariffDown, duration);
        pr.kind = terms.kind;
        pr.expectedWhPerDay = terms.expectedWhPerDay;
    }

    function _drop(address prosumer) private {
        _subtract(_terms[0][prosumer].flexW, _terms[1][prosumer].flexW);
        delete _terms[0][prosumer];
        delete _terms[1][prosumer];
    }

    function _add(uint32 upW, uint32 downW) private {
        Totals memory t = _totals;
        _totals = Totals(t.flexUpW + upW, t.flexDownW + downW, t.countPlusOne + 1);
    }

    function _subtract(uint32 upW, uint32 downW) private {
        Totals memory t = _totals;
        _totals = Totals(t.flexUpW - upW, t.flexDownW - downW, t.countPlusOne - 1);
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

    /// @dev |x| computed in 256 bits, so the int40 minimum has a magnitude too.
    function _abs(int40 x) private pure returns (uint256) {
        int256 wide = x;
        return uint256(wide < 0 ? -wide : wide);
    }
}
