// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Single-owner access control
/// @notice The deployer owns the contract and wires its roles; ownership can be handed over.
abstract contract Owned {
    address public owner;

    /// @notice The caller is not the owner.
    error NotOwner(address caller);
    /// @notice The zero address was given where an account is required.
    error ZeroAddress();

    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    constructor() {
        owner = msg.sender;
        emit OwnershipTransferred(address(0), msg.sender);
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// @notice Hands ownership (the wiring roles) to another account.
    /// @param newOwner the new owner, not the zero address
    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert ZeroAddress();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }
}
