// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Hand-written EIP-712 typed-data signatures (London-safe)
/// @notice OpenZeppelin Contracts >= 5.5 does not compile for London (its EIP712 uses `mcopy`), so the
/// flexsim contracts carry this small equivalent: the domain separator
/// `EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)`, cached for
/// the deployment's chain id and recomputed on another (a fork), and a signer recovery that refuses
/// malleable signatures (high s), bad `v` and the zero address.
abstract contract EIP712 {
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    /// @dev secp256k1n / 2: a signature with a larger `s` has a twin and is refused (EIP-2).
    uint256 private constant HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    bytes32 private immutable _nameHash;
    bytes32 private immutable _versionHash;
    uint256 private immutable _cachedChainId;
    bytes32 private immutable _cachedSeparator;

    /// @notice The signature is malformed (high s, v not 27 or 28) or recovers to no account.
    error InvalidSignature();

    constructor(string memory name, string memory version) {
        _nameHash = keccak256(bytes(name));
        _versionHash = keccak256(bytes(version));
        _cachedChainId = block.chainid;
        _cachedSeparator = _buildSeparator();
    }

    /// @notice The EIP-712 domain separator of this contract on the current chain.
    /// @return keccak256 of (EIP712Domain typehash, name, version, chain id, this contract)
    function domainSeparator() public view returns (bytes32) {
        return block.chainid == _cachedChainId ? _cachedSeparator : _buildSeparator();
    }

    /// @dev The digest a signer signs for a struct whose EIP-712 hash is `structHash`.
    function _typedDataDigest(bytes32 structHash) internal view returns (bytes32 digest) {
        bytes32 separator = domainSeparator();
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, hex"1901")
            mstore(add(ptr, 0x02), separator)
            mstore(add(ptr, 0x22), structHash)
            digest := keccak256(ptr, 0x42)
        }
    }

    /// @dev The account that signed `digest`; reverts on a malformed signature.
    function _recover(bytes32 digest, uint8 v, bytes32 r, bytes32 s) internal pure returns (address signer) {
        if (uint256(s) > HALF_ORDER || (v != 27 && v != 28)) revert InvalidSignature();
        signer = ecrecover(digest, v, r, s);
        if (signer == address(0)) revert InvalidSignature();
    }

    function _buildSeparator() private view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, _nameHash, _versionHash, block.chainid, address(this)));
    }
}
