// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.0;

/// @title EthereumDIDRegistry
/// @notice ERC-1056 "Ethereum Lightweight Identity" registry
///         (https://eips.ethereum.org/EIPS/eip-1056), the registry that backs the
///         `did:ethr` method.
/// @dev Written to be interface- and behaviour-compatible with the reference
///      uport/veramo `ethr-did-registry` contract so that the standard
///      `ethr-did-resolver` resolves DIDs from it unchanged:
///      - same public state getters, function signatures, events and revert
///        strings (`bad_actor`, `bad_signature`);
///      - every change emits an event carrying `previousChange`, the block of the
///        identity's previous change, then sets `changed[identity]` to the current
///        block: resolvers walk this linked list of blocks backwards to collect an
///        identity's history with one `eth_getLogs` per block;
///      - meta-transactions (`...Signed`) are authorised by the identity owner's
///        signature over
///        `keccak256(0x19 ‖ 0x00 ‖ registry ‖ nonce[owner] ‖ identity ‖ "<name>" ‖ args)`
///        (tightly packed); the owner's nonce is bumped on every accepted signature.
///      The only addition is that a signature which does not recover (ecrecover
///      returns the zero address) is rejected as `bad_signature`; in the reference
///      it would be accepted for the (uncontrollable) zero identity.
contract EthereumDIDRegistry {
    /// @notice Explicit owner of an identity; zero means the identity owns itself.
    mapping(address => address) public owners;

    /// @notice Delegate validity: identity => keccak256(abi.encode(delegateType)) => delegate => validTo.
    mapping(address => mapping(bytes32 => mapping(address => uint256))) public delegates;

    /// @notice Block number of the last change made to an identity (0 if never changed).
    mapping(address => uint256) public changed;

    /// @notice Meta-transaction nonce, keyed by the signing owner address.
    mapping(address => uint256) public nonce;

    /// @notice The owner of `identity` changed to `owner`.
    event DIDOwnerChanged(address indexed identity, address owner, uint256 previousChange);

    /// @notice A delegate was added (validTo in the future) or revoked (validTo = now).
    event DIDDelegateChanged(
        address indexed identity,
        bytes32 delegateType,
        address delegate,
        uint256 validTo,
        uint256 previousChange
    );

    /// @notice An attribute was set (validTo = now + validity) or revoked (validTo = 0).
    event DIDAttributeChanged(
        address indexed identity,
        bytes32 name,
        bytes value,
        uint256 validTo,
        uint256 previousChange
    );

    modifier onlyOwner(address identity, address actor) {
        require(actor == identityOwner(identity), "bad_actor");
        _;
    }

    // ---------------------------------------------------------------- views

    /// @notice The current owner of `identity`: the explicit owner if one was set, else itself.
    function identityOwner(address identity) public view returns (address) {
        address owner = owners[identity];
        return owner == address(0) ? identity : owner;
    }

    /// @notice True while `delegate` is an unexpired delegate of `identity` for `delegateType`.
    function validDelegate(address identity, bytes32 delegateType, address delegate)
        public
        view
        returns (bool)
    {
        return delegates[identity][_delegateKey(delegateType)][delegate] > block.timestamp;
    }

    // --------------------------------------------------------------- owner

    /// @notice Transfer ownership of `identity` (caller must be its current owner).
    function changeOwner(address identity, address newOwner) public {
        _changeOwner(identity, msg.sender, newOwner);
    }

    /// @notice Meta-transaction form of {changeOwner}, signed by the current owner.
    function changeOwnerSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        address newOwner
    ) public {
        bytes32 digest = keccak256(
            abi.encodePacked(_prefix(identity), identity, "changeOwner", newOwner)
        );
        _changeOwner(identity, _checkSignature(identity, sigV, sigR, sigS, digest), newOwner);
    }

    // ----------------------------------------------------------- delegates

    /// @notice Add `delegate` of `delegateType` to `identity` for `validity` seconds.
    function addDelegate(address identity, bytes32 delegateType, address delegate, uint256 validity)
        public
    {
        _addDelegate(identity, msg.sender, delegateType, delegate, validity);
    }

    /// @notice Meta-transaction form of {addDelegate}, signed by the current owner.
    function addDelegateSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 delegateType,
        address delegate,
        uint256 validity
    ) public {
        bytes32 digest = keccak256(
            abi.encodePacked(
                _prefix(identity), identity, "addDelegate", delegateType, delegate, validity
            )
        );
        _addDelegate(
            identity,
            _checkSignature(identity, sigV, sigR, sigS, digest),
            delegateType,
            delegate,
            validity
        );
    }

    /// @notice Revoke `delegate` of `delegateType` for `identity` (valid until now).
    function revokeDelegate(address identity, bytes32 delegateType, address delegate) public {
        _revokeDelegate(identity, msg.sender, delegateType, delegate);
    }

    /// @notice Meta-transaction form of {revokeDelegate}, signed by the current owner.
    function revokeDelegateSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 delegateType,
        address delegate
    ) public {
        bytes32 digest = keccak256(
            abi.encodePacked(_prefix(identity), identity, "revokeDelegate", delegateType, delegate)
        );
        _revokeDelegate(
            identity, _checkSignature(identity, sigV, sigR, sigS, digest), delegateType, delegate
        );
    }

    // ---------------------------------------------------------- attributes

    /// @notice Publish attribute `name` = `value` for `identity`, valid for `validity` seconds.
    /// @dev Attributes live in events only; nothing is stored besides `changed`.
    function setAttribute(address identity, bytes32 name, bytes memory value, uint256 validity)
        public
    {
        _setAttribute(identity, msg.sender, name, value, validity);
    }

    /// @notice Meta-transaction form of {setAttribute}, signed by the current owner.
    function setAttributeSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 name,
        bytes memory value,
        uint256 validity
    ) public {
        bytes32 digest = keccak256(
            abi.encodePacked(_prefix(identity), identity, "setAttribute", name, value, validity)
        );
        _setAttribute(
            identity, _checkSignature(identity, sigV, sigR, sigS, digest), name, value, validity
        );
    }

    /// @notice Revoke attribute `name` = `value` of `identity` (emitted with validTo 0).
    function revokeAttribute(address identity, bytes32 name, bytes memory value) public {
        _revokeAttribute(identity, msg.sender, name, value);
    }

    /// @notice Meta-transaction form of {revokeAttribute}, signed by the current owner.
    function revokeAttributeSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 name,
        bytes memory value
    ) public {
        bytes32 digest = keccak256(
            abi.encodePacked(_prefix(identity), identity, "revokeAttribute", name, value)
        );
        _revokeAttribute(
            identity, _checkSignature(identity, sigV, sigR, sigS, digest), name, value
        );
    }

    // ------------------------------------------------------------ internal

    function _changeOwner(address identity, address actor, address newOwner)
        internal
        onlyOwner(identity, actor)
    {
        owners[identity] = newOwner;
        emit DIDOwnerChanged(identity, newOwner, changed[identity]);
        changed[identity] = block.number;
    }

    function _addDelegate(
        address identity,
        address actor,
        bytes32 delegateType,
        address delegate,
        uint256 validity
    ) internal onlyOwner(identity, actor) {
        uint256 validTo = block.timestamp + validity;
        delegates[identity][_delegateKey(delegateType)][delegate] = validTo;
        emit DIDDelegateChanged(identity, delegateType, delegate, validTo, changed[identity]);
        changed[identity] = block.number;
    }

    function _revokeDelegate(address identity, address actor, bytes32 delegateType, address delegate)
        internal
        onlyOwner(identity, actor)
    {
        delegates[identity][_delegateKey(delegateType)][delegate] = block.timestamp;
        emit DIDDelegateChanged(
            identity, delegateType, delegate, block.timestamp, changed[identity]
        );
        changed[identity] = block.number;
    }

    function _setAttribute(
        address identity,
        address actor,
        bytes32 name,
        bytes memory value,
        uint256 validity
    ) internal onlyOwner(identity, actor) {
        emit DIDAttributeChanged(
            identity, name, value, block.timestamp + validity, changed[identity]
        );
        changed[identity] = block.number;
    }

    function _revokeAttribute(address identity, address actor, bytes32 name, bytes memory value)
        internal
        onlyOwner(identity, actor)
    {
        emit DIDAttributeChanged(identity, name, value, 0, changed[identity]);
        changed[identity] = block.number;
    }

    /// @dev Recover the signer of `digest`, require it to be the identity's owner and
    ///      consume one nonce of that owner. Returns the signer (the acting owner).
    function _checkSignature(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 digest
    ) internal returns (address) {
        address signer = ecrecover(digest, sigV, sigR, sigS);
        require(signer != address(0) && signer == identityOwner(identity), "bad_signature");
        nonce[signer]++;
        return signer;
    }

    /// @dev The common head of every signed digest: 0x19 0x00, this registry, and the
    ///      current nonce of the identity's owner (ERC-191 version 0 "intended validator").
    function _prefix(address identity) internal view returns (bytes memory) {
        return abi.encodePacked(
            bytes1(0x19), bytes1(0), address(this), nonce[identityOwner(identity)]
        );
    }

    /// @dev Key of a delegate type in `delegates`, as the reference computes it
    ///      (abi.encode of a bytes32 is the 32 bytes themselves).
    function _delegateKey(bytes32 delegateType) internal pure returns (bytes32) {
        return keccak256(abi.encode(delegateType));
    }
}
