// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Types shared by the flexsim contracts
/// @notice Units: power in watt (W), energy in watt-hour (Wh), time in seconds, tariffs in
/// FlexToken base units (1e-18 token) per kWh. Integers only. Every enum's codes are stable:
/// off-chain code uses the same numbers (`contracts/types.py`, checked value by value by a test).

/// @notice The energy source of a DER (rule R1).
enum SourceKind {
    Solar,
    Wind,
    Consumer,
    Battery
}

/// @notice Up = more power to the grid (produce more / consume less); Down = the opposite.
enum Direction {
    Up,
    Down
}

/// @notice How a request is shared among prosumers (rules R7, R8).
enum Strategy {
    Fair,
    Reputation
}

/// @notice Why a prosumer declines a request (rule R8; an opt-out always carries a reason).
enum DeclineReason {
    Unspecified,
    Outage,
    InsufficientForecast,
    StateOfCharge,
    DurationBeyondContract,
    Unwilling
}

/// @notice A prosumer's answer to a request, as it signs it for the aggregator to relay
/// (`FlexibilityMarket.relayAnswers`): the same four answers a prosumer sends directly.
enum AnswerAction {
    Accept,
    AcceptUpTo, // value: the most it commits to in all (maxW)
    Apply,
    Decline // value: a `DeclineReason` code
}

/// @notice An answer signed by its prosumer (EIP-712 `Answer(uint256 requestId,uint8 action,uint32 value)`
/// under the market's domain) for the aggregator to relay. The signer is recovered, not sent. `action`
/// is an `AnswerAction` code, kept a uint8 so an unknown code is refused for that answer alone.
struct SignedAnswer {
    uint8 action;
    uint32 value;
    uint8 v;
    bytes32 r;
    bytes32 s;
}

/// @notice The terms of a prosumer's contract with its aggregator (rule R2), as passed by callers.
struct Terms {
    SourceKind kind;
    uint32 capacityW;
    int40 expectedWhPerDay; // signed: production positive, consumption negative
    uint32 flexUpW;
    uint32 flexDownW;
    uint32 maxDurationS; // the longest request the prosumer guarantees to hold
    uint88 tariffUp; // token base units per kWh
    uint88 tariffDown; // token base units per kWh
}

/// @notice The aggregator's consent to a prosumer's terms (rule R2: the contract is *with the
/// aggregator*): an EIP-712 signature by the aggregator account over the terms, the expiry, the
/// prosumer's consent nonce and `deadline`, the last second at which the consent may be used.
struct Consent {
    uint40 deadline;
    uint8 v;
    bytes32 r;
    bytes32 s;
}

/// @notice What the market needs to know about a prosumer to let it commit to a request.
struct Eligibility {
    bool active;
    uint32 termsBlock; // block in which the current terms took effect
    uint32 capacityW;
    uint32 flexW; // contracted flexibility in the asked direction
    uint88 tariff; // tariff in the asked direction
    uint32 maxDurationS; // the longest request the prosumer guarantees to hold
}

/// @title What the market asks of the registry (rules R1-R3, R9)
interface IRegistry {
    /// @notice One slot read: whether `prosumer` may join a request in `direction`, and on what terms.
    /// @param prosumer the account
    /// @param direction the request's direction
    /// @return the prosumer's eligibility: active, terms block, capacity, flexibility, tariff, duration
    function eligibility(address prosumer, Direction direction) external view returns (Eligibility memory);

    /// @notice The reputation score in [0, 1000] (R9).
    /// @param prosumer the account
    /// @return the score
    function reputation(address prosumer) external view returns (uint256);

    /// @notice Contracted flexibility and count of the registrations in force.
    /// @return flexUpW total flexibility up (W)
    /// @return flexDownW total flexibility down (W)
    /// @return count registrations
    function totals() external view returns (uint96 flexUpW, uint96 flexDownW, uint64 count);

    /// @notice Records settled commitments' outcomes (only the market) (R9).
    /// @param prosumers the settled participants
    /// @param compliant for each, whether its delivery was within tolerance
    function recordOutcomes(address[] calldata prosumers, bool[] calldata compliant) external;

    /// @notice Drops the expired registrations among `prosumers` from the totals.
    /// @param prosumers accounts to check
    /// @return dropped how many were dropped
    function expire(address[] calldata prosumers) external returns (uint256 dropped);
}

/// @title What the market and the registry ask of the token (rule R11)
interface IFlexToken {
    /// @notice Mints payments, one per recipient (only the market).
    /// @param to the recipients
    /// @param amounts what each is paid, in base units
    function mint(address[] calldata to, uint256[] calldata amounts) external;

    /// @notice Marks a new prosumer's balance slot as used (only the registry).
    /// @param account the prosumer
    function openAccount(address account) external;
}
