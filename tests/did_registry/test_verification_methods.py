"""retrieve_verification_key at the DID layer: its own refusal, which credentials rename.

The rules and key formats are tested through credentials'
``resolve_verification_key`` (tests/credentials/test_verification_methods.py) and
through consortium applications; this checks the layer boundary itself.
"""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from credentials.errors import KeyResolutionError
from credentials.keys.verification_methods import resolve_verification_key
from did_registry.did_key import DidKeyResolver, multibase_key
from did_registry.dispatch import DispatchingResolver
from did_registry.errors import DidError
from did_registry.resolution import ResolutionOptions, ResolutionResult
from did_registry.verification_methods import (
    InvalidVerificationMethod,
    VerificationKey,
    retrieve_verification_key,
)
from hub_kernel.multiformats import X25519

VECTOR_DID = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
VECTOR_METHOD = f"{VECTOR_DID}#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
DID = "did:example:alice"


class OneDocument:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def resolve(self, did: str, options: ResolutionOptions | None = None) -> ResolutionResult:
        return ResolutionResult(did_document=dict(self.document))


def resolver(document: dict[str, Any] | None = None) -> DispatchingResolver:
    methods: dict[str, Any] = {"key": DidKeyResolver()}
    if document is not None:
        methods["example"] = OneDocument(document)
    return DispatchingResolver(methods)


def test_a_did_key_method_gives_its_key() -> None:
    key = retrieve_verification_key(resolver(), VECTOR_METHOD, "assertionMethod")
    assert isinstance(key, VerificationKey)
    assert (key.id, key.controller, key.type) == (VECTOR_METHOD, VECTOR_DID, "Multikey")
    assert key.ed25519 is not None and key.secp256k1 is None and key.address is None


@pytest.mark.parametrize(
    ("method_id", "purpose", "message"),
    [
        ("https://vc.example/issuers/5678#key-1", "assertionMethod", "is not a DID URL"),
        (VECTOR_METHOD, "keyAgreement", "is not a verification relationship"),
        ("did:web:example.com#key-1", "assertionMethod", r"did not resolve \(methodNotSupported\)"),
    ],
)
def test_refusals_are_did_errors_that_credentials_rename(
    method_id: str, purpose: str, message: str
) -> None:
    with pytest.raises(InvalidVerificationMethod, match=message) as refused:
        retrieve_verification_key(resolver(), method_id, purpose)
    assert isinstance(refused.value, DidError)
    assert (refused.value.code, refused.value.status_code) == ("invalidVerificationMethod", 422)
    with pytest.raises(KeyResolutionError) as renamed:
        resolve_verification_key(resolver(), method_id, purpose)
    assert renamed.value.message == refused.value.message
    assert renamed.value.code == "INVALID_VERIFICATION_METHOD"


def test_an_unsupported_multicodec_is_named_with_the_method() -> None:
    raw = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    method = {
        "id": f"{DID}#k1",
        "type": "Multikey",
        "controller": DID,
        "publicKeyMultibase": multibase_key(X25519, raw),
    }
    document = {"id": DID, "verificationMethod": [method], "assertionMethod": [method["id"]]}
    with pytest.raises(InvalidVerificationMethod) as refused:
        retrieve_verification_key(resolver(document), f"{DID}#k1", "assertionMethod")
    assert refused.value.message == f"{DID}#k1: multicodec 0xec is not an Ed25519 or secp256k1 key"
