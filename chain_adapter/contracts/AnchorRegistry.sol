// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.0;

import {IServiceNodeRegistry} from "./IServiceNodeRegistry.sol";

/// @title AnchorRegistry
/// @notice Records Merkle roots of evidence batches. Only service nodes admitted by
///         the consortium may anchor; each root can be anchored exactly once, so
///         re-sending the same batch after a timeout is harmless: the retry reverts
///         with `root_exists` and {lookup} shows the first (and only) anchoring.
/// @dev The block number and time of an anchoring are stored so that {lookup}
///      answers without log queries; the event carries the rest for indexers.
contract AnchorRegistry {
    struct Anchor {
        address anchorer; // slot 0 (20 bytes) ...
        uint64 blockNumber; //       ... + 8 bytes
        uint64 timestamp; // slot 1
        uint64 leafCount; //        ... + 8 bytes
        bytes32 kind; // slot 2
    }

    /// @notice The consortium registry consulted for anchoring rights.
    IServiceNodeRegistry public immutable consortium;

    mapping(bytes32 => Anchor) private _anchors;

    /// @notice `root` (of a tree of `leafCount` leaves, of batch type `kind`) was
    ///         anchored by `anchorer`; the log's own block number and time are the
    ///         anchoring's.
    event RootAnchored(
        bytes32 indexed root, bytes32 indexed kind, address indexed anchorer, uint64 leafCount
    );

    /// @param consortium_ The ConsortiumRegistry (or any IServiceNodeRegistry).
    constructor(IServiceNodeRegistry consortium_) {
        require(address(consortium_) != address(0), "zero_address");
        consortium = consortium_;
    }

    /// @notice Anchor a Merkle `root` of `leafCount` leaves, labelled `kind`.
    /// @dev Reverts `not_service_node`, `zero_root`, `zero_leaf_count` or `root_exists`.
    function anchor(bytes32 root, uint64 leafCount, bytes32 kind) external {
        require(consortium.isServiceNode(msg.sender), "not_service_node");
        require(root != bytes32(0), "zero_root");
        require(leafCount != 0, "zero_leaf_count");
        Anchor storage a = _anchors[root];
        require(a.blockNumber == 0, "root_exists");

        a.anchorer = msg.sender;
        a.blockNumber = uint64(block.number);
        a.timestamp = uint64(block.timestamp);
        a.leafCount = leafCount;
        a.kind = kind;
        emit RootAnchored(root, kind, msg.sender, leafCount);
    }

    /// @notice Where and by whom `root` was anchored; all zeros if it never was.
    function lookup(bytes32 root)
        external
        view
        returns (
            uint64 blockNumber,
            uint64 timestamp,
            uint64 leafCount,
            bytes32 kind,
            address anchorer
        )
    {
        Anchor storage a = _anchors[root];
        return (a.blockNumber, a.timestamp, a.leafCount, a.kind, a.anchorer);
    }

    /// @notice True once `root` has been anchored.
    function isAnchored(bytes32 root) external view returns (bool) {
        return _anchors[root].blockNumber != 0;
    }
}
