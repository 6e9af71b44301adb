// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.0;

/// @title StatusListRegistry
/// @notice The latest version of every W3C Bitstring Status List a publisher serves
///         (https://www.w3.org/TR/vc-bitstring-status-list/), so that a verifier
///         holding a copy of a list, from any mirror, can check it is the current one.
/// @dev Each publisher has a namespace of its own: a list is keyed by
///      (msg.sender, listId), so nobody can publish a version of another's list.
///      The hub uses listId = sha256(the list credential's URL, UTF-8) and
///      digest = sha256(the uncompressed bitstring); the contract does not care.
///      Republishing the same digest is allowed (a retried transaction is harmless:
///      it only bumps the version).
contract StatusListRegistry {
    struct Version {
        bytes32 digest; // slot 0
        uint64 version; // slot 1 (8 bytes) ...
        uint64 updatedAt; //              ... + 8 bytes: block timestamp
    }

    mapping(address => mapping(bytes32 => Version)) private _lists;

    /// @notice `publisher` made `digest` version `version` of its list `listId`.
    event StatusListPublished(
        address indexed publisher, bytes32 indexed listId, bytes32 digest, uint64 version
    );

    /// @notice Publish `digest` as the new latest version of the sender's list `listId`.
    /// @dev Reverts `zero_digest`: a zero digest would read as "never published".
    function publish(bytes32 listId, bytes32 digest) external returns (uint64 version) {
        require(digest != bytes32(0), "zero_digest");
        Version storage v = _lists[msg.sender][listId];
        version = v.version + 1;
        v.digest = digest;
        v.version = version;
        v.updatedAt = uint64(block.timestamp);
        emit StatusListPublished(msg.sender, listId, digest, version);
    }

    /// @notice The latest version of `publisher`'s list `listId`; all zeros if never published.
    function latest(address publisher, bytes32 listId)
        external
        view
        returns (bytes32 digest, uint64 version, uint64 updatedAt)
    {
        Version storage v = _lists[publisher][listId];
        return (v.digest, v.version, v.updatedAt);
    }
}
