// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.0;

/// @title StatusListRegistry
/// @notice Every version of every W3C Bitstring Status List a publisher serves
///         (https://www.w3.org/TR/vc-bitstring-status-list/): the latest digest in
///         storage, and each version's list itself in its event, so that any node of
///         the chain is a mirror. A verifier holding a copy of a list checks it is the
///         current one; a verifier holding nothing reads the current one from the log.
/// @dev Each publisher has a namespace of its own: a list is keyed by
///      (msg.sender, listId), so nobody can publish a version of another's list.
///      The hub uses listId = sha256(the list credential's URL, UTF-8),
///      digest = sha256(the uncompressed bitstring) and encodedList = the GZIP bytes of
///      the credential's encodedList (after multibase decoding). The contract cannot
///      inflate GZIP, so it does not check the digest against the list: verifiers do.
///      The list is log data, not storage (8 gas a byte instead of 20,000 a word).
///      Republishing the same digest is allowed (a retried transaction is harmless:
///      it only bumps the version).
contract StatusListRegistry {
    /// @notice The largest encodedList accepted, in bytes. A 131,072-entry list is
    ///         16 KiB uncompressed, so even incompressible it fits several times over.
    uint256 public constant MAX_ENCODED_LIST = 65536;

    struct Version {
        bytes32 digest; // slot 0
        uint64 version; // slot 1 (8 bytes) ...
        uint64 updatedAt; //              ... + 8 bytes: block timestamp
        uint64 updatedBlock; //           ... + 8 bytes: block number, where its log is
    }

    mapping(address => mapping(bytes32 => Version)) private _lists;

    /// @notice `publisher` made `digest` version `version` of its list `listId`;
    ///         `encodedList` is that version's GZIP-compressed bitstring.
    event StatusListPublished(
        address indexed publisher,
        bytes32 indexed listId,
        bytes32 digest,
        uint64 version,
        bytes encodedList
    );

    /// @notice Publish `digest` and its list as the new latest version of the sender's
    ///         list `listId`.
    /// @dev Reverts `zero_digest` (a zero digest would read as "never published"),
    ///      `empty_list`, and `list_too_large` beyond MAX_ENCODED_LIST bytes.
    function publish(bytes32 listId, bytes32 digest, bytes calldata encodedList)
        external
        returns (uint64 version)
    {
        require(digest != bytes32(0), "zero_digest");
        require(encodedList.length != 0, "empty_list");
        require(encodedList.length <= MAX_ENCODED_LIST, "list_too_large");
        Version storage v = _lists[msg.sender][listId];
        version = v.version + 1;
        v.digest = digest;
        v.version = version;
        v.updatedAt = uint64(block.timestamp);
        v.updatedBlock = uint64(block.number);
        emit StatusListPublished(msg.sender, listId, digest, version, encodedList);
    }

    /// @notice The latest version of `publisher`'s list `listId` and the block whose
    ///         log carries it; all zeros if never published.
    function latest(address publisher, bytes32 listId)
        external
        view
        returns (bytes32 digest, uint64 version, uint64 updatedAt, uint64 updatedBlock)
    {
        Version storage v = _lists[publisher][listId];
        return (v.digest, v.version, v.updatedAt, v.updatedBlock);
    }
}
