// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Owned} from "./Owned.sol";
import {IFlexToken} from "./FlexTypes.sol";

/// @title FlexToken: the flexibility payment token (rule R11)
/// @notice ERC20 with 18 decimals. Only the market mints (payment for compliant delivery). Any holder
/// redeems tokens by burning them; the `Redeemed` event is what off-chain compensation acts on.
/// @dev Each balance shares its storage slot with an `opened` flag. The registry opens the account of
/// every new prosumer at registration, so paying a prosumer for the first time updates a slot instead
/// of creating one (20,000 gas less on the settlement path, paid once at registration instead).
/// Failures use the ERC-6093 custom errors.
contract FlexToken is Owned, IFlexToken {
    struct Balance {
        uint248 amount;
        bool opened;
    }

    string public name;
    string public symbol;
    uint8 public constant decimals = 18;
    uint256 public totalSupply;
    address public market;
    address public registry;

    mapping(address => Balance) private _balances;
    mapping(address => mapping(address => uint256)) private _allowances;

    error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed);
    error ERC20InvalidSender(address sender);
    error ERC20InvalidReceiver(address receiver);
    error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed);
    error ERC20InvalidApprover(address approver);
    error ERC20InvalidSpender(address spender);
    /// @notice Only the market may mint.
    error NotMarket(address caller);
    /// @notice Only the registry may open accounts.
    error NotRegistry(address caller);
    /// @notice Market and registry were already set.
    error AlreadyConnected();
    /// @notice Redeeming nothing is not allowed.
    error ZeroAmount();
    /// @notice A balance would exceed 2^248 - 1 base units.
    error BalanceOverflow(address account);
    /// @notice Two arrays that must pair up element by element differ in length.
    error LengthMismatch(uint256 left, uint256 right);

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    event Redeemed(address indexed account, uint256 amount, uint256 totalRedeemed);
    event Connected(address indexed market, address indexed registry);

    /// @notice Tokens burned by `redeem`, per account, over its lifetime.
    mapping(address => uint256) public redeemedBy;

    constructor(string memory name_, string memory symbol_) {
        name = name_;
        symbol = symbol_;
    }

    /// @notice Sets the minter (market) and the registry that opens accounts. Once only.
    /// @param market_ the FlexibilityMarket contract
    /// @param registry_ the Registry contract
    function connect(address market_, address registry_) external onlyOwner {
        if (market != address(0)) revert AlreadyConnected();
        if (market_ == address(0) || registry_ == address(0)) revert ZeroAddress();
        market = market_;
        registry = registry_;
        emit Connected(market_, registry_);
    }

    /// @notice The token balance of `account` (ERC-20).
    /// @param account the holder
    /// @return its balance in base units (1e-18 token)
    function balanceOf(address account) external view returns (uint256) {
        return _balances[account].amount;
    }

    /// @notice What `spender` may still move from `holder`'s balance (ERC-20).
    /// @param holder the owner of the tokens
    /// @param spender the account allowed to move them
    /// @return the remaining allowance in base units
    function allowance(address holder, address spender) external view returns (uint256) {
        return _allowances[holder][spender];
    }

    /// @notice Moves `value` of the caller's tokens to `to` (ERC-20).
    /// @param to the recipient, not the zero address
    /// @param value base units
    /// @return true (failures revert with an ERC-6093 error)
    function transfer(address to, uint256 value) external returns (bool) {
        if (to == address(0)) revert ERC20InvalidReceiver(address(0));
        _update(msg.sender, to, value);
        return true;
    }

    /// @notice Lets `spender` move up to `value` of the caller's tokens (ERC-20).
    /// @param spender the account allowed, not the zero address
    /// @param value base units; type(uint256).max never decreases
    /// @return true
    function approve(address spender, uint256 value) external returns (bool) {
        if (spender == address(0)) revert ERC20InvalidSpender(address(0));
        _allowances[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    /// @notice Moves `value` of `from`'s tokens to `to` within the caller's allowance (ERC-20).
    /// @dev An allowance of type(uint256).max is infinite and never decreases.
    /// @param from the holder
    /// @param to the recipient
    /// @param value base units
    /// @return true
    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        if (from == address(0)) revert ERC20InvalidSender(address(0));
        if (to == address(0)) revert ERC20InvalidReceiver(address(0));
        uint256 current = _allowances[from][msg.sender];
        if (current != type(uint256).max) {
            if (current < value) revert ERC20InsufficientAllowance(msg.sender, current, value);
            unchecked {
                _allowances[from][msg.sender] = current - value;
            }
        }
        _update(from, to, value);
        return true;
    }

    /// @notice Mints payments, one per recipient; zero amounts are skipped (only the market).
    /// @param to the recipients
    /// @param amounts what each is paid, in base units
    function mint(address[] calldata to, uint256[] calldata amounts) external {
        if (msg.sender != market) revert NotMarket(msg.sender);
        if (to.length != amounts.length) revert LengthMismatch(to.length, amounts.length);
        uint256 minted;
        for (uint256 i; i < to.length; ++i) {
            uint256 amount = amounts[i];
            if (amount == 0) continue;
            address account = to[i];
            if (account == address(0)) revert ERC20InvalidReceiver(address(0));
            _credit(account, amount);
            emit Transfer(address(0), account, amount);
            minted += amount;
        }
        totalSupply += minted;
    }

    /// @notice Marks a new prosumer's balance slot as used (only the registry); see the contract notes.
    /// @param account the new prosumer
    function openAccount(address account) external {
        if (msg.sender != registry) revert NotRegistry(msg.sender);
        _balances[account].opened = true;
    }

    /// @notice Burns `amount` of the caller's tokens to claim off-chain compensation (R11).
    /// @param amount base units, more than zero
    function redeem(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        _update(msg.sender, address(0), amount);
        uint256 total = redeemedBy[msg.sender] + amount;
        redeemedBy[msg.sender] = total;
        emit Redeemed(msg.sender, amount, total);
    }

    /// @dev Where balances change between holders, and where a burn leaves the supply (`mint` credits a
    /// batch and adds to the supply once). `from` is never the zero address; to == 0 burns.
    function _update(address from, address to, uint256 value) private {
        Balance storage b = _balances[from];
        uint256 balance = b.amount;
        if (balance < value) revert ERC20InsufficientBalance(from, balance, value);
        unchecked {
            b.amount = uint248(balance - value);
        }
        if (to == address(0)) {
            unchecked {
                totalSupply -= value; // value <= balance <= totalSupply
            }
        } else {
            _credit(to, value);
        }
        emit Transfer(from, to, value);
    }

    function _credit(address to, uint256 value) private {
        Balance storage b = _balances[to];
        uint256 amount = uint256(b.amount) + value;
        if (amount > type(uint248).max) revert BalanceOverflow(to);
        b.amount = uint248(amount);
    }
}
