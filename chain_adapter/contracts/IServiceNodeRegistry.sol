// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.0;

/// @title IServiceNodeRegistry
/// @notice The one question the AnchorRegistry asks the consortium: may this
///         address anchor? Kept tiny on purpose so that the anchor registry does
///         not depend on how membership and voting are implemented.
interface IServiceNodeRegistry {
    /// @notice True when `node` is a currently admitted node of type Service.
    function isServiceNode(address node) external view returns (bool);
}
