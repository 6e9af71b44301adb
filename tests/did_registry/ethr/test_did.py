"""did:ethr syntax: every part of the identifier, the public-key form, networks."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from eth_account import Account
from eth_keys.datatypes import PrivateKey, PublicKey

from did_registry.errors import InvalidDid, MethodNotSupported, UnknownNetwork
from did_registry.ethr.did import chain_id_label, ethr_did_for, parse_ethr_did

NETWORKS: dict[str | int, int] = {1337: 1337, 31337: 31337, "consortium": 1337, "rsk:testnet": 31}
MAINNET: dict[str | int, int] = {**NETWORKS, 1: 1}
KEY = Account.from_key("0x" + "4c" * 32)
ADDRESS = KEY.address  # EIP-55 checksummed
PUBLIC_KEY = PrivateKey(bytes.fromhex("4c" * 32)).public_key.to_compressed_bytes()


def test_address_form_with_hex_network() -> None:
    did = f"did:ethr:0x539:{ADDRESS.lower()}"
    parsed = parse_ethr_did(did, networks=NETWORKS)
    assert parsed.did == did  # as given: the document id is the DID the caller used
    assert parsed.chain_id == 1337 and parsed.network == "0x539"
    assert parsed.address == ADDRESS and parsed.public_key is None
    assert parsed.identifier == ADDRESS.lower()


def test_checksummed_and_uppercase_addresses_are_accepted() -> None:
    assert parse_ethr_did(f"did:ethr:0x539:{ADDRESS}", networks=NETWORKS).address == ADDRESS
    upper = "0x" + ADDRESS[2:].upper()
    assert parse_ethr_did(f"did:ethr:0x539:{upper}", networks=NETWORKS).address == ADDRESS


def test_public_key_form_names_the_key_address() -> None:
    did = f"did:ethr:0x7a69:0x{PUBLIC_KEY.hex()}"
    parsed = parse_ethr_did(did, networks=NETWORKS)
    assert parsed.chain_id == 31337
    assert parsed.public_key == PUBLIC_KEY
    assert parsed.address == ADDRESS  # keccak of the uncompressed point, last 20 bytes


def test_public_key_hex_is_case_insensitive_and_kept_as_written() -> None:
    upper = "0x" + PUBLIC_KEY.hex().upper()
    parsed = parse_ethr_did(f"did:ethr:0x539:{upper}", networks=NETWORKS)
    assert parsed.address == ADDRESS and parsed.identifier == upper


def test_every_secp256k1_point_parity_is_accepted() -> None:
    for seed in range(1, 9):
        private = ec.derive_private_key(seed, ec.SECP256K1())
        compressed = private.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
        parsed = parse_ethr_did(f"did:ethr:0x539:0x{compressed.hex()}", networks=NETWORKS)
        expected = PublicKey.from_compressed_bytes(compressed).to_checksum_address()
        assert parsed.address == expected


def test_named_networks_and_mainnet_default() -> None:
    assert parse_ethr_did(f"did:ethr:consortium:{ADDRESS}", networks=NETWORKS).chain_id == 1337
    named = parse_ethr_did(f"did:ethr:rsk:testnet:{ADDRESS}", networks=NETWORKS)
    assert named.chain_id == 31 and named.network == "rsk:testnet"
    assert parse_ethr_did(f"did:ethr:{ADDRESS}", networks=MAINNET).chain_id == 1
    assert parse_ethr_did(f"did:ethr:0x1:{ADDRESS}", networks=MAINNET).chain_id == 1
    by_name = parse_ethr_did(f"did:ethr:{ADDRESS}", networks={"mainnet": 1})
    assert by_name.chain_id == 1 and by_name.network is None


def test_did_for_and_label() -> None:
    assert chain_id_label(1337) == "0x539"
    assert ethr_did_for(ADDRESS.lower(), 1337) == f"did:ethr:0x539:{ADDRESS}"
    assert ethr_did_for(ADDRESS, 1) == f"did:ethr:{ADDRESS}"
    with pytest.raises(ValueError):
        chain_id_label(-1)


BAD_CHECKSUM = ADDRESS[:-1] + (ADDRESS[-1].lower() if ADDRESS[-1].isupper() else "A")
NOT_ON_CURVE = "02" + "00" * 31 + "05"  # x = 5: x^3 + 7 = 132 is not a square mod p


@pytest.mark.parametrize(
    ("did", "reason"),
    [
        ("", "non-empty"),
        ("  ", "not allowed"),
        (f"did:ethr:0x539:{ADDRESS} ", "not allowed"),
        (f"did:ethr:0x539:{ADDRESS}\n", "not allowed"),
        (f"did:ethr:0x539:{ADDRESS[:-1]}é", "not allowed"),
        (f"DID:ethr:0x539:{ADDRESS}", "lowercase 'did:'"),
        (f"dod:ethr:0x539:{ADDRESS}", "starts with 'did:'"),
        (f"ethr:0x539:{ADDRESS}", "starts with 'did:'"),
        (f"did::0x539:{ADDRESS}", "method name is empty"),
        (f"did:ETHR:0x539:{ADDRESS}", "lowercase letters and digits"),
        (f"did:et_hr:0x539:{ADDRESS}", "lowercase letters and digits"),
        ("did:ethr", "method-specific identifier is empty"),
        ("did:ethr:", "method-specific identifier is empty"),
        (f"did:ethr::{ADDRESS}", "segment 1"),
        (f"did:ethr:0x539:{ADDRESS}:", "segment 3"),
        (f"did:ethr:0x539::{ADDRESS}", "segment 2"),
        (f"did:ethr:0x5!9:{ADDRESS}", "characters a DID does not allow"),
        (f"did:ethr:0x539:{ADDRESS}#controller", "a fragment"),
        (f"did:ethr:0x539:{ADDRESS}?versionId=3", "a query"),
        (f"did:ethr:0x539:{ADDRESS}/path", "a path"),
        (f"did:ethr:0x539:{ADDRESS};service=x", "parameters"),
        (f"did:ethr:0x539:{ADDRESS[2:]}", "neither an address nor a public key"),
        (f"did:ethr:0x539:0X{ADDRESS[2:]}", "lowercase '0x'"),
        (f"did:ethr:0x539:{ADDRESS[:-1]}g", "non-hex character 'g' at position 41"),
        (f"did:ethr:0x539:{ADDRESS[:-1]}", "has 39 hex digits"),
        (f"did:ethr:0x539:{ADDRESS}0", "has 41 hex digits"),
        ("did:ethr:0x539:0x", "has 0 hex digits"),
        (f"did:ethr:0x539:0x{PUBLIC_KEY.hex()}00", "has 68 hex digits"),
        (f"did:ethr:0x539:{BAD_CHECKSUM}", "EIP-55"),
        (f"did:ethr:0x539:0x04{'11' * 64}", "uncompressed public key"),
        (f"did:ethr:0x539:0x04{PUBLIC_KEY.hex()[2:]}", "starts with 0x02 or 0x03, not 0x04"),
        (f"did:ethr:0x539:0x{NOT_ON_CURVE}", "not a point on secp256k1"),
        (f"did:ethr:0x539:0x02{'ff' * 32}", "not a point on secp256k1"),  # x >= p
        (f"did:ethr:0x0539:{ADDRESS}", "without leading zeros (0x539)"),
        (f"did:ethr:0x53A:{ADDRESS}", "lowercase hex"),
        (f"did:ethr:0X539:{ADDRESS}", "lowercase hex"),
        (f"did:ethr:0x:{ADDRESS}", "is not hex"),
        (f"did:ethr:0xzz:{ADDRESS}", "is not hex"),
    ],
)
def test_malformed(did: str, reason: str) -> None:
    with pytest.raises(InvalidDid) as raised:
        parse_ethr_did(did, networks=NETWORKS)
    assert reason in raised.value.message
    assert raised.value.code == "invalidDid" and raised.value.status_code == 400


@pytest.mark.parametrize(
    ("did", "networks", "reason"),
    [
        (f"did:ethr:0x1:{ADDRESS}", NETWORKS, "chain id 1 (0x1)"),
        (f"did:ethr:0x7a6a:{ADDRESS}", NETWORKS, "chain id 31338"),
        (f"did:ethr:goerli:{ADDRESS}", NETWORKS, "'goerli'"),
        (f"did:ethr:rsk:mainnet:{ADDRESS}", NETWORKS, "'rsk:mainnet'"),
        (f"did:ethr:{ADDRESS}", NETWORKS, "mainnet is not served"),
        (f"did:ethr:%30x539:{ADDRESS}", NETWORKS, "'%30x539'"),  # no decoding: not 0x539
    ],
)
def test_unknown_network(did: str, networks: dict[str | int, int], reason: str) -> None:
    with pytest.raises(UnknownNetwork) as raised:
        parse_ethr_did(did, networks=networks)
    assert reason in raised.value.message
    assert raised.value.code == "unknownNetwork"


def test_other_methods_are_not_supported_rather_than_invalid() -> None:
    with pytest.raises(MethodNotSupported, match="did:key is not did:ethr"):
        parse_ethr_did(
            "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", networks=NETWORKS
        )
