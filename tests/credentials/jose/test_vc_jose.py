"""vc+jwt and vp+jwt with real keys and real DIDs: the notary's did:ethr on an embedded chain,
did:key issuers (Ed25519, secp256k1) and a did:ethr account signing ES256K with its own
Ethereum key (``#controller``, address recovery). Every bad input must come back as a
problem in the result, never as an exception.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from eth_account import Account
from jwcrypto.common import base64url_decode, base64url_encode

from credentials.errors import IssuanceError, MalformedCredential, UnsupportedAlgorithm
from credentials.jose import algorithms as jose_algorithms
from credentials.jose.algorithms import ALGORITHMS, SECP256K1_ORDER, SigningKey
from credentials.jose.jws_compact import MAX_TOKEN_LENGTH, serialize, signing_input
from credentials.jose.key_cache import KeyCache
from credentials.jose.vc_jose import (
    EnvelopeError,
    enveloped_credential,
    enveloped_presentation_token,
    enveloped_token,
    sign_credential_jwt,
    sign_presentation_jwt,
    verify_credential_jwt,
    verify_presentation_jwt,
)
from credentials.verification import VerificationResult
from did_registry.did_key import did_key
from did_registry.ethr.did import ethr_did_for
from did_registry.resolution import DidResolver, ResolutionOptions, ResolutionResult
from hub_kernel.multiformats import ED25519, SECP256K1
from tests.fixtures.notary_world import CHAIN_ID, NotaryWorld, open_notary_world

PARSING = "PARSING_ERROR"
TOO_LARGE = "DOCUMENT_TOO_LARGE"
UNSUPPORTED = "UNSUPPORTED_ALGORITHM"
CRYPTO = "CRYPTOGRAPHIC_SECURITY_ERROR"
KEY = "INVALID_VERIFICATION_METHOD"
VALIDITY = "VALIDITY_PERIOD_ERROR"


@dataclass(frozen=True)
class Signer:
    did: str
    kid: str
    key: SigningKey
    alg: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NotaryWorld]:
    opened = open_notary_world(tmp_path_factory.mktemp("jose") / "world")
    yield opened
    opened.chain.close()


def head_time(world: NotaryWorld) -> int:
    # Blocks sealed faster than one a second run ahead of the wall clock: a key is
    # usable from its block's time, so the notary signs as of the chain head.
    return world.chain.get_block("latest").timestamp


def notary(world: NotaryWorld) -> Signer:
    fragment, key = world.notary.current_signing_key()
    return Signer(world.notary.did, f"{world.notary.did}#{fragment}", key, "EdDSA")


def ed25519_did_key() -> Signer:
    key = Ed25519PrivateKey.generate()
    did = did_key(ED25519, key.public_key().public_bytes_raw())
    return Signer(did, f"{did}#{did.removeprefix('did:key:')}", key, "EdDSA")


def secp256k1_did_key() -> Signer:
    key = ec.generate_private_key(ec.SECP256K1())
    point = key.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    did = did_key(SECP256K1, point)
    return Signer(did, f"{did}#{did.removeprefix('did:key:')}", key, "ES256K")


def ethr_account() -> Signer:
    account = Account.create()
    key = ec.derive_private_key(int.from_bytes(account.key), ec.SECP256K1())
    did = ethr_did_for(account.address, CHAIN_ID)
    return Signer(did, f"{did}#controller", key, "ES256K")


def credential(issuer: str, **extra: Any) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:0b9a5f0e-1b55-4d43-9f3c-1b2d3c4e5f60",
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:alice", "name": "Alice"},
        **extra,
    }


def presentation(holder: str, *tokens: str) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": holder,
        "verifiableCredential": [enveloped_credential(token) for token in tokens],
    }


def issue(signer: Signer, world: NotaryWorld | None = None, **extra: Any) -> str:
    issued_at = head_time(world) if world is not None else None
    return sign_credential_jwt(
        credential(signer.did, **extra),
        key=signer.key,
        kid=signer.kid,
        alg=signer.alg,
        issued_at=issued_at,
    )


def forge(header: dict[str, Any], payload: dict[str, Any], signer: Signer) -> str:
    """A token signed properly over any header: what a careless or hostile signer sends."""
    chosen = ALGORITHMS[signer.alg]
    signed = signing_input(header, payload)
    return serialize(signed, jose_algorithms.sign(chosen, signer.key, signed))


def header(signer: Signer, **changes: Any) -> dict[str, Any]:
    base = {"alg": signer.alg, "kid": signer.kid, "typ": "vc+jwt", "cty": "vc"}
    base.update(changes)
    return {name: value for name, value in base.items() if value is not None}


def codes(result: VerificationResult) -> list[str]:
    return [problem.code for problem in result.errors]


def rejected(result: VerificationResult, code: str) -> None:
    assert not result.verified, result.to_json()
    assert result.document is None
    assert codes(result) == [code], result.to_json()


# -- issuers that verify ----------------------------------------------------------------------


def test_the_notarys_credential_verifies_against_its_did_ethr_document(world: NotaryWorld) -> None:
    signer = notary(world)
    token = issue(signer, world)
    header_json = json.loads(base64url_decode(token.split(".")[0]))
    assert header_json == {"alg": "EdDSA", "kid": signer.kid, "typ": "vc+jwt", "cty": "vc"}
    result = verify_credential_jwt(token, resolver=world.resolver)
    assert result.verified, result.to_json()
    assert result.checks == ["structure", "proof"]
    assert result.document == {**credential(signer.did), "iat": head_time(world)}
    assert result.details["issuer"] == signer.did
    assert result.details["verificationMethod"] == signer.kid
    assert (result.details["alg"], result.details["keyTimeSource"]) == ("EdDSA", "iat")


@pytest.mark.parametrize("make", [ed25519_did_key, secp256k1_did_key], ids=["ed25519", "secp256k1"])
def test_did_key_issuers_verify(world: NotaryWorld, make: Any) -> None:
    signer = make()
    result = verify_credential_jwt(issue(signer), resolver=world.resolver)
    assert result.verified, result.to_json()
    assert result.details["alg"] == signer.alg


def test_a_did_ethr_account_signs_es256k_with_its_ethereum_key(world: NotaryWorld) -> None:
    signer = ethr_account()
    result = verify_credential_jwt(issue(signer), resolver=world.resolver)
    assert result.verified, result.to_json()
    assert result.details["verificationMethod"] == signer.kid
    other = ethr_account()  # same DID in the kid and issuer, someone else's key
    impostor = Signer(signer.did, signer.kid, other.key, "ES256K")
    rejected(verify_credential_jwt(issue(impostor), resolver=world.resolver), CRYPTO)


def test_the_issuer_may_be_an_object_and_iss_may_repeat_it(world: NotaryWorld) -> None:
    signer = ed25519_did_key()
    document = {**credential(signer.did), "issuer": {"id": signer.did, "name": "Office"}}
    token = forge(header(signer), {**document, "iss": signer.did}, signer)
    assert verify_credential_jwt(token, resolver=world.resolver).verified
    typed = forge(header(signer, typ="application/VC+JWT"), document, signer)
    assert verify_credential_jwt(typed, resolver=world.resolver).verified  # RFC 7515 §4.1.9


def test_without_iat_the_key_is_resolved_as_of_verification(world: NotaryWorld) -> None:
    # validFrom dates the claims, not the signature: here it precedes the chain itself.
    for signer in (ed25519_did_key(), ethr_account()):
        document = credential(signer.did, validFrom="2001-01-01T00:00:00Z")
        result = verify_credential_jwt(
            forge(header(signer), document, signer), resolver=world.resolver
        )
        assert result.verified, result.to_json()
        assert (result.details["keyTime"], result.details["keyTimeSource"]) == (
            None,
            "verification",
        )


# -- algorithm confusion -----------------------------------------------------------------------


def test_alg_none_is_unsupported(world: NotaryWorld) -> None:
    signer = ed25519_did_key()
    signed = signing_input(header(signer, alg="none"), credential(signer.did))
    for signature in (b"", b"\x00" * 64):
        token = serialize(signed, signature) if signature else signed.decode() + "."
        rejected(verify_credential_jwt(token, resolver=world.resolver), UNSUPPORTED)


def test_hs256_with_the_public_key_as_secret_is_unsupported(world: NotaryWorld) -> None:
    signer = ed25519_did_key()
    assert isinstance(signer.key, Ed25519PrivateKey)
    public = signer.key.public_key().public_bytes_raw()
    for secret in (
        public,
        signer.did.encode(),
        json.dumps({"kty": "OKP", "x": base64url_encode(public)}).encode(),
    ):
        signed = signing_input(header(signer, alg="HS256"), credential(signer.did))
        token = serialize(signed, hmac.new(secret, signed, hashlib.sha256).digest())
        rejected(verify_credential_jwt(token, resolver=world.resolver), UNSUPPORTED)


def test_an_alg_must_fit_the_kids_key_type(world: NotaryWorld) -> None:
    ed, k1, account = ed25519_did_key(), secp256k1_did_key(), ethr_account()
    # ES256K header, signed by a secp256k1 key, on an Ed25519 kid (and the reverse)
    on_ed = forge(
        header(ed, alg="ES256K"), credential(ed.did), Signer(ed.did, ed.kid, k1.key, "ES256K")
    )
    rejected(verify_credential_jwt(on_ed, resolver=world.resolver), UNSUPPORTED)
    on_k1 = forge(
        header(k1, alg="EdDSA"), credential(k1.did), Signer(k1.did, k1.kid, ed.key, "EdDSA")
    )
    rejected(verify_credential_jwt(on_k1, resolver=world.resolver), UNSUPPORTED)
    on_address = forge(
        header(account, alg="EdDSA"),
        credential(account.did),
        Signer(account.did, account.kid, ed.key, "EdDSA"),
    )
    rejected(verify_credential_jwt(on_address, resolver=world.resolver), UNSUPPORTED)


def test_a_high_s_es256k_signature_is_refused(world: NotaryWorld) -> None:
    signer = secp256k1_did_key()
    head, payload, signature = issue(signer).split(".")
    raw = base64url_decode(signature)
    s = int.from_bytes(raw[32:], "big")
    mirrored = raw[:32] + (SECP256K1_ORDER - s).to_bytes(32, "big")
    token = f"{head}.{payload}.{base64url_encode(mirrored)}"
    rejected(verify_credential_jwt(token, resolver=world.resolver), CRYPTO)


# -- tampering ---------------------------------------------------------------------------------


def test_every_single_character_change_is_rejected(world: NotaryWorld) -> None:
    signer = ed25519_did_key()
    token = issue(signer)
    assert verify_credential_jwt(token, resolver=world.resolver).verified
    for index, char in enumerate(token):
        replacement = "B" if char == "A" else "A"
        changed = token[:index] + replacement + token[index + 1 :]
        result = verify_credential_jwt(changed, resolver=world.resolver)
        assert not result.verified, index
        assert codes(result)[0] in {PARSING, CRYPTO, UNSUPPORTED, KEY}, (index, result.to_json())
    boundaries = [0, token.index("."), token.rindex("."), len(token)]
    for index in boundaries:
        for inserted in ("=", " ", "+", "/", "\n", "é", ".", "\x00", "A"):
            result = verify_credential_jwt(
                token[:index] + inserted + token[index:], resolver=world.resolver
            )
            assert not result.verified, (index, inserted)


def test_decoded_header_payload_and_signature_changes_break_the_signature(
    world: NotaryWorld,
) -> None:
    signer = ed25519_did_key()
    token = issue(signer)
    head, payload, signature = token.split(".")
    head_json, payload_json = (json.loads(base64url_decode(part)) for part in (head, payload))

    def encode(value: dict[str, Any]) -> str:
        encoded: str = base64url_encode(json.dumps(value).encode())
        return encoded

    eve = {"id": "did:example:eve"}
    altered = [
        f"{encode({**head_json, 'x': 1})}.{payload}.{signature}",
        f"{head}.{encode({**payload_json, 'credentialSubject': eve})}.{signature}",
        f"{head}.{encode({**payload_json, 'iat': payload_json['iat'] - 3600})}.{signature}",
    ]
    raw = bytearray(base64url_decode(signature))
    for position in (0, 31, 32, 63):
        flipped = bytearray(raw)
        flipped[position] ^= 0x01
        altered.append(f"{head}.{payload}.{base64url_encode(bytes(flipped))}")
    for changed in altered:
        rejected(verify_credential_jwt(changed, resolver=world.resolver), CRYPTO)


# -- header and claim rules --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"typ": "JWT"}, PARSING),
        ({"typ": "vp+jwt"}, PARSING),
        ({"typ": "vc+ld+json+jwt"}, PARSING),
        ({"typ": None}, PARSING),
        ({"typ": ["vc+jwt"]}, PARSING),
        ({"cty": "JWT"}, PARSING),
        ({"cty": "vp"}, PARSING),
        ({"kid": None}, PARSING),
        ({"kid": 7}, PARSING),
        ({"kid": "#key-1"}, KEY),
        ({"kid": "https://issuer.example/keys/1"}, KEY),
        ({"crit": ["exp"]}, PARSING),
        ({"b64": False, "crit": ["b64"]}, PARSING),
        ({"b64": True}, PARSING),
        ({"alg": "Ed25519"}, UNSUPPORTED),
        ({"iss": "did:example:someone-else"}, PARSING),
    ],
    ids=lambda value: json.dumps(value, sort_keys=True) if isinstance(value, dict) else value,
)
def test_header_rules(world: NotaryWorld, changes: dict[str, Any], code: str) -> None:
    signer = ed25519_did_key()
    token = forge(header(signer, **changes), credential(signer.did), signer)
    rejected(verify_credential_jwt(token, resolver=world.resolver), code)


def test_the_kid_must_be_the_issuers(world: NotaryWorld) -> None:
    signer, other = ed25519_did_key(), ed25519_did_key()
    # kid of another DID, signed by that DID's key: a valid signature, the wrong signer
    token = forge(header(other), credential(signer.did), other)
    rejected(verify_credential_jwt(token, resolver=world.resolver), KEY)
    with pytest.raises(IssuanceError):
        sign_credential_jwt(credential(signer.did), key=other.key, kid=other.kid, alg="EdDSA")


def test_the_kid_must_be_an_assertion_method(world: NotaryWorld) -> None:
    signer = notary(world)
    document = world.resolver.resolve(signer.did).did_document
    assert document is not None
    agreement_id = next(
        m["id"] for m in document["verificationMethod"] if m["type"].startswith("X25519")
    )
    token = forge(header(signer, kid=agreement_id), credential(signer.did), signer)
    rejected(verify_credential_jwt(token, resolver=world.resolver), KEY)
    unknown = forge(header(signer, kid=f"{signer.did}#delegate-99"), credential(signer.did), signer)
    rejected(verify_credential_jwt(unknown, resolver=world.resolver), KEY)
    web = Signer("did:web:issuer.example", "did:web:issuer.example#k", signer.key, "EdDSA")
    rejected(verify_credential_jwt(issue(web), resolver=world.resolver), KEY)


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        ({"iss": "did:example:someone-else"}, PARSING),
        ({"iss": 42}, PARSING),
        ({"vc": {"type": ["VerifiableCredential"]}}, PARSING),
        ({"vp": {}}, PARSING),
        ({"exp": 1_000_000_000}, VALIDITY),
        ({"nbf": 32_503_680_000}, VALIDITY),
        ({"iat": 32_503_680_000}, VALIDITY),
        ({"exp": "tomorrow"}, PARSING),
        ({"iat": True}, PARSING),
        ({"type": ["VerifiablePresentation"]}, PARSING),
        ({"type": ["VerifiableCredential", "VerifiablePresentation"]}, PARSING),
        ({"issuer": None}, PARSING),
        ({"validFrom": "yesterday"}, PARSING),
    ],
    ids=lambda value: json.dumps(value, sort_keys=True) if isinstance(value, dict) else value,
)
def test_payload_rules(world: NotaryWorld, claims: dict[str, Any], code: str) -> None:
    signer = ed25519_did_key()
    payload = {**credential(signer.did), **claims}
    token = forge(header(signer), {k: v for k, v in payload.items() if v is not None}, signer)
    rejected(verify_credential_jwt(token, resolver=world.resolver), code)


def test_exp_and_nbf_are_judged_at_the_verification_time(world: NotaryWorld) -> None:
    signer = ed25519_did_key()
    token = forge(
        header(signer),
        {**credential(signer.did), "nbf": 1_800_000_000, "exp": 1_900_000_000},
        signer,
    )
    assert verify_credential_jwt(token, resolver=world.resolver, at=1_850_000_000).verified
    rejected(verify_credential_jwt(token, resolver=world.resolver, at=1_900_000_060), VALIDITY)
    rejected(verify_credential_jwt(token, resolver=world.resolver, at=1_799_999_000), VALIDITY)


# -- malformed tokens --------------------------------------------------------------------------


DEEP_OBJECTS = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
DEEP_ARRAYS = b"[" * 10_000 + b"]" * 10_000


def test_malformed_tokens_are_problems_not_exceptions(world: NotaryWorld) -> None:
    signer = ed25519_did_key()
    head, payload, signature = issue(signer).split(".")
    samples: list[object] = [
        None,
        42,
        b"a.b.c",
        {"token": 1},
        "",
        "....",
        "a.b",
        f"{head}.{payload}",
        f"{head}.{payload}.{signature}.{signature}",
        f"{head}.!!!.{signature}",
        f"{head}.{payload}=.{signature}",
        f"{base64url_encode(b'[1,2]')}.{payload}.{signature}",
        f"{head}.{base64url_encode(b'not json')}.{signature}",
        f"{head}.{base64url_encode(DEEP_OBJECTS)}.{signature}",
        f"{head}.{base64url_encode(DEEP_ARRAYS)}.{signature}",
    ]
    for sample in samples:
        result = verify_credential_jwt(sample, resolver=world.resolver)
        rejected(result, PARSING)
    oversize = f"{head}.{'A' * MAX_TOKEN_LENGTH}.{signature}"
    rejected(verify_credential_jwt(oversize, resolver=world.resolver), TOO_LARGE)


def test_a_presentation_jwt_is_not_a_credential_jwt(world: NotaryWorld) -> None:
    holder = ethr_account()
    vp = sign_presentation_jwt(
        presentation(holder.did), key=holder.key, kid=holder.kid, alg="ES256K"
    )
    rejected(verify_credential_jwt(vp, resolver=world.resolver), PARSING)
    relabelled = forge(header(holder), presentation(holder.did), holder)  # typ vc+jwt, a VP inside
    rejected(verify_credential_jwt(relabelled, resolver=world.resolver), PARSING)
    issuer = ed25519_did_key()
    rejected(verify_presentation_jwt(issue(issuer), resolver=world.resolver), PARSING)


# -- signing refuses what would not verify -----------------------------------------------------


def test_signing_refuses_mismatched_keys_and_bad_documents() -> None:
    signer = ed25519_did_key()
    with pytest.raises(UnsupportedAlgorithm):
        sign_credential_jwt(credential(signer.did), key=signer.key, kid=signer.kid, alg="ES256K")
    with pytest.raises(UnsupportedAlgorithm):
        sign_credential_jwt(credential(signer.did), key=signer.key, kid=signer.kid, alg="HS256")
    with pytest.raises(MalformedCredential):
        sign_credential_jwt(
            credential(signer.did, vc={}), key=signer.key, kid=signer.kid, alg="EdDSA"
        )
    with pytest.raises(MalformedCredential):
        sign_credential_jwt({"issuer": signer.did}, key=signer.key, kid=signer.kid, alg="EdDSA")
    with pytest.raises(IssuanceError):
        sign_credential_jwt(credential(signer.did), key=signer.key, kid=signer.did, alg="EdDSA")
    with pytest.raises(IssuanceError):  # no holder: nobody to bind the key to
        document = presentation(signer.did)
        del document["holder"]
        sign_presentation_jwt(document, key=signer.key, kid=signer.kid, alg="EdDSA")
    with pytest.raises(MalformedCredential):  # an embedded, unsecured credential
        document = presentation(signer.did)
        document["verifiableCredential"] = [credential(signer.did)]
        sign_presentation_jwt(document, key=signer.key, kid=signer.kid, alg="EdDSA")


# -- presentations -----------------------------------------------------------------------------


def test_a_holder_presents_enveloped_credentials_with_challenge_and_domain(
    world: NotaryWorld,
) -> None:
    holder = ethr_account()
    from_notary = issue(notary(world), world)
    from_did_key = issue(secp256k1_did_key())
    vp = sign_presentation_jwt(
        presentation(holder.did, from_notary, from_did_key),
        key=holder.key,
        kid=holder.kid,
        alg="ES256K",
        challenge="c-81f2",
        domain="https://verifier.example",
    )
    result = verify_presentation_jwt(
        vp, resolver=world.resolver, challenge="c-81f2", domain="https://verifier.example"
    )
    assert result.verified, result.to_json()
    assert result.checks == [
        "structure",
        "proof",
        "verifiableCredential[0].structure",
        "verifiableCredential[0].proof",
        "verifiableCredential[1].structure",
        "verifiableCredential[1].proof",
    ]
    assert result.document is not None and result.document["nonce"] == "c-81f2"
    assert result.details["holder"] == holder.did
    assert [c["issuer"] for c in result.details["credentials"]] == [
        world.notary.did,
        json.loads(base64url_decode(from_did_key.split(".")[1]))["issuer"],
    ]
    for challenge, domain, code in [
        ("c-0000", "https://verifier.example", "INVALID_CHALLENGE_ERROR"),
        ("c-81f2", "https://other.example", "INVALID_DOMAIN_ERROR"),
    ]:
        rejected(
            verify_presentation_jwt(
                vp, resolver=world.resolver, challenge=challenge, domain=domain
            ),
            code,
        )
    unbound = sign_presentation_jwt(
        presentation(holder.did), key=holder.key, kid=holder.kid, alg="ES256K"
    )
    rejected(
        verify_presentation_jwt(unbound, resolver=world.resolver, challenge="c-81f2"),
        "MISSING_CHALLENGE_ERROR",
    )
    assert verify_presentation_jwt(unbound, resolver=world.resolver).verified


def test_a_bad_credential_inside_fails_the_presentation(world: NotaryWorld) -> None:
    holder = ed25519_did_key()
    good = issue(ed25519_did_key())
    head, payload, signature = good.split(".")
    flipped = bytearray(base64url_decode(signature))
    flipped[0] ^= 1
    broken = f"{head}.{payload}.{base64url_encode(bytes(flipped))}"
    vp = sign_presentation_jwt(
        presentation(holder.did, good, broken), key=holder.key, kid=holder.kid, alg="EdDSA"
    )
    result = verify_presentation_jwt(vp, resolver=world.resolver)
    assert not result.verified and result.document is None
    assert [(p.check, p.code) for p in result.errors] == [("verifiableCredential[1].proof", CRYPTO)]
    assert result.details["credentials"][0] is not None and result.details["credentials"][1] is None


def test_the_presentation_must_be_signed_by_its_holder(world: NotaryWorld) -> None:
    holder, other = ethr_account(), ethr_account()
    token = forge(header(other, typ="vp+jwt", cty="vp"), presentation(holder.did), other)
    rejected(verify_presentation_jwt(token, resolver=world.resolver), KEY)
    anonymous = presentation(holder.did)
    del anonymous["holder"]
    token = forge(header(holder, typ="vp+jwt", cty="vp"), anonymous, holder)
    rejected(verify_presentation_jwt(token, resolver=world.resolver), PARSING)
    embedded = {**presentation(holder.did), "verifiableCredential": [credential(holder.did)]}
    token = forge(header(holder, typ="vp+jwt", cty="vp"), embedded, holder)
    rejected(verify_presentation_jwt(token, resolver=world.resolver), PARSING)
    not_jwt = {
        **presentation(holder.did),
        "verifiableCredential": [
            {**enveloped_credential("x"), "id": "data:application/vc+sd-jwt,x"}
        ],
    }
    token = forge(header(holder, typ="vp+jwt", cty="vp"), not_jwt, holder)
    rejected(verify_presentation_jwt(token, resolver=world.resolver), PARSING)


ENVELOPE = "ENVELOPE_EXTRA_PROPERTY_ERROR"


def test_an_envelope_carries_nothing_beside_its_token(world: NotaryWorld) -> None:
    """Issue 9 item 4: VC DM 2.0 §4.13.1 / §4.13.2, an enveloped credential or presentation
    is @context, id and type; claims beside the token are signed by no one."""
    holder, issuer = ed25519_did_key(), ed25519_did_key()
    token = issue(issuer)
    dressed = {
        **enveloped_credential(token),
        "issuer": "did:example:mallory",
        "credentialSubject": {"id": "did:example:mallory", "name": "Mallory"},
    }
    with pytest.raises(EnvelopeError, match="credentialSubject, issuer") as caught:
        enveloped_token(dressed)
    assert caught.value.code == ENVELOPE
    assert enveloped_token(enveloped_credential(token)) == token
    with pytest.raises(EnvelopeError):  # the signer refuses to sign what no verifier accepts
        sign_presentation_jwt(
            {**presentation(holder.did), "verifiableCredential": [dressed]},
            key=holder.key,
            kid=holder.kid,
            alg="EdDSA",
        )
    # A holder signing a vp+jwt over the dressed envelope: the holder's signature does not
    # make the issuer say what sits beside its token.
    payload = {**presentation(holder.did), "verifiableCredential": [dressed]}
    forged = forge(header(holder, typ="vp+jwt", cty="vp"), payload, holder)
    result = verify_presentation_jwt(forged, resolver=world.resolver)
    rejected(result, ENVELOPE)
    assert result.errors[0].check == "structure"
    assert "verifiableCredential[0]" in result.errors[0].message

    vp = sign_presentation_jwt(
        presentation(holder.did, token), key=holder.key, kid=holder.kid, alg="EdDSA"
    )
    envelope = {
        "@context": "https://www.w3.org/ns/credentials/v2",
        "id": "data:application/vp+jwt," + vp,
        "type": "EnvelopedVerifiablePresentation",
    }
    assert enveloped_presentation_token(envelope) == vp
    with pytest.raises(EnvelopeError, match="holder"):
        enveloped_presentation_token({**envelope, "holder": "did:example:mallory"})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"@context": None}, "must include"),
        ({"@context": ["https://www.w3.org/ns/credentials/examples/v2"]}, "must include"),
        ({"type": "VerifiableCredential"}, "must be an EnvelopedVerifiableCredential"),
        ({"id": "data:application/vp+jwt,a.b.c"}, r"data:application/vc\+jwt, URL"),
    ],
    ids=["no-context", "other-context", "type", "vp-in-vc"],
)
def test_envelope_members_are_the_specifications(change: dict[str, Any], message: str) -> None:
    entry = {**enveloped_credential("a.b.c"), **change}
    entry = {k: v for k, v in entry.items() if v is not None}
    with pytest.raises(MalformedCredential, match=message) as caught:
        enveloped_token(entry)
    assert caught.value.code == PARSING
    listed = {**enveloped_credential("a.b.c"), "@context": ["https://www.w3.org/ns/credentials/v2"]}
    assert enveloped_token(listed) == "a.b.c"


def test_the_notary_authenticates_with_its_controller_key_only(world: NotaryWorld) -> None:
    signer = notary(world)  # #delegate-N is an assertionMethod, not an authentication key
    vp = forge(header(signer, typ="vp+jwt", cty="vp"), presentation(signer.did), signer)
    rejected(verify_presentation_jwt(vp, resolver=world.resolver), KEY)


# -- rotation, outage and the key cache --------------------------------------------------------


def test_rotation_keeps_old_credentials_and_stops_the_old_key(
    notary_world: NotaryWorld, tmp_path: Path
) -> None:
    world = notary_world
    old = notary(world)
    before = issue(old, world)
    world.notary.rotate(revoke_old=True)
    after_rotation = head_time(world)
    assert verify_credential_jwt(before, resolver=world.resolver).verified
    late = sign_credential_jwt(
        credential(old.did), key=old.key, kid=old.kid, alg="EdDSA", issued_at=after_rotation
    )
    rejected(verify_credential_jwt(late, resolver=world.resolver), KEY)
    new = notary(world)
    assert new.kid != old.kid
    current = issue(new, world)
    cache = KeyCache(ttl_seconds=60)
    assert verify_credential_jwt(current, resolver=world.resolver, keys=cache).verified
    world.chain.close()  # the chain goes away: resolution fails, verification does not raise
    outage = verify_credential_jwt(current, resolver=world.resolver)
    rejected(outage, KEY)
    assert verify_credential_jwt(current, resolver=world.resolver, keys=cache).verified
    assert verify_credential_jwt(issue(ed25519_did_key()), resolver=world.resolver).verified


class CountingResolver:
    """The world's resolver, counting the resolutions the key cache lets through."""

    def __init__(self, inner: DidResolver) -> None:
        self.inner = inner
        self.calls = 0

    def resolve(self, did: str, options: ResolutionOptions | None = None) -> ResolutionResult:
        self.calls += 1
        return self.inner.resolve(did, options)


def test_the_key_cache_reuses_did_key_always_and_other_methods_within_its_ttl(
    world: NotaryWorld,
) -> None:
    resolver = CountingResolver(world.resolver)
    did_key_token = issue(ed25519_did_key())
    notary_token = issue(notary(world), world)
    for _ in range(3):
        assert verify_credential_jwt(did_key_token, resolver=resolver).verified
    assert resolver.calls == 1  # did:key: a pure function of the DID
    for _ in range(3):
        assert verify_credential_jwt(notary_token, resolver=resolver).verified
    assert resolver.calls == 4  # did:ethr: resolved every time by default

    now = [1000.0]
    cache = KeyCache(ttl_seconds=30, clock=lambda: now[0])
    resolver.calls = 0
    for _ in range(3):
        assert verify_credential_jwt(notary_token, resolver=resolver, keys=cache).verified
    assert resolver.calls == 1
    now[0] += 31
    assert verify_credential_jwt(notary_token, resolver=resolver, keys=cache).verified
    assert resolver.calls == 2
    unknown = forge(
        header(notary(world), kid=f"{world.notary.did}#delegate-99"),
        credential(world.notary.did),
        notary(world),
    )
    for _ in range(2):  # failures are never cached
        rejected(verify_credential_jwt(unknown, resolver=resolver, keys=cache), KEY)
    assert resolver.calls == 4
