// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.0;

/// @title StatusListImpostor
/// @notice Test only: a look-alike of StatusListRegistry, with the same event and the
///         same `latest`, where anyone can write a version of anyone's list. Verifiers
///         must ignore it, however convincing its logs look.
contract StatusListImpostor {
    struct Version {
        bytes32 digest;
        uint64 version;
        uint64 updatedAt;
        uint64 updatedBlock;
    }

    mapping(address => mapping(bytes32 => Version)) private _lists;

    event StatusListPublished(
        address indexed publisher,
        bytes32 indexed listId,
        bytes32 digest,
        uint64 version,
        bytes encodedList
    );

    /// @notice Write a version of `publisher`'s list `listId`, whoever the sender is.
    function forge(address publisher, bytes32 listId, bytes32 digest, bytes calldata encodedList)
        external
    {
        Version storage v = _lists[publisher][listId];
        v.version += 1;
        v.digest = digest;
        v.updatedAt = uint64(block.timestamp);
        v.updatedBlock = uint64(block.number);
        emit StatusListPublished(publisher, listId, digest, v.version, encodedList);
    }

    function latest(address publisher, bytes32 listId)
        external
        view
        returns (bytes32 digest, uint64 version, uint64 updatedAt, uint64 updatedBlock)
    {
        Version storage v = _lists[publisher][listId];
        return (v.digest, v.version, v.updatedAt, v.updatedBlock);
    }
}
