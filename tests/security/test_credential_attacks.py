"""Attacks on the credential verifier (issue 9, items 4-7), each refused with its reason.

Every attack starts from a credential the hub's real issuer signed and changes it the
way an attacker would. Each is judged by the hub's :class:`~credentials.verifier.Verifier`
and by the VC API route (``POST /credentials/verify`` or ``/presentations/verify``),
and both must name the attack's reason code:

- item 4, VC Data Model 2.0 §4.13.1 / §4.13.2: an enveloped credential or presentation
  is ``@context``, ``id`` and ``type``; claims beside the token are signed by no one
  (``ENVELOPE_EXTRA_PROPERTY_ERROR``);
- item 5, §4.13: a presentation naming a holder proves it only by a proof
  (``UNSIGNED_HOLDER_ERROR``);
- item 6, Data Integrity 1.0 §2.1.1: a proof set holds each proof once
  (``DUPLICATE_PROOF_ERROR``);
- item 7, vc-di-eddsa §3.3.1 step 2 / §3.3.2 step 4: a document's ``@context`` is the one
  its proofs were signed under (``SIGNED_CONTEXT_MISMATCH_ERROR``).

:data:`ATTACKS` lists them as ``(name, build, expected code, ...)``: ``build`` takes
:class:`Materials` (how to have the notary issue a credential, and a holder) and returns
the attacked document, so other verifiers (``notary-hub verify``) can replay them.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from credentials.data_integrity.proofs import ProofOptions, SigningKey, add_proof
from credentials.jose.envelope import VP_JWT, sign_envelope
from credentials.jose.vc_jose import sign_presentation_jwt
from did_registry.did_key import did_key
from hub_kernel.multiformats import ED25519
from notary_hub.hub import Hub

V2 = "https://www.w3.org/ns/credentials/v2"
EXAMPLES = "https://www.w3.org/ns/credentials/examples/v2"
DI = "eddsa-rdfc-2022"
JWT = "vc+jwt"
Kind = Literal["credential", "presentation"]
# Every presentation here answers this verifier's challenge, as ``notary-hub verify`` requires.
CHALLENGE = "attack-suite-challenge"
DOMAIN = "https://verifier.example"

# What an outside caller may have the notary sign (VC API §3.2.1): v2 terms only, so that
# an appended bundled context changes none of its statements.
BASE_CREDENTIAL: dict[str, Any] = {
    "@context": [V2],
    "type": ["VerifiableCredential"],
    "name": "Membership",
    "credentialSubject": {"id": "<the holder>", "name": "Example Member"},
}


@dataclass(frozen=True)
class Holder:
    """A did:key holder (Ed25519) from a fixed seed: the same in every run and process."""

    key: Ed25519PrivateKey

    @classmethod
    def from_seed(cls, seed: bytes) -> Holder:
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def did(self) -> str:
        return did_key(ED25519, self.key.public_key().public_bytes_raw())

    @property
    def kid(self) -> str:
        return f"{self.did}#{self.did.removeprefix('did:key:')}"


HOLDER = Holder.from_seed(bytes(range(100, 132)))
# The member presents its own credential: a presentation's holder must be its subject.
BASE_CREDENTIAL["credentialSubject"]["id"] = HOLDER.did


@dataclass(frozen=True)
class Materials:
    """What an attack starts from. ``issue(mechanism)`` has the notary sign
    :data:`BASE_CREDENTIAL` (``eddsa-rdfc-2022`` or ``vc+jwt``) and returns the
    verifiable credential as the VC API does (for ``vc+jwt``, an enveloped one)."""

    issue: Callable[[str], dict[str, Any]]
    holder: Holder = HOLDER


def presentation(*credentials: Any, **members: Any) -> dict[str, Any]:
    return {
        "@context": [V2],
        "type": ["VerifiablePresentation"],
        **members,
        "verifiableCredential": list(credentials),
    }


def holder_proof(document: dict[str, Any], holder: Holder) -> dict[str, Any]:
    """``document`` with the holder's ``authentication`` proof (Data Integrity)."""
    return add_proof(
        {**document, "holder": holder.did},
        suite=DI,
        key=SigningKey(holder.kid, holder.key),
        options=ProofOptions(proof_purpose="authentication", challenge=CHALLENGE, domain=DOMAIN),
    )


def listed_context(enveloped: dict[str, Any]) -> dict[str, Any]:
    # JSON-LD presentations here list every @context (credentials.jsonld.strict).
    return {**enveloped, "@context": [V2]}


# -- the attacks ---------------------------------------------------------------------------


def enveloped_credential_with_claims_beside(materials: Materials) -> Any:
    """A genuine vc+jwt envelope, with an issuer and a subject of the attacker's beside it."""
    return {
        **materials.issue(JWT),
        "issuer": "did:example:mallory",
        "credentialSubject": {"id": "did:example:mallory", "name": "Mallory"},
    }


def vp_jwt_carrying_a_dressed_envelope(materials: Materials) -> Any:
    """The holder signs a vp+jwt whose enveloped credential has claims beside its token:
    the holder's signature does not make the issuer say them."""
    holder = materials.holder
    payload = presentation(
        enveloped_credential_with_claims_beside(materials),
        holder=holder.did,
        iat=int(time.time()),
        nonce=CHALLENGE,
        aud=DOMAIN,
    )
    return sign_envelope(holder.key, holder.kid, "EdDSA", VP_JWT, holder.did, "holder", payload)


def signed_presentation_carrying_a_dressed_envelope(materials: Materials) -> Any:
    """A Data Integrity presentation, holder-signed, whose envelope has a name beside it."""
    dressed = {**listed_context(materials.issue(JWT)), "name": "Official notary letter"}
    return holder_proof(presentation(dressed), materials.holder)


def enveloped_presentation_with_a_holder_beside(materials: Materials) -> Any:
    """A genuine vp+jwt envelope, with another holder claimed beside the token."""
    holder = materials.holder
    vp = sign_presentation_jwt(
        presentation(materials.issue(JWT), holder=holder.did),
        key=holder.key,
        kid=holder.kid,
        alg="EdDSA",
        challenge=CHALLENGE,
        domain=DOMAIN,
    )
    return {
        "@context": V2,
        "id": "data:application/vp+jwt," + vp,
        "type": "EnvelopedVerifiablePresentation",
        "holder": "did:example:mallory",
    }


def holder_claimed_but_unsigned(materials: Materials) -> Any:
    """A presentation naming a holder (here the honest holder's DID) with no proof at all."""
    return presentation(materials.issue(DI), holder=materials.holder.did)


def proof_set_repeating_the_issuers_proof(materials: Materials) -> Any:
    """The notary's one proof, twice: one signature counted as two signers."""
    secured = materials.issue(DI)
    return {**secured, "proof": [secured["proof"], copy.deepcopy(secured["proof"])]}


def context_appended_after_signing(materials: Materials) -> Any:
    """A bundled context appended to the signed credential's @context: it changes no
    signed statement, so the eddsa-rdfc-2022 signature alone still checks."""
    secured = materials.issue(DI)
    return {**secured, "@context": [*secured["@context"], EXAMPLES]}


def context_appended_inside_a_signed_presentation(materials: Materials) -> Any:
    """The same, to a credential the holder then presents and signs for."""
    return holder_proof(presentation(context_appended_after_signing(materials)), materials.holder)


@dataclass(frozen=True)
class Attack:
    name: str
    build: Callable[[Materials], Any]
    code: str  # the reason every verifier must give
    kind: Kind  # which VC API route judges it
    check: str  # where the verifier reports it


ENVELOPE = "ENVELOPE_EXTRA_PROPERTY_ERROR"
ATTACKS: list[Attack] = [
    Attack(
        "enveloped-credential-with-claims-beside",
        enveloped_credential_with_claims_beside,
        ENVELOPE,
        "credential",
        "structure",
    ),
    Attack(
        "vp-jwt-carrying-a-dressed-envelope",
        vp_jwt_carrying_a_dressed_envelope,
        ENVELOPE,
        "presentation",
        "structure",
    ),
    Attack(
        "signed-presentation-carrying-a-dressed-envelope",
        signed_presentation_carrying_a_dressed_envelope,
        ENVELOPE,
        "presentation",
        "verifiableCredential[0].structure",
    ),
    Attack(
        "enveloped-presentation-with-a-holder-beside",
        enveloped_presentation_with_a_holder_beside,
        ENVELOPE,
        "presentation",
        "structure",
    ),
    Attack(
        "holder-claimed-but-unsigned",
        holder_claimed_but_unsigned,
        "UNSIGNED_HOLDER_ERROR",
        "presentation",
        "proof",
    ),
    Attack(
        "proof-set-repeating-the-issuers-proof",
        proof_set_repeating_the_issuers_proof,
        "DUPLICATE_PROOF_ERROR",
        "credential",
        "proof",
    ),
    Attack(
        "context-appended-after-signing",
        context_appended_after_signing,
        "SIGNED_CONTEXT_MISMATCH_ERROR",
        "credential",
        "proof",
    ),
    Attack(
        "context-appended-inside-a-signed-presentation",
        context_appended_inside_a_signed_presentation,
        "SIGNED_CONTEXT_MISMATCH_ERROR",
        "presentation",
        "verifiableCredential[0].proof",
    ),
]


# -- judging them --------------------------------------------------------------------------


def materials_of(hub: Hub) -> Materials:
    assert hub.credentials is not None
    issuer = hub.credentials.issuer

    def issue(mechanism: str) -> dict[str, Any]:
        issued = issuer.issue(
            copy.deepcopy(BASE_CREDENTIAL),
            mechanism=mechanism,  # type: ignore[arg-type]
            status_purposes=(),
        )
        return issued.credential

    return Materials(issue)


def post(client: TestClient, kind: Kind, document: Any) -> tuple[int, dict[str, Any]]:
    if kind == "credential":
        response = client.post("/credentials/verify", json={"verifiableCredential": document})
    else:
        response = client.post("/presentations/verify", json={"verifiablePresentation": document})
    return response.status_code, response.json()


@pytest.fixture
def hub(hub_app: Hub, hub_client: TestClient) -> Hub:
    # The hub resolves the notary's DID from its index of the chain: have it read the
    # chain once now rather than race its background indexer.
    hub_app.indexer.catch_up()
    return hub_app


def test_the_materials_verify_untouched(hub: Hub, hub_client: TestClient) -> None:
    """The attacks start from documents every verifier accepts."""
    materials = materials_of(hub)
    assert hub.credentials is not None
    verifier = hub.credentials.verifier
    holder = materials.holder
    honest: list[tuple[Kind, Any]] = [
        ("credential", materials.issue(DI)),
        ("credential", materials.issue(JWT)),
        ("presentation", holder_proof(presentation(materials.issue(DI)), holder)),
        (
            "presentation",
            holder_proof(presentation(listed_context(materials.issue(JWT))), holder),
        ),
        (
            "presentation",
            sign_presentation_jwt(
                presentation(materials.issue(JWT), holder=holder.did),
                key=holder.key,
                kid=holder.kid,
                alg="EdDSA",
                challenge=CHALLENGE,
                domain=DOMAIN,
            ),
        ),
        ("presentation", presentation(materials.issue(DI))),  # no holder claimed
    ]
    for kind, document in honest:
        if kind == "credential":
            result = verifier.verify_credential(document)
        else:
            result = verifier.verify_presentation(document)
        assert result.verified, result.to_json()
        status, body = post(hub_client, kind, document)
        assert status == 200 and body["verified"] is True, body


@pytest.mark.parametrize("attack", ATTACKS, ids=[attack.name for attack in ATTACKS])
def test_the_attack_is_refused_with_its_reason(
    attack: Attack, hub: Hub, hub_client: TestClient
) -> None:
    document = attack.build(materials_of(hub))
    assert hub.credentials is not None
    verifier = hub.credentials.verifier
    if attack.kind == "credential":
        result = verifier.verify_credential(document)
    else:
        result = verifier.verify_presentation(document)
    assert not result.verified, attack.name
    assert (attack.check, attack.code) in [(p.check, p.code) for p in result.errors], (
        result.to_json()
    )
    assert result.document is None

    status, body = post(hub_client, attack.kind, document)
    assert status == 422, body
    assert body["verified"] is False
    assert attack.code in {problem["code"] for problem in body["errors"]}, body
    assert any(p["type"].endswith("#" + attack.code) for p in body["problemDetails"])
    if attack.code == "UNSIGNED_HOLDER_ERROR":  # never reported as a verified holder
        assert "holder" not in result.details and "holder" not in body.get("details", {})
