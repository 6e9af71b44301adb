"""did:ethr identifiers: syntax, networks, and the identity address they name.

did:ethr method specification, "Method Specific Identifier"
(https://github.com/decentralized-identity/ethr-did-resolver/blob/master/doc/did-method-spec.md)::

    ethr-did                 = "did:ethr:" ethr-specific-identifier
    ethr-specific-identifier = [ ethr-network ":" ] ethereum-address / public-key-hex
    ethr-network             = "mainnet" / "goerli" / network-chain-id
    network-chain-id         = "0x" *HEXDIG
    ethereum-address         = "0x" 40*HEXDIG
    public-key-hex           = "0x" 66*HEXDIG

A missing network means mainnet (chain id 1). A public key must be a compressed
secp256k1 point; the identity is then the Ethereum address of that key
(keccak-256 of the uncompressed point, last 20 bytes). The hex of an address or
a key is case-insensitive; an address in mixed case must carry a valid EIP-55
checksum (https://eips.ethereum.org/EIPS/eip-55), as ethers' ``getAddress``,
which the reference resolver uses, insists.

The general DID syntax is W3C DID Core §3.1 (https://www.w3.org/TR/did-core/#did-syntax);
a DID URL (path, query, fragment, or the old ``;`` parameters, §3.2) is not a DID,
so it is refused here and the resolution options carry ``versionId`` instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from did_registry.errors import InvalidDid, MethodNotSupported, UnknownNetwork

PREFIX = "did:"
METHOD = "ethr"
MAINNET_CHAIN_ID = 1
MAINNET = "mainnet"

ADDRESS_HEX_DIGITS = 40
PUBLIC_KEY_HEX_DIGITS = 66  # a compressed secp256k1 point: 0x02/0x03 and 32 bytes of x
_UNCOMPRESSED_HEX_DIGITS = 130

# DID Core §3.1: method-name = 1*method-char (lowercase letters and digits);
# idchar = ALPHA / DIGIT / "." / "-" / "_" / pct-encoded.
_METHOD_NAME = re.compile(r"[a-z0-9]+", re.ASCII)
_ID_SEGMENT = re.compile(r"(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})+", re.ASCII)
_HEX = re.compile(r"[0-9a-fA-F]*", re.ASCII)
_CANONICAL_CHAIN_ID = re.compile(r"0x[1-9a-f][0-9a-f]*|0x0", re.ASCII)
_DID_URL_PARTS = {"/": "a path", "?": "a query", "#": "a fragment", ";": "parameters"}

# What a network label may map to: the chain id it designates.
Networks = Mapping[str | int, int]


@dataclass(frozen=True, slots=True)
class EthrDid:
    """A parsed did:ethr.

    ``did`` is the DID exactly as given (resolvers use it verbatim as the document
    id); ``identifier`` is its last segment as given (``0x`` + 40 or 66 hex digits);
    ``address`` is the identity, EIP-55 checksummed; ``public_key`` is the compressed
    key of the public-key form, ``None`` for the address form; ``network`` is the
    label as written (``None`` when absent, i.e. mainnet).
    """

    did: str
    chain_id: int
    address: str
    identifier: str
    public_key: bytes | None
    network: str | None


def chain_id_label(chain_id: int) -> str:
    """The network label of ``chain_id`` as did:ethr writes it: lowercase hex, no leading zeros."""
    if chain_id < 0:
        raise ValueError("a chain id is not negative")
    return hex(chain_id)


def ethr_did_for(address: str, chain_id: int) -> str:
    """The address-form did:ethr of ``address`` on ``chain_id`` (no network label for mainnet)."""
    checksummed = to_checksum_address(address)
    if chain_id == MAINNET_CHAIN_ID:
        return f"{PREFIX}{METHOD}:{checksummed}"
    return f"{PREFIX}{METHOD}:{chain_id_label(chain_id)}:{checksummed}"


def parse_ethr_did(did: str, *, networks: Networks) -> EthrDid:
    """Parse ``did``; ``networks`` maps the labels this resolver serves to chain ids.

    Integer keys are chain ids (served under their hex label), string keys are
    network names (``"mainnet"``, or a consortium's own). Raises :class:`InvalidDid`
    with the reason for every syntax error, :class:`MethodNotSupported` for a
    well-formed DID of another method and :class:`UnknownNetwork` for a network
    this resolver does not serve.
    """
    if not isinstance(did, str) or not did:
        raise InvalidDid("a DID must be a non-empty string")
    _check_characters(did)
    if not did.startswith(PREFIX):
        scheme = did.split(":", 1)[0] if ":" in did else did[:8]
        if scheme.lower() == "did":
            raise InvalidDid(f"the DID scheme must be lowercase 'did:', not {scheme!r}")
        raise InvalidDid(f"a DID starts with 'did:' ({did[:16]!r}…)")
    _check_not_a_url(did)
    method, _, specific = did[len(PREFIX) :].partition(":")
    if not method:
        raise InvalidDid("the method name is empty")
    if not _METHOD_NAME.fullmatch(method):
        raise InvalidDid(f"the method name {method!r} must be lowercase letters and digits only")
    if method != METHOD:
        raise MethodNotSupported(f"did:{method} is not did:ethr")
    if not specific:
        raise InvalidDid("the method-specific identifier is empty")
    *network_parts, identifier = specific.split(":")
    for index, segment in enumerate([*network_parts, identifier]):
        if not segment:
            raise InvalidDid(f"segment {index + 1} of the method-specific identifier is empty")
        if not _ID_SEGMENT.fullmatch(segment):
            raise InvalidDid(f"segment {segment!r} has characters a DID does not allow")
    address, public_key = _parse_identifier(identifier)
    # A network name may itself contain colons (e.g. "rsk:testnet"): it is all but the last part.
    network = ":".join(network_parts) if network_parts else None
    return EthrDid(
        did=did,
        chain_id=_chain_id(network, networks),
        address=address,
        identifier=identifier,
        public_key=public_key,
        network=network,
    )


def _check_characters(did: str) -> None:
    for position, char in enumerate(did):
        if not char.isascii() or not char.isprintable() or char.isspace():
            raise InvalidDid(f"character {char!r} at position {position} is not allowed in a DID")


def _check_not_a_url(did: str) -> None:
    found = [(did.index(mark), what) for mark, what in _DID_URL_PARTS.items() if mark in did]
    if found:
        position, what = min(found)
        raise InvalidDid(
            f"{did[:position]!r} is followed by {what} at position {position}: a DID URL is "
            "not a DID (pass versionId / versionTime as resolution options)"
        )


def _parse_identifier(identifier: str) -> tuple[str, bytes | None]:
    if not identifier.startswith("0x"):
        if identifier[:2].lower() == "0x":
            raise InvalidDid(f"the identifier must start with lowercase '0x': {identifier!r}")
        raise InvalidDid(
            f"the identifier {identifier!r} is neither an address nor a public key "
            "(expected '0x' and hex digits)"
        )
    digits = identifier[2:]
    bad = _HEX.match(digits)
    assert bad is not None  # the pattern matches the empty prefix at least
    if bad.end() != len(digits):
        raise InvalidDid(
            f"the identifier has a non-hex character {digits[bad.end()]!r} at position "
            f"{bad.end() + 2}"
        )
    if len(digits) == ADDRESS_HEX_DIGITS:
        return _checked_address(identifier), None
    if len(digits) == PUBLIC_KEY_HEX_DIGITS:
        key = bytes.fromhex(digits)
        return _address_of_public_key(key), key
    if len(digits) == _UNCOMPRESSED_HEX_DIGITS:
        raise InvalidDid(
            "an uncompressed public key is not a did:ethr identifier: use the 33-byte "
            "compressed form (0x02/0x03 and the x coordinate)"
        )
    raise InvalidDid(
        f"the identifier has {len(digits)} hex digits; an address has {ADDRESS_HEX_DIGITS} "
        f"and a compressed public key {PUBLIC_KEY_HEX_DIGITS}"
    )


def _checked_address(identifier: str) -> str:
    checksummed = to_checksum_address(identifier)
    digits = identifier[2:]
    # EIP-55: all-lowercase and all-uppercase carry no checksum; mixed case must be exact.
    if digits != digits.lower() and digits != digits.upper() and identifier != checksummed:
        raise InvalidDid(
            f"the address {identifier} fails its EIP-55 mixed-case checksum "
            f"(checksummed it is {checksummed})"
        )
    return checksummed


def _address_of_public_key(key: bytes) -> str:
    if key[0] not in (2, 3):
        raise InvalidDid(
            f"a compressed secp256k1 public key starts with 0x02 or 0x03, not 0x{key[0]:02x}"
        )
    try:
        point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), key)
    except ValueError:
        raise InvalidDid(
            "the public key is not a point on secp256k1 (its x coordinate has no curve point)"
        ) from None
    uncompressed = point.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return to_checksum_address(keccak(uncompressed[1:])[-20:])


def _chain_id(network: str | None, networks: Networks) -> int:
    if network is None:
        # The spec's default: no network is Ethereum mainnet, served by name or by chain id 1.
        if MAINNET in networks:
            return networks[MAINNET]
        if MAINNET_CHAIN_ID in networks:
            return networks[MAINNET_CHAIN_ID]
        raise UnknownNetwork("no network given, which means mainnet, and mainnet is not served")
    if network in networks:
        return networks[network]
    if network[:2].lower() == "0x":
        digits = network[2:]
        if not digits or not _HEX.fullmatch(digits):
            raise InvalidDid(f"the network chain id {network!r} is not hex")
        if not _CANONICAL_CHAIN_ID.fullmatch(network):
            raise InvalidDid(
                f"the network chain id {network!r} must be written in lowercase hex without "
                f"leading zeros ({chain_id_label(int(digits, 16))})"
            )
        chain_id = int(digits, 16)
        if chain_id in networks:
            return networks[chain_id]
        raise UnknownNetwork(f"chain id {chain_id} ({network}) is not served by this resolver")
    raise UnknownNetwork(f"network {network!r} is not served by this resolver")
