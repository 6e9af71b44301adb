"""The holder's DIDs: created in the wallet, changed on chain through the hub's relay.

did:ethr changes are ERC-1056 meta-transactions (https://eips.ethereum.org/EIPS/eip-1056,
the ``...Signed`` functions): the hub says what to sign, the wallet recomputes that
digest itself (:func:`did_registry.registrar.signatures.meta_digest`, over a registry
whose code it checked on chain) and signs only if the two agree, with the DID's
secp256k1 controller key (eth-account). The hub receives the signature, never a key,
and pays the gas. Keys published are Ed25519 attributes, ``did/pub/Ed25519/veriKey``
(``assertionMethod``) or ``.../sigAuth`` (``authentication`` too), in base58 (did:ethr
method specification, "Non-Ethereum Attributes"). After each change the document is
read back from the chain, not from the hub.

A did:ethr needs no transaction to exist (its address is its controller); a did:key is
its Ed25519 key (https://w3c-ccg.github.io/did-method-key/).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Literal

from eth_account import Account
from eth_utils.address import to_checksum_address

from did_registry.did_key import did_key, multibase_key
from did_registry.ethr.attributes import SVC_PREFIX, public_key_name, service_attribute
from did_registry.ethr.did import ethr_did_for, parse_ethr_did
from did_registry.ethr.values import base58
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
from did_registry.registrar.signatures import meta_digest
from hub_kernel.multiformats import ED25519
from wallet.chain_view import ChainView
from wallet.errors import UnknownKey, WalletError
from wallet.hub_client import HubClient
from wallet.keys import KeyKind, WalletKey
from wallet.wallet import DidRecord, Wallet

Purpose = Literal["assertion", "authentication"]
_ATTRIBUTE_PURPOSE = {"assertion": "veriKey", "authentication": "sigAuth"}
MINING_TIMEOUT = 60.0
DISCOVERY_RANGE = 20  # Ed25519 indices a restored wallet looks for in its DID document


class HubLied(WalletError):
    """The hub asked for a signature over something other than the operation asked for."""

    code = "hub_lied"
    status_code = 502


class NotController(WalletError):
    code = "not_controller"
    status_code = 409


class NotMined(WalletError):
    code = "not_mined"
    status_code = 504


class NotEthr(WalletError):
    code = "not_ethr"
    status_code = 400


def operation_json(op: Operation) -> dict[str, Any]:
    """``op`` as the registrar's HTTP body names it (did_registry.registrar.router)."""
    if isinstance(op, ChangeOwner):
        return {"type": "changeOwner", "newOwner": op.new_owner}
    if isinstance(op, Deactivate):
        return {"type": "deactivate"}
    if isinstance(op, AddDelegate | RevokeDelegate):
        kind = "addDelegate" if isinstance(op, AddDelegate) else "revokeDelegate"
        body: dict[str, Any] = {"type": kind, "delegateType": op.delegate_type}
        body["delegate"] = op.delegate
        if isinstance(op, AddDelegate):
            body["validity"] = op.validity
        return body
    if isinstance(op, SetAttribute):
        value = "0x" + op.value.hex()
        return {"type": "setAttribute", "name": op.name, "value": value, "validity": op.validity}
    return {"type": "revokeAttribute", "name": op.name, "value": "0x" + op.value.hex()}


def ed25519_attribute(purpose: str) -> str:
    return public_key_name("Ed25519", _ATTRIBUTE_PURPOSE.get(purpose, purpose), "base58")


def method_of(document: dict[str, Any], key: WalletKey) -> str | None:
    """The id of the verification method ``document`` gives ``key`` (base58 as published)."""
    encoded = base58(key.public_bytes())
    for method in document.get("verificationMethod", []):
        if isinstance(method, dict) and method.get("publicKeyBase58") == encoded:
            return str(method.get("id"))
    return None


def fresh_key(wallet: Wallet, kind: KeyKind) -> WalletKey:
    """A key of ``kind`` that no DID of the wallet uses or used: the next after the last used.

    A new wallet holds ``secp256k1-0`` and ``ed25519-0`` already: the first DIDs take them,
    which is what a restore from the recovery phrase looks for. A key once rotated out
    sits below a used one and is never handed out again.
    """
    used = {name for record in wallet.dids() for name in _names(record)}
    keys = wallet.keys()
    held = [key for key in keys if key.kind == kind]
    last = max((key.index for key in held if key.name in used), default=-1)
    unused = sorted((key for key in held if key.index > last), key=lambda key: key.index)
    return unused[0] if unused else wallet.derive_key(kind)


def _names(record: DidRecord) -> set[str]:
    return {record.controller_key, *record.signing_keys, *record.verification_methods}


def create_ethr(wallet: Wallet, chain_id: int) -> DidRecord:
    """A did:ethr of a secp256k1 key: it exists (owning itself) with no transaction."""
    key = fresh_key(wallet, "secp256k1")
    did = ethr_did_for(key.address, chain_id)
    record = DidRecord(did, "ethr", key.name, (), {key.name: f"{did}#controller"})
    wallet.add_did(record)
    return record


def create_key(wallet: Wallet) -> DidRecord:
    """A did:key of an Ed25519 key, which is its one signing key."""
    key = fresh_key(wallet, "ed25519")
    multibase = multibase_key(ED25519, key.public_bytes())
    did = did_key(ED25519, key.public_bytes())
    record = DidRecord(did, "key", key.name, (key.name,), {key.name: f"{did}#{multibase}"})
    wallet.add_did(record)
    return record


class DidOperations:
    """Changes of the wallet's did:ethr DIDs, relayed by ``hub``, read back from ``chain``."""

    def __init__(
        self,
        wallet: Wallet,
        hub: HubClient,
        chain: ChainView,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._wallet = wallet
        self._hub = hub
        self._chain = chain
        self._sleep = sleep

    def add_key(self, did: str | None, purpose: Purpose) -> tuple[DidRecord, dict[str, Any]]:
        """A new Ed25519 key of the wallet, published for ``purpose``; the record and document."""
        record = self._ethr(did)
        key = fresh_key(self._wallet, "ed25519")
        op = SetAttribute(ed25519_attribute(purpose), key.public_bytes(), MAX_VALIDITY)
        document = self.relay(record, op)
        return self._recorded(record, document, added=key), document

    def add_service(
        self, did: str | None, service_type: str, endpoint: str
    ) -> tuple[DidRecord, dict[str, Any]]:
        record = self._ethr(did)
        _, value = service_attribute(service_type, endpoint)  # checks the type and the URI
        op = SetAttribute(SVC_PREFIX + service_type, value, MAX_VALIDITY)
        return record, self.relay(record, op)

    def rotate_key(self, did: str | None, name: str) -> tuple[DidRecord, dict[str, Any]]:
        """Publish a new Ed25519 key for ``name``'s purpose, then revoke ``name``."""
        record = self._ethr(did)
        if name not in record.signing_keys:
            raise UnknownKey(f"{name} is not a signing key of {record.did}")
        old = self._wallet.key(name)
        current = self._chain.document(record.did)
        method = record.verification_methods.get(name) or method_of(current, old)
        purpose = "authentication" if method in current.get("authentication", []) else "assertion"
        new = fresh_key(self._wallet, "ed25519")
        attribute = ed25519_attribute(purpose)
        self.relay(record, SetAttribute(attribute, new.public_bytes(), MAX_VALIDITY))
        document = self.relay(record, RevokeAttribute(attribute, old.public_bytes()))
        return self._recorded(record, document, added=new, removed=name), document

    def change_owner(
        self, did: str | None, *, to_key: str | None = None, to_address: str | None = None
    ) -> tuple[DidRecord, dict[str, Any]]:
        """Hand the DID to another key: one of the wallet's (``to_key``) or any address."""
        record = self._ethr(did)
        if to_key is not None:
            target = self._wallet.key(to_key)
            if target.kind != "secp256k1":
                raise UnknownKey(f"{to_key} is not a secp256k1 key: it cannot own a did:ethr")
            to_address = target.address
        if to_address is None:
            raise NotController("name the new owner: a wallet key or an address")
        document = self.relay(record, ChangeOwner(to_address))
        owner = to_checksum_address(to_address)
        held = self._wallet.keys()
        mine = [k.name for k in held if k.kind == "secp256k1" and k.address == owner]
        updated = replace(record, controller_key=mine[0]) if mine else record
        self._wallet.update_did(updated)
        return updated, document

    def deactivate(self, did: str | None) -> tuple[DidRecord, dict[str, Any]]:
        """did:ethr "Delete": the owner becomes 0x0, for good."""
        record = self._ethr(did)
        return record, self.relay(record, Deactivate())

    def relay(self, record: DidRecord, op: Operation) -> dict[str, Any]:
        """Have the hub relay ``op`` signed by the controller; the DID document after it."""
        controller = self._wallet.key(record.controller_key)
        identity = parse_ethr_did(record.did, networks={self._chain.chain_id: self._chain.chain_id})
        body = operation_json(op)
        asked = self._hub.operation_digest(record.did, body)
        nonce = self._check_digest(asked, controller, identity.address, op)
        digest = meta_digest(str(asked["registry"]), nonce, identity.address, op)
        signed = Account.unsafe_sign_hash(digest, controller.secret_bytes())
        signature = "0x" + bytes(signed.signature).hex()
        answer = self._hub.submit_operation(record.did, body, signature, nonce)
        if answer.get("state") != "mined":
            self._wait_mined(str(answer.get("transactionHash", "")))
        return self._chain.document(record.did)

    def _check_digest(
        self, asked: dict[str, Any], controller: WalletKey, identity: str, op: Operation
    ) -> int:
        """The nonce to sign with, once the hub's digest is exactly the one recomputed here."""
        registry, nonce, digest = asked.get("registry"), asked.get("nonce"), asked.get("digest")
        if not isinstance(registry, str) or not isinstance(nonce, int) or isinstance(nonce, bool):
            raise HubLied("the hub's digest answer has no registry address or nonce")
        if asked.get("chainId") != self._chain.chain_id:
            chain_id = asked.get("chainId")
            raise HubLied(f"the hub signs for chain {chain_id}, not {self._chain.chain_id}")
        owner = asked.get("owner")
        if not isinstance(owner, str) or owner.lower() != controller.address.lower():
            raise NotController(f"{identity} is owned by {owner}, not by {controller.name}")
        if not self._chain.is_did_registry(registry):
            raise HubLied(f"{registry} is not an ERC-1056 registry on chain {self._chain.chain_id}")
        expected = "0x" + meta_digest(registry, nonce, identity, op).hex()
        if not isinstance(digest, str) or not hmac.compare_digest(digest.lower(), expected):
            raise HubLied("the hub's digest is not the ERC-1056 digest of this operation")
        return nonce

    def _wait_mined(self, tx_hash: str) -> None:
        deadline = time.monotonic() + MINING_TIMEOUT
        while self._chain.chain.get_receipt(tx_hash) is None:
            if time.monotonic() > deadline:
                raise NotMined(f"transaction {tx_hash} was not mined in {MINING_TIMEOUT:g} s")
            self._sleep(0.5)

    def _ethr(self, did: str | None) -> DidRecord:
        record = self._wallet.did(did)
        if record.method != "ethr":
            method = record.method
            raise NotEthr(f"{record.did} is a did:{method}: only a did:ethr changes on chain")
        return record

    def _recorded(
        self,
        record: DidRecord,
        document: dict[str, Any],
        *,
        added: WalletKey,
        removed: str | None = None,
    ) -> DidRecord:
        methods = {k: v for k, v in record.verification_methods.items() if k != removed}
        method = method_of(document, added)
        if method is not None:
            methods[added.name] = method
        signing = tuple(k for k in record.signing_keys if k != removed)
        if method is not None:
            signing += (added.name,)
        updated = replace(record, signing_keys=signing, verification_methods=methods)
        self._wallet.update_did(updated)
        return updated


def rediscover(wallet: Wallet, chain: ChainView) -> DidRecord:
    """After a restore: the did:ethr of ``secp256k1-0`` and its Ed25519 keys found on chain.

    Ed25519 indices 0..19 are derived and kept as signing keys when the resolved document
    lists them, so the restored wallet presents again.
    """
    controller = wallet.derive_key("secp256k1", 0)
    did = ethr_did_for(controller.address, chain.chain_id)
    document = chain.document(did)
    signing: list[str] = []
    methods = {controller.name: f"{did}#controller"}
    for index in range(DISCOVERY_RANGE):
        key = wallet.derive_key("ed25519", index)
        method = method_of(document, key)
        if method is not None:
            signing.append(key.name)
            methods[key.name] = method
    record = DidRecord(did, "ethr", controller.name, tuple(signing), methods)
    if any(existing.did == did for existing in wallet.dids()):
        wallet.update_did(record)
    else:
        wallet.add_did(record)
    return record
