// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Types shared by the flexsim contracts
/// @notice Units: power in watt (W), energy in watt-hour (Wh), time in seconds, tariffs in
/// FlexToken base units (1e-18 token) per kWh. Integers only.

/// @notice The energy source of a DER (rule R1). Codes are stable: off-chain code uses the same numbers.
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

/// @notice The terms of a prosumer's contract with its aggregator (rule R2), as passed by callers.
struct Terms {
    SourceKind kind;
    uint32 capacityW;
    int40 expectedWhPerDay; // signed: production positive, consumption negative
    uint32 flexUpW;
    uint32 flexDownW;
    uint32 maxDurationS;
    uint88 tariffUp; // token base units per kWh
    uint88 tariffDown; // token base units per kWh
}

/// @notice What the market needs to know about a prosumer to let it commit to a request.
struct Eligibility {
    bool active;
    uint32 termsBlock; // block in which the current terms took effect
    uint32 capacityW;
    uint32 flexW; // contracted flexibility in the asked direction
    uint88 tariff; // tariff in the asked direction
}

interface IRegistry {
    function eligibility(address prosumer, Direction direction) external view returns (Eligibility memory);

    function reputation(address prosumer) external view returns (uint256);

    function totals() external view returns (uint96 flexUpW, uint96 flexDownW, uint64 count);

    function recordOutcomes(address[] calldata prosumers, bool[] memory compliant) external;

    function expire(address[] calldata prosumers) external returns (uint256 dropped);
}

interface IFlexToken {
    function mint(address[] calldata to, uint256[] memory amounts) external;

    function openAccount(address account) external;
}
