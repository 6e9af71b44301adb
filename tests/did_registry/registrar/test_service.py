"""The registrar on a real DID registry, embedded EVM and Hardhat: direct and relayed operations.

Meta-transaction digests are checked against an assembly written here from the
ERC-1056 text (0x19 0x00, registry, owner nonce, identity, function name, packed
arguments), not against the registrar's own code. Every refusal is checked to
send nothing: same block number, same node nonce.
"""

# The chain fixtures are imported by name; their use as parameters is not a redefinition.
# ruff: noqa: F811

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from chain_adapter.contract import BoundContract
from chain_adapter.protocol import Chain, Receipt
from did_registry.errors import (
    Deactivated,
    InvalidAttribute,
    InvalidNonce,
    InvalidOperation,
    InvalidSignature,
    NotOwner,
)
from did_registry.ethr.attributes import public_key_attribute, service_attribute, to_bytes32
from did_registry.registrar.operations import (
    MAX_VALIDITY,
    AddDelegate,
    ChangeOwner,
    Deactivate,
    Operation,
    RevokeAttribute,
    RevokeDelegate,
    SetAttribute,
)
from did_registry.registrar.service import Registrar
from did_registry.registrar.signatures import parse_signature
from tests.did_registry.registrar_fixtures import (  # noqa: F401 (fixtures)
    backend,
    chain,
    node,
    nothing_sent,
    registrar,
    registry,
    transactor,
)

DAY = 86_400
SECP_KEY = bytes.fromhex("02b97c30de767f084ce3080168ee293053ba33b235d7116a3263d29f1450936b71")
ED_KEY = bytes(range(32))
SVC_NAME = "did/svc/LinkedDomains"
SVC_URL = b"https://notary.example/"


def sign(digest: bytes, signer: LocalAccount) -> bytes:
    """65 bytes r ‖ s ‖ v, as wallets return a signature over a raw hash."""
    signed = Account.unsafe_sign_hash(digest, signer.key)
    return bytes(signed.signature)


def independent_digest(
    registry: BoundContract, nonce: int, identity: str, function: str, *packed: bytes
) -> bytes:
    return keccak(
        b"\x19\x00"
        + bytes.fromhex(registry.address[2:])
        + nonce.to_bytes(32, "big")
        + bytes.fromhex(identity[2:])
        + function.encode()
        + b"".join(packed)
    )


def only_event(registry: BoundContract, receipt: Receipt, name: str) -> dict[str, Any]:
    (event,) = registry.decode_logs(receipt, name)
    return event.args


def relay(registrar: Registrar, holder: LocalAccount, op: Operation, identity: str = "") -> Receipt:
    identity = identity or holder.address
    request = registrar.signing_request(identity, op)
    return registrar.relay(identity, op, sign(request.digest, holder), nonce=request.nonce)


# ------------------------------------------------------------------ direct


def test_direct_operations_on_an_identity_the_hub_owns(
    registrar: Registrar, registry: BoundContract, chain: Chain
) -> None:
    me = registrar.address
    delegate = Account.create().address
    name, value = public_key_attribute("Secp256k1", "veriKey", "hex", SECP_KEY)
    text = name.rstrip(b"\0").decode()

    receipt = registrar.execute(me, SetAttribute(text, value, DAY))
    args = only_event(registry, receipt, "DIDAttributeChanged")
    assert (args["name"], args["value"]) == (name, value)
    assert args["validTo"] == chain.get_block(receipt.block_number).timestamp + DAY

    receipt = registrar.execute(me, AddDelegate("sigAuth", delegate, DAY))
    assert only_event(registry, receipt, "DIDDelegateChanged")["delegate"] == delegate
    assert registry.call("validDelegate", me, to_bytes32("sigAuth"), delegate)
    registrar.execute(me, RevokeDelegate("sigAuth", delegate))
    assert not registry.call("validDelegate", me, to_bytes32("sigAuth"), delegate)
    receipt = registrar.execute(me, RevokeAttribute(text, value))
    assert only_event(registry, receipt, "DIDAttributeChanged")["validTo"] == 0

    # Handing the identity to someone else ends the hub's direct control of it.
    other = Account.create().address
    registrar.execute(me, ChangeOwner(other))
    assert registrar.owner(me) == other
    with nothing_sent(chain, me), pytest.raises(NotOwner, match=other):
        registrar.execute(me, SetAttribute(SVC_NAME, SVC_URL, DAY))


def test_execute_refuses_identities_the_hub_does_not_own(
    registrar: Registrar, chain: Chain
) -> None:
    stranger = Account.create().address
    with nothing_sent(chain, registrar.address), pytest.raises(NotOwner):
        registrar.execute(stranger, SetAttribute(SVC_NAME, SVC_URL, DAY))


# ------------------------------------------------------------------ meta-transactions


def test_digest_is_the_erc1056_digest_with_the_current_owner_nonce(
    registrar: Registrar, registry: BoundContract
) -> None:
    holder = Account.create()
    name, value = service_attribute("LinkedDomains", "https://notary.example/")
    op = SetAttribute(SVC_NAME, value, DAY)
    expected = independent_digest(
        registry, 0, holder.address, "setAttribute", name, value, DAY.to_bytes(32, "big")
    )
    assert registrar.digest(holder.address, op) == expected
    relay(registrar, holder, op)
    request = registrar.signing_request(holder.address, op)
    assert (request.nonce, request.owner) == (1, holder.address)
    assert request.digest == independent_digest(
        registry, 1, holder.address, "setAttribute", name, value, DAY.to_bytes(32, "big")
    )
    new_owner = Account.create().address
    assert registrar.digest(holder.address, ChangeOwner(new_owner)) == independent_digest(
        registry, 1, holder.address, "changeOwner", bytes.fromhex(new_owner[2:])
    )
    assert registrar.digest(holder.address, Deactivate()) == independent_digest(
        registry, 1, holder.address, "changeOwner", bytes(20)
    )


def test_relay_for_a_holder_without_funds(
    registrar: Registrar, registry: BoundContract, chain: Chain
) -> None:
    holder, delegate, successor = Account.create(), Account.create(), Account.create()
    assert chain.get_balance(holder.address) == 0
    ed_name = public_key_attribute("Ed25519", "veriKey", "base64", ED_KEY)[0]

    receipt = relay(registrar, holder, SetAttribute("did/pub/Ed25519/veriKey/base64", ED_KEY, DAY))
    args = only_event(registry, receipt, "DIDAttributeChanged")
    assert (args["identity"], args["name"], args["value"]) == (holder.address, ed_name, ED_KEY)
    assert receipt.from_address == registrar.address  # the hub paid

    relay(registrar, holder, AddDelegate("veriKey", delegate.address, DAY))
    assert registry.call("validDelegate", holder.address, to_bytes32("veriKey"), delegate.address)
    relay(registrar, holder, RevokeDelegate("veriKey", delegate.address))
    relay(registrar, holder, RevokeAttribute("did/pub/Ed25519/veriKey/base64", ED_KEY))
    assert registry.call("nonce", holder.address) == 4

    # After an owner change the new owner signs, with its own nonce.
    relay(registrar, holder, ChangeOwner(successor.address))
    assert registrar.owner(holder.address) == successor.address
    request = registrar.signing_request(holder.address, SetAttribute(SVC_NAME, SVC_URL, DAY))
    assert (request.owner, request.nonce) == (successor.address, 0)
    relay(registrar, successor, SetAttribute(SVC_NAME, SVC_URL, DAY), identity=holder.address)

    receipt = relay(registrar, successor, Deactivate(), identity=holder.address)
    assert only_event(registry, receipt, "DIDOwnerChanged")["owner"] == "0x" + "00" * 20
    assert registrar.is_deactivated(holder.address)
    assert chain.get_balance(holder.address) == 0
    assert chain.get_balance(successor.address) == 0
    with nothing_sent(chain, registrar.address), pytest.raises(Deactivated):
        registrar.signing_request(holder.address, SetAttribute(SVC_NAME, SVC_URL, DAY))


def test_replayed_signature_is_refused(registrar: Registrar, chain: Chain) -> None:
    holder = Account.create()
    op = SetAttribute(SVC_NAME, SVC_URL, DAY)
    request = registrar.signing_request(holder.address, op)
    signature = sign(request.digest, holder)
    registrar.relay(holder.address, op, signature, nonce=request.nonce)
    with nothing_sent(chain, registrar.address):
        with pytest.raises(InvalidNonce, match="nonce 0, but the owner's nonce is 1"):
            registrar.relay(holder.address, op, signature, nonce=request.nonce)
        # Without the nonce, the registrar still recognises the owner's old signature.
        with pytest.raises(InvalidNonce, match="replay"):
            registrar.relay(holder.address, op, signature)


def test_a_signature_relayed_twice_at_once_is_sent_once(
    registrar: Registrar, registry: BoundContract
) -> None:
    holder = Account.create()
    op = SetAttribute(SVC_NAME, SVC_URL, DAY)
    request = registrar.signing_request(holder.address, op)
    signature = sign(request.digest, holder)

    def attempt(_: int) -> str:
        try:
            registrar.relay(holder.address, op, signature, nonce=request.nonce)
        except InvalidNonce:
            return "refused"
        return "sent"

    with ThreadPoolExecutor(4) as pool:
        outcomes = sorted(pool.map(attempt, range(4)))
    assert outcomes == ["refused", "refused", "refused", "sent"]
    assert registry.call("nonce", holder.address) == 1


def test_stale_and_future_nonces_are_refused(registrar: Registrar, chain: Chain) -> None:
    holder = Account.create()
    op = SetAttribute(SVC_NAME, SVC_URL, DAY)
    stale = registrar.signing_request(holder.address, op)  # nonce 0
    relay(registrar, holder, AddDelegate("veriKey", Account.create().address, DAY))  # uses it
    with nothing_sent(chain, registrar.address):
        with pytest.raises(InvalidNonce, match="a replay or stale"):
            registrar.relay(holder.address, op, sign(stale.digest, holder), nonce=stale.nonce)
        with pytest.raises(InvalidNonce, match="not yet valid"):
            registrar.relay(holder.address, op, sign(stale.digest, holder), nonce=5)


def test_a_signature_by_anyone_but_the_owner_is_refused(registrar: Registrar, chain: Chain) -> None:
    holder, intruder = Account.create(), Account.create()
    op = ChangeOwner(intruder.address)
    request = registrar.signing_request(holder.address, op)
    with nothing_sent(chain, registrar.address):
        with pytest.raises(InvalidSignature, match=f"signed by {intruder.address}"):
            registrar.relay(holder.address, op, sign(request.digest, intruder), nonce=request.nonce)
        # A valid signature by the owner, but over another operation.
        other = registrar.digest(holder.address, SetAttribute(SVC_NAME, SVC_URL, DAY))
        with pytest.raises(InvalidSignature):
            registrar.relay(holder.address, op, sign(other, holder), nonce=request.nonce)
    assert registrar.owner(holder.address) == holder.address


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        (b"\x01" * 64, "65 bytes"),
        ("0xzz", "not hex"),
        (b"\x01" * 64 + b"\x1d", "v must be 27 or 28"),
        (b"\x00" * 32 + b"\x01" * 32 + b"\x1b", "r is out of range"),
        (b"\x01" * 32 + b"\xff" * 32 + b"\x1b", "s is out of range"),
        # s in the upper half of the group order: the malleable twin of a valid signature
        (b"\x01" * 32 + bytes.fromhex("f" * 63 + "0") + b"\x1b", "s is out of range|upper half"),
        ((27, 1, 2**255), "upper half"),
    ],
)
def test_malformed_signatures_are_refused_before_any_chain_work(
    registrar: Registrar, chain: Chain, signature: Any, message: str
) -> None:
    holder = Account.create()
    with nothing_sent(chain, registrar.address), pytest.raises(InvalidSignature, match=message):
        registrar.relay(holder.address, SetAttribute(SVC_NAME, SVC_URL, DAY), signature)


def test_signature_forms_agree() -> None:
    holder = Account.create()
    signed = Account.unsafe_sign_hash(b"\x07" * 32, holder.key)
    as_bytes = parse_signature(bytes(signed.signature))
    assert as_bytes == parse_signature(signed.signature.to_0x_hex())
    assert as_bytes == parse_signature((signed.v - 27, signed.r, signed.s.to_bytes(32, "big")))
    assert as_bytes == (signed.v, signed.r, signed.s)


# ------------------------------------------------------------------ bad operations


ADDRESS = "0x52908400098527886E0F7030069857D2E4169EE7"  # EIP-55 test vector


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: SetAttribute("x" * 33, b"v", DAY), InvalidAttribute, "at most 32"),
        (lambda: SetAttribute("did/pub é", b"v", DAY), InvalidAttribute, "printable ASCII"),
        (lambda: SetAttribute("has space", b"v", DAY), InvalidAttribute, "printable ASCII"),
        (lambda: SetAttribute("", b"v", DAY), InvalidAttribute, "printable ASCII"),
        (lambda: SetAttribute("opaque", b"v" * 1025, DAY), InvalidAttribute, "at most 1024"),
        (lambda: RevokeAttribute("opaque", b"v" * 1025), InvalidAttribute, "at most 1024"),
        (lambda: SetAttribute("opaque", b"v", 0), InvalidOperation, "validity"),
        (lambda: SetAttribute("opaque", b"v", MAX_VALIDITY + 1), InvalidOperation, "validity"),
        (lambda: SetAttribute("opaque", b"v", True), InvalidOperation, "validity"),
        (
            lambda: SetAttribute("did/pub/Ed25519/veriKey/base64", b"\1" * 31, DAY),
            InvalidAttribute,
            "32",
        ),
        (
            lambda: SetAttribute("did/pub/Secp256k1/veriKey/hex", b"\2" + b"\0" * 32, DAY),
            InvalidAttribute,
            "not a valid Secp256k1",
        ),
        (
            lambda: SetAttribute("did/pub/X25519/veriKey/hex", ED_KEY, DAY),
            InvalidAttribute,
            "purpose enc",
        ),
        (
            lambda: SetAttribute("did/pub/RSA/veriKey/pem", b"k", DAY),
            InvalidAttribute,
            "unsupported key algorithm",
        ),
        (
            lambda: SetAttribute("did/pub/Ed25519/veriKey/b32", ED_KEY, DAY),
            InvalidAttribute,
            "encoding",
        ),
        (lambda: SetAttribute("did/svc/Bad-Type", SVC_URL, DAY), InvalidAttribute, "neither"),
        (lambda: SetAttribute(SVC_NAME, b"not a uri", DAY), InvalidAttribute, "absolute URI"),
        (lambda: SetAttribute(SVC_NAME, b"\xff", DAY), InvalidAttribute, "UTF-8"),
        (lambda: SetAttribute(SVC_NAME, b"42", DAY), InvalidAttribute, "map or list"),
        (lambda: AddDelegate("owner", ADDRESS, DAY), InvalidAttribute, "delegate type"),
        (lambda: AddDelegate("veriKey", "0x" + "00" * 20, DAY), InvalidOperation, "zero"),
        (lambda: AddDelegate("veriKey", ADDRESS.lower()[:-1], DAY), InvalidOperation, "address"),
        (
            lambda: RevokeDelegate("sigAuth", ADDRESS[:-1] + "e"),
            InvalidOperation,
            "checksum",
        ),
        (lambda: ChangeOwner("0x" + "00" * 20), InvalidOperation, "use Deactivate"),
    ],
)
def test_bad_operations_cannot_even_be_built(
    make: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        make()


def test_operations_normalise_what_they_accept() -> None:
    assert AddDelegate("veriKey", ADDRESS.lower(), DAY).delegate == ADDRESS
    # A bytearray, against the annotation on purpose: the operation stores bytes.
    assert SetAttribute(SVC_NAME, bytearray(SVC_URL), DAY).value == SVC_URL  # type: ignore[arg-type]
    assert SetAttribute(SVC_NAME, b'["https://a.example/"]', DAY).validity == DAY
    assert SetAttribute("x" * 32, b"v" * 1024, MAX_VALIDITY).name == "x" * 32


def test_bad_identities_are_refused_without_sending(registrar: Registrar, chain: Chain) -> None:
    op = SetAttribute(SVC_NAME, SVC_URL, DAY)
    with nothing_sent(chain, registrar.address):
        for identity in ("0x1234", "did:ethr:0x1", ADDRESS[:-1] + "e"):
            with pytest.raises(InvalidOperation):
                registrar.execute(identity, op)
            with pytest.raises(InvalidOperation):
                registrar.signing_request(identity, op)
            with pytest.raises(InvalidOperation):
                registrar.relay(identity, op, b"\1" * 65)
