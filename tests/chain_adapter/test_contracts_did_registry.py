"""EthereumDIDRegistry: ERC-1056 behaviour on a real in-process EVM.

Meta-transaction digests are computed here from the ERC-1056 text and the
reference registry's rule, never read back from the contract:

    keccak256(0x19 ‖ 0x00 ‖ registry(20) ‖ nonce[owner](32) ‖ identity(20)
              ‖ "<functionName>" ‖ args tightly packed)
"""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ABIEvent, ABIFunction
from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract

from tests.chain_adapter.contracts_conftest_helpers import (
    advance_time,
    b32,
    block_timestamp,
    deploy,
    events,
    new_web3,
    reverts,
    transact,
)

ZERO = "0x0000000000000000000000000000000000000000"
VERI_KEY = b32("veriKey")
SIG_AUTH = b32("sigAuth")
ATTR_NAME = b32("did/pub/Secp256k1/veriKey/hex")
ATTR_VALUE = bytes.fromhex("02b97c30de767f084ce3080168ee293053ba33b235d7116a3263d29f1450936b71")
DAY = 86400


@pytest.fixture(scope="module")
def w3() -> Web3:
    return new_web3()


@pytest.fixture
def registry(w3: Web3) -> Contract:
    contract, _ = deploy(w3, "EthereumDIDRegistry")
    return contract


@pytest.fixture
def accounts(w3: Web3) -> list[str]:
    return list(w3.eth.accounts)


@pytest.fixture
def relayer(accounts: list[str]) -> str:
    """A funded account that submits signed meta-transactions on someone's behalf."""
    return accounts[9]


# ------------------------------------------------------------------ helpers


def _addr(address: str) -> bytes:
    return bytes.fromhex(address[2:])


def _uint(value: int) -> bytes:
    return value.to_bytes(32, "big")


def meta_digest(
    registry: Contract, owner_nonce: int, identity: str, function: str, *packed: bytes
) -> bytes:
    """The ERC-1056 meta-transaction digest, assembled byte by byte."""
    message = (
        b"\x19\x00"
        + _addr(registry.address)
        + _uint(owner_nonce)
        + _addr(identity)
        + function.encode()
        + b"".join(packed)
    )
    return keccak(message)


def sign(digest: bytes, signer: LocalAccount) -> tuple[int, bytes, bytes]:
    signed = Account.unsafe_sign_hash(digest, signer.key)
    return signed.v, _uint(signed.r), _uint(signed.s)


def owner_nonce(registry: Contract, identity: str) -> int:
    owner = registry.functions.identityOwner(identity).call()
    return int(registry.functions.nonce(owner).call())


def delegate_key(delegate_type: bytes) -> bytes:
    """The reference stores delegates under keccak256(abi.encode(bytes32))."""
    return keccak(delegate_type)


def new_identity() -> LocalAccount:
    identity: LocalAccount = Account.create()
    return identity


# ------------------------------------------------------------- interface


def _signature(entry: ABIFunction | ABIEvent) -> str:
    return f"{entry['name']}({','.join(i['type'] for i in entry['inputs'])})"


def test_abi_is_exactly_erc1056(registry: Contract) -> None:
    functions = {_signature(e) for e in registry.abi if e["type"] == "function"}
    assert functions == {
        "owners(address)",
        "delegates(address,bytes32,address)",
        "changed(address)",
        "nonce(address)",
        "identityOwner(address)",
        "validDelegate(address,bytes32,address)",
        "changeOwner(address,address)",
        "changeOwnerSigned(address,uint8,bytes32,bytes32,address)",
        "addDelegate(address,bytes32,address,uint256)",
        "addDelegateSigned(address,uint8,bytes32,bytes32,bytes32,address,uint256)",
        "revokeDelegate(address,bytes32,address)",
        "revokeDelegateSigned(address,uint8,bytes32,bytes32,bytes32,address)",
        "setAttribute(address,bytes32,bytes,uint256)",
        "setAttributeSigned(address,uint8,bytes32,bytes32,bytes32,bytes,uint256)",
        "revokeAttribute(address,bytes32,bytes)",
        "revokeAttributeSigned(address,uint8,bytes32,bytes32,bytes32,bytes)",
    }
    evts = {
        _signature(e): [i["indexed"] for i in e["inputs"]]
        for e in registry.abi
        if e["type"] == "event"
    }
    assert evts == {
        "DIDOwnerChanged(address,address,uint256)": [True, False, False],
        "DIDDelegateChanged(address,bytes32,address,uint256,uint256)": [
            True,
            False,
            False,
            False,
            False,
        ],
        "DIDAttributeChanged(address,bytes32,bytes,uint256,uint256)": [
            True,
            False,
            False,
            False,
            False,
        ],
    }
    # Event topics the resolver filters on.
    assert (
        registry.events.DIDOwnerChanged().topic
        == "0x" + keccak(b"DIDOwnerChanged(address,address,uint256)").hex()
    )
    views = {e["name"]: e["stateMutability"] for e in registry.abi if e["type"] == "function"}
    for name in ("owners", "delegates", "changed", "nonce", "identityOwner", "validDelegate"):
        assert views[name] == "view"
    assert not [e for e in registry.abi if e["type"] == "constructor" and e["inputs"]]


# ------------------------------------------------------------------ owner


def test_identity_owns_itself_by_default(registry: Contract, accounts: list[str]) -> None:
    assert registry.functions.identityOwner(accounts[0]).call() == accounts[0]
    assert registry.functions.owners(accounts[0]).call() == ZERO
    assert registry.functions.changed(accounts[0]).call() == 0


def test_change_owner_then_old_owner_rejected(
    w3: Web3, registry: Contract, accounts: list[str]
) -> None:
    identity, new_owner, third = accounts[0], accounts[1], accounts[2]
    receipt = transact(w3, registry.functions.changeOwner(identity, new_owner), identity)
    assert events(registry, "DIDOwnerChanged", receipt) == [
        {"identity": identity, "owner": new_owner, "previousChange": 0}
    ]
    assert registry.functions.identityOwner(identity).call() == new_owner
    assert registry.functions.owners(identity).call() == new_owner
    assert registry.functions.changed(identity).call() == receipt["blockNumber"]

    with reverts("bad_actor"):
        registry.functions.changeOwner(identity, third).transact({"from": identity})
    with reverts("bad_actor"):
        registry.functions.addDelegate(identity, VERI_KEY, third, DAY).transact({"from": identity})

    receipt2 = transact(w3, registry.functions.changeOwner(identity, third), new_owner)
    assert (
        events(registry, "DIDOwnerChanged", receipt2)[0]["previousChange"]
        == (receipt["blockNumber"])
    )
    assert registry.functions.identityOwner(identity).call() == third


def test_stranger_cannot_change_owner(registry: Contract, accounts: list[str]) -> None:
    with reverts("bad_actor"):
        registry.functions.changeOwner(accounts[0], accounts[3]).transact({"from": accounts[3]})


def test_change_owner_signed(w3: Web3, registry: Contract, relayer: str) -> None:
    identity = new_identity()
    new_owner = new_identity()
    digest = meta_digest(registry, 0, identity.address, "changeOwner", _addr(new_owner.address))
    v, r, s = sign(digest, identity)
    receipt = transact(
        w3,
        registry.functions.changeOwnerSigned(identity.address, v, r, s, new_owner.address),
        relayer,
    )
    assert events(registry, "DIDOwnerChanged", receipt) == [
        {"identity": identity.address, "owner": new_owner.address, "previousChange": 0}
    ]
    assert registry.functions.identityOwner(identity.address).call() == new_owner.address
    assert registry.functions.nonce(identity.address).call() == 1

    # Replaying the same signature fails: the owner changed and the nonce moved on.
    with reverts("bad_signature"):
        registry.functions.changeOwnerSigned(identity.address, v, r, s, new_owner.address).transact(
            {"from": relayer}
        )

    # The old owner's fresh signature is now rejected as well...
    digest_old = meta_digest(registry, 1, identity.address, "changeOwner", _addr(relayer))
    v, r, s = sign(digest_old, identity)
    with reverts("bad_signature"):
        registry.functions.changeOwnerSigned(identity.address, v, r, s, relayer).transact(
            {"from": relayer}
        )
    # ... while the new owner signs with *its* nonce (still 0).
    digest_new = meta_digest(registry, 0, identity.address, "changeOwner", _addr(relayer))
    v, r, s = sign(digest_new, new_owner)
    transact(w3, registry.functions.changeOwnerSigned(identity.address, v, r, s, relayer), relayer)
    assert registry.functions.identityOwner(identity.address).call() == relayer
    assert registry.functions.nonce(new_owner.address).call() == 1
    assert registry.functions.nonce(identity.address).call() == 1


def test_replayed_signature_rejected(w3: Web3, registry: Contract, relayer: str) -> None:
    identity = new_identity()
    delegate = new_identity().address
    digest = meta_digest(
        registry, 0, identity.address, "addDelegate", VERI_KEY, _addr(delegate), _uint(DAY)
    )
    v, r, s = sign(digest, identity)
    call = registry.functions.addDelegateSigned(identity.address, v, r, s, VERI_KEY, delegate, DAY)
    transact(w3, call, relayer)
    assert registry.functions.nonce(identity.address).call() == 1
    with reverts("bad_signature"):
        call.transact({"from": relayer})
    assert registry.functions.nonce(identity.address).call() == 1


def test_wrong_signer_rejected(registry: Contract, relayer: str) -> None:
    identity = new_identity()
    intruder = new_identity()
    digest = meta_digest(registry, 0, identity.address, "changeOwner", _addr(intruder.address))
    v, r, s = sign(digest, intruder)
    with reverts("bad_signature"):
        registry.functions.changeOwnerSigned(identity.address, v, r, s, intruder.address).transact(
            {"from": relayer}
        )
    # A signature over other arguments than those sent does not recover the owner.
    v, r, s = sign(digest, identity)
    with reverts("bad_signature"):
        registry.functions.changeOwnerSigned(identity.address, v, r, s, relayer).transact(
            {"from": relayer}
        )
    # Nor does a garbage signature (ecrecover yields the zero address).
    with reverts("bad_signature"):
        registry.functions.changeOwnerSigned(
            identity.address, 27, b"\x00" * 32, b"\x00" * 32, relayer
        ).transact({"from": relayer})
    assert registry.functions.nonce(identity.address).call() == 0


def test_signature_bound_to_registry_address(w3: Web3, registry: Contract, relayer: str) -> None:
    other, _ = deploy(w3, "EthereumDIDRegistry")
    identity = new_identity()
    digest = meta_digest(other, 0, identity.address, "changeOwner", _addr(relayer))
    v, r, s = sign(digest, identity)
    with reverts("bad_signature"):
        registry.functions.changeOwnerSigned(identity.address, v, r, s, relayer).transact(
            {"from": relayer}
        )


def test_signed_calls_use_the_current_owners_nonce(
    w3: Web3, registry: Contract, accounts: list[str], relayer: str
) -> None:
    identity = new_identity()
    owner = new_identity()
    v, r, s = sign(
        meta_digest(registry, 0, identity.address, "changeOwner", _addr(owner.address)), identity
    )
    transact(
        w3, registry.functions.changeOwnerSigned(identity.address, v, r, s, owner.address), relayer
    )
    for expected_nonce in range(3):
        assert owner_nonce(registry, identity.address) == expected_nonce
        value = f"https://hub.example/{expected_nonce}".encode()
        digest = meta_digest(
            registry,
            expected_nonce,
            identity.address,
            "setAttribute",
            ATTR_NAME,
            value,
            _uint(DAY),
        )
        v, r, s = sign(digest, owner)
        transact(
            w3,
            registry.functions.setAttributeSigned(identity.address, v, r, s, ATTR_NAME, value, DAY),
            relayer,
        )
    assert registry.functions.nonce(owner.address).call() == 3
    assert registry.functions.nonce(identity.address).call() == 1


# -------------------------------------------------------------- delegates


def test_add_and_revoke_delegate(w3: Web3, registry: Contract, accounts: list[str]) -> None:
    identity, delegate = accounts[0], accounts[4]
    receipt = transact(
        w3, registry.functions.addDelegate(identity, VERI_KEY, delegate, DAY), identity
    )
    now = block_timestamp(w3, receipt)
    assert events(registry, "DIDDelegateChanged", receipt) == [
        {
            "identity": identity,
            "delegateType": VERI_KEY,
            "delegate": delegate,
            "validTo": now + DAY,
            "previousChange": 0,
        }
    ]
    assert registry.functions.delegates(identity, delegate_key(VERI_KEY), delegate).call() == (
        now + DAY
    )
    assert registry.functions.validDelegate(identity, VERI_KEY, delegate).call()
    assert not registry.functions.validDelegate(identity, SIG_AUTH, delegate).call()
    assert registry.functions.changed(identity).call() == receipt["blockNumber"]

    receipt2 = transact(
        w3, registry.functions.revokeDelegate(identity, VERI_KEY, delegate), identity
    )
    now2 = block_timestamp(w3, receipt2)
    assert events(registry, "DIDDelegateChanged", receipt2) == [
        {
            "identity": identity,
            "delegateType": VERI_KEY,
            "delegate": delegate,
            "validTo": now2,
            "previousChange": receipt["blockNumber"],
        }
    ]
    assert registry.functions.delegates(identity, delegate_key(VERI_KEY), delegate).call() == now2
    assert not registry.functions.validDelegate(identity, VERI_KEY, delegate).call()

    with reverts("bad_actor"):
        registry.functions.addDelegate(identity, VERI_KEY, delegate, DAY).transact(
            {"from": delegate}
        )
    with reverts("bad_actor"):
        registry.functions.revokeDelegate(identity, VERI_KEY, delegate).transact({"from": delegate})


def test_valid_delegate_expires(w3: Web3, registry: Contract, accounts: list[str]) -> None:
    identity, delegate = accounts[0], accounts[5]
    receipt = transact(
        w3, registry.functions.addDelegate(identity, SIG_AUTH, delegate, 100), identity
    )
    valid_to = block_timestamp(w3, receipt) + 100
    assert registry.functions.validDelegate(identity, SIG_AUTH, delegate).call()
    advance_time(w3, 99)
    assert w3.eth.get_block("latest")["timestamp"] < valid_to
    assert registry.functions.validDelegate(identity, SIG_AUTH, delegate).call()
    advance_time(w3, 1)
    # validTo is exclusive: valid while validTo > block.timestamp.
    assert w3.eth.get_block("latest")["timestamp"] >= valid_to
    assert not registry.functions.validDelegate(identity, SIG_AUTH, delegate).call()


def test_add_and_revoke_delegate_signed(w3: Web3, registry: Contract, relayer: str) -> None:
    identity = new_identity()
    delegate = new_identity().address
    digest = meta_digest(
        registry, 0, identity.address, "addDelegate", VERI_KEY, _addr(delegate), _uint(DAY)
    )
    v, r, s = sign(digest, identity)
    receipt = transact(
        w3,
        registry.functions.addDelegateSigned(identity.address, v, r, s, VERI_KEY, delegate, DAY),
        relayer,
    )
    now = block_timestamp(w3, receipt)
    (evt,) = events(registry, "DIDDelegateChanged", receipt)
    assert evt["validTo"] == now + DAY and evt["delegate"] == delegate
    assert registry.functions.validDelegate(identity.address, VERI_KEY, delegate).call()

    digest = meta_digest(registry, 1, identity.address, "revokeDelegate", VERI_KEY, _addr(delegate))
    v, r, s = sign(digest, identity)
    receipt2 = transact(
        w3,
        registry.functions.revokeDelegateSigned(identity.address, v, r, s, VERI_KEY, delegate),
        relayer,
    )
    (evt2,) = events(registry, "DIDDelegateChanged", receipt2)
    assert evt2["validTo"] == block_timestamp(w3, receipt2)
    assert evt2["previousChange"] == receipt["blockNumber"]
    assert not registry.functions.validDelegate(identity.address, VERI_KEY, delegate).call()
    assert registry.functions.nonce(identity.address).call() == 2


# ------------------------------------------------------------- attributes


def test_set_and_revoke_attribute(w3: Web3, registry: Contract, accounts: list[str]) -> None:
    identity = accounts[6]
    receipt = transact(
        w3, registry.functions.setAttribute(identity, ATTR_NAME, ATTR_VALUE, DAY), identity
    )
    assert events(registry, "DIDAttributeChanged", receipt) == [
        {
            "identity": identity,
            "name": ATTR_NAME,
            "value": ATTR_VALUE,
            "validTo": block_timestamp(w3, receipt) + DAY,
            "previousChange": 0,
        }
    ]
    receipt2 = transact(
        w3, registry.functions.revokeAttribute(identity, ATTR_NAME, ATTR_VALUE), identity
    )
    assert events(registry, "DIDAttributeChanged", receipt2) == [
        {
            "identity": identity,
            "name": ATTR_NAME,
            "value": ATTR_VALUE,
            "validTo": 0,
            "previousChange": receipt["blockNumber"],
        }
    ]
    assert registry.functions.changed(identity).call() == receipt2["blockNumber"]
    with reverts("bad_actor"):
        registry.functions.setAttribute(identity, ATTR_NAME, ATTR_VALUE, DAY).transact(
            {"from": accounts[7]}
        )
    with reverts("bad_actor"):
        registry.functions.revokeAttribute(identity, ATTR_NAME, ATTR_VALUE).transact(
            {"from": accounts[7]}
        )


def test_set_and_revoke_attribute_signed(w3: Web3, registry: Contract, relayer: str) -> None:
    identity = new_identity()
    value = b"https://hub.example/did-service"
    digest = meta_digest(
        registry, 0, identity.address, "setAttribute", ATTR_NAME, value, _uint(DAY)
    )
    v, r, s = sign(digest, identity)
    receipt = transact(
        w3,
        registry.functions.setAttributeSigned(identity.address, v, r, s, ATTR_NAME, value, DAY),
        relayer,
    )
    (evt,) = events(registry, "DIDAttributeChanged", receipt)
    assert evt["value"] == value
    assert evt["validTo"] == block_timestamp(w3, receipt) + DAY

    digest = meta_digest(registry, 1, identity.address, "revokeAttribute", ATTR_NAME, value)
    v, r, s = sign(digest, identity)
    receipt2 = transact(
        w3,
        registry.functions.revokeAttributeSigned(identity.address, v, r, s, ATTR_NAME, value),
        relayer,
    )
    (evt2,) = events(registry, "DIDAttributeChanged", receipt2)
    assert (evt2["validTo"], evt2["previousChange"]) == (0, receipt["blockNumber"])
    assert registry.functions.nonce(identity.address).call() == 2

    # The revocation signature cannot be replayed either.
    with reverts("bad_signature"):
        registry.functions.revokeAttributeSigned(
            identity.address, v, r, s, ATTR_NAME, value
        ).transact({"from": relayer})


# ------------------------------------------------------------ change log


def test_changed_links_every_change_of_an_identity(
    w3: Web3, registry: Contract, accounts: list[str]
) -> None:
    """Walking ``changed`` / ``previousChange`` backwards finds every event, as resolvers do."""
    identity, other = accounts[8], accounts[1]
    sent = [
        registry.functions.setAttribute(identity, ATTR_NAME, b"a", DAY),
        registry.functions.addDelegate(identity, VERI_KEY, other, DAY),
        registry.functions.setAttribute(other, ATTR_NAME, b"not mine", DAY),  # other identity
        registry.functions.revokeDelegate(identity, VERI_KEY, other),
        registry.functions.changeOwner(identity, identity),
    ]
    blocks = []
    for fn in sent:
        sender = other if fn.args[0] == other else identity
        blocks.append(transact(w3, fn, sender)["blockNumber"])
    own_blocks = [b for fn, b in zip(sent, blocks, strict=True) if fn.args[0] == identity]

    walked = []
    block = registry.functions.changed(identity).call()
    while block:
        walked.append(block)
        logs = []
        for event in ("DIDOwnerChanged", "DIDDelegateChanged", "DIDAttributeChanged"):
            logs += registry.events[event]().get_logs(
                from_block=block, to_block=block, argument_filters={"identity": identity}
            )
        assert len(logs) == 1
        block = logs[0]["args"]["previousChange"]
    assert walked == list(reversed(own_blocks))


def test_changes_in_one_block_share_previous_change(
    w3: Web3, registry: Contract, accounts: list[str]
) -> None:
    """Two changes mined in one block (two relayers, consecutive owner nonces)."""
    identity = new_identity()
    digests = [
        meta_digest(registry, n, identity.address, "setAttribute", ATTR_NAME, value, _uint(DAY))
        for n, value in enumerate((b"1", b"2", b"3"))
    ]
    sigs = [sign(d, identity) for d in digests]
    first = transact(
        w3,
        registry.functions.setAttributeSigned(identity.address, *sigs[0], ATTR_NAME, b"1", DAY),
        accounts[1],
    )
    tester = w3.provider.ethereum_tester  # type: ignore[attr-defined]
    tester.disable_auto_mine_transactions()
    try:
        hashes = [
            registry.functions.setAttributeSigned(
                identity.address, *sigs[n], ATTR_NAME, value, DAY
            ).transact({"from": sender, "gas": 200_000})
            for n, value, sender in ((1, b"2", accounts[1]), (2, b"3", accounts[2]))
        ]
        tester.mine_blocks(1)
    finally:
        tester.enable_auto_mine_transactions()
    receipts = [w3.eth.wait_for_transaction_receipt(h, timeout=5) for h in hashes]
    assert [r["status"] for r in receipts] == [1, 1]
    assert receipts[0]["blockNumber"] == receipts[1]["blockNumber"]
    prev = [events(registry, "DIDAttributeChanged", r)[0]["previousChange"] for r in receipts]
    # The second change in a block points at that same block, as in the reference.
    assert prev == [first["blockNumber"], receipts[0]["blockNumber"]]
