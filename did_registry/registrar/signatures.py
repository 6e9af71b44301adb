"""ERC-1056 meta-transactions: the digest an identity's owner signs, and its signature.

ERC-1056 (https://eips.ethereum.org/EIPS/eip-1056), the ``...Signed`` functions: the
owner signs ``keccak256(0x19 ‖ 0x00 ‖ registry ‖ nonce[identityOwner(identity)] ‖
identity ‖ "<function>" ‖ args)`` (tightly packed, ERC-191 version 0 "intended
validator", https://eips.ethereum.org/EIPS/eip-191). Signatures are secp256k1
``(v, r, s)`` with a low ``s`` (EIP-2, https://eips.ethereum.org/EIPS/eip-2).
"""

from __future__ import annotations

from eth_abi.packed import encode_packed
from eth_keys.datatypes import Signature
from eth_keys.exceptions import BadSignature
from eth_utils.crypto import keccak
from eth_utils.exceptions import ValidationError as EthKeysValidationError

from did_registry.errors import InvalidSignature
from did_registry.registrar.operations import Operation, encode_operation

# secp256k1 group order (SEC 2 §2.4.1); EIP-2 makes s > n/2 non-canonical.
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def meta_digest(registry: str, owner_nonce: int, identity: str, op: Operation) -> bytes:
    """The ERC-1056 meta-transaction digest the identity's owner signs for ``op``."""
    function, _, packed = encode_operation(op)
    head = encode_packed(
        ["bytes1", "bytes1", "address", "uint256", "address"],
        [b"\x19", b"\x00", registry, owner_nonce, identity],
    )
    return keccak(head + function.encode("ascii") + packed)


SignatureInput = bytes | str | tuple[int, int | bytes, int | bytes]


def parse_signature(signature: SignatureInput) -> tuple[int, int, int]:
    """(v in {27, 28}, r, s) from 65 bytes / hex ``r ‖ s ‖ v`` or a ``(v, r, s)`` tuple."""
    if isinstance(signature, str):
        text = signature.removeprefix("0x")
        try:
            signature = bytes.fromhex(text)
        except ValueError:
            raise InvalidSignature("the signature is not hex") from None
    if isinstance(signature, bytes | bytearray):
        if len(signature) != 65:
            raise InvalidSignature(f"a signature is 65 bytes (r ‖ s ‖ v), not {len(signature)}")
        v: object = signature[64]
        r: object = int.from_bytes(signature[:32], "big")
        s: object = int.from_bytes(signature[32:64], "big")
    elif isinstance(signature, tuple) and len(signature) == 3:
        v, r, s = (int.from_bytes(x, "big") if isinstance(x, bytes) else x for x in signature)
    else:
        raise InvalidSignature("a signature is 65 bytes or (v, r, s)")
    if isinstance(v, bool) or not isinstance(v, int) or v not in (0, 1, 27, 28):
        raise InvalidSignature(f"signature v must be 27 or 28 (or 0 or 1), not {v!r}")
    for label, value in (("r", r), ("s", s)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < _SECP256K1_N:
            raise InvalidSignature(f"signature {label} is out of range")
    assert isinstance(r, int) and isinstance(s, int)
    if s > _SECP256K1_N // 2:
        raise InvalidSignature("signature s is in the upper half of the order (EIP-2)")
    return (v if v >= 27 else v + 27), r, s


def recover_signer(digest: bytes, vrs: tuple[int, int, int]) -> str:
    """The address whose key made signature ``vrs`` over the 32-byte ``digest``."""
    v, r, s = vrs
    try:
        public = Signature(vrs=(v - 27, r, s)).recover_public_key_from_msg_hash(digest)
    except (BadSignature, EthKeysValidationError) as exc:
        raise InvalidSignature(f"the signature does not recover a key: {exc}") from None
    return str(public.to_checksum_address())
