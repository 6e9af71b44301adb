// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @title Probe: a test-only contract exercising every path of the chain adapter.
/// @notice Storage round-trip, an event with indexed and dynamic fields, a
///         reason-string revert, a custom-error revert and a payable entry point.
contract Probe {
    uint256 private stored;

    event Set(address indexed who, uint256 value, bytes data);
    event Deposited(address indexed from, uint256 amount);

    error Refused(address who, uint256 code);

    function set(uint256 value) external {
        stored = value;
        emit Set(msg.sender, value, abi.encodePacked(value));
    }

    function get() external view returns (uint256) {
        return stored;
    }

    function fail() external pure {
        revert("probe: failed on purpose");
    }

    function failCustom(uint256 code) external view {
        revert Refused(msg.sender, code);
    }

    function deposit() external payable {
        emit Deposited(msg.sender, msg.value);
    }
}
