// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Checked narrowing casts
/// @notice Every narrowing in the flexsim contracts either goes through here or is bounded by the
/// inputs it is computed from (each such place says why). A value that does not fit reverts with
/// `ValueOutOfRange` instead of wrapping.
library SafeCast {
    /// @notice `value` does not fit the target type, whose largest value is `max`.
    error ValueOutOfRange(uint256 value, uint256 max);

    function toUint32(uint256 value) internal pure returns (uint32) {
        if (value > type(uint32).max) revert ValueOutOfRange(value, type(uint32).max);
        return uint32(value);
    }

    function toUint128(uint256 value) internal pure returns (uint128) {
        if (value > type(uint128).max) revert ValueOutOfRange(value, type(uint128).max);
        return uint128(value);
    }
}
