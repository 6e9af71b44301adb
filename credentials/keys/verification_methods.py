"""From a verification method id to the public key it names, checked for a proof purpose.

W3C Controlled Identifiers v1.0 §3.3 "Retrieve Verification Method"
(https://www.w3.org/TR/cid-1.0/#retrieve-verification-method): resolve the
controller document, check its ``id``, find the method by its absolute id, check
the method's ``controller`` is the document, and that the method is listed (by
reference or embedded) under the verification relationship named by the proof
purpose (§2.3, Data Integrity §2.2 "Proof Purposes"). DID Core §5.3 for relative
ids (``#key-1``), DID Resolution for ``versionTime`` and ``deactivated``.

The retrieval and the key formats below are the DID layer's
(:mod:`did_registry.verification_methods`); here its refusals become the
credentials' :class:`~credentials.errors.KeyResolutionError`.

The key formats read are listed there.
"""

from __future__ import annotations

from credentials.errors import KeyResolutionError
from did_registry.resolution import DidResolver
from did_registry.verification_methods import PROOF_PURPOSES as PROOF_PURPOSES
from did_registry.verification_methods import InvalidVerificationMethod, retrieve_verification_key
from did_registry.verification_methods import VerificationKey as VerificationKey


def resolve_verification_key(
    resolver: DidResolver, method_id: str, purpose: str, *, at: int | None = None
) -> VerificationKey:
    """The key of ``method_id`` if its DID document (as of unix time ``at``) authorises
    it for ``purpose``; :class:`KeyResolutionError` saying why not otherwise.

    ``at`` becomes ``versionTime``: did:ethr resolves the document as of the newest
    block at or before it, so a key rotated out later still verifies what it
    signed; did:key has a single version and ignores it.
    """
    try:
        return retrieve_verification_key(resolver, method_id, purpose, at=at)
    except InvalidVerificationMethod as exc:
        raise KeyResolutionError(exc.message) from None
