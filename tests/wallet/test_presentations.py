"""The wallet's presentation builder, judged by the hub's verifier (did:key, no chain needed).

Both formats (eddsa-rdfc-2022 and vp+jwt with EdDSA or ES256K) verify for their
challenge and domain and for no other; every bad request is refused with a reason.
"""

from __future__ import annotations

import json
import time
from base64 import urlsafe_b64decode
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from eth_account import Account

from credentials.verifier import Verifier
from did_registry.did_key import DidKeyResolver
from did_registry.dispatch import DispatchingResolver
from testkit.holder import Holder, credential_for, did_key_holder
from testkit.notary_world import CHAIN_ID, NotaryWorld
from wallet.presentation_errors import PresentationError
from wallet.presentations import DEFAULT_LIFETIME, build_presentation

CHALLENGE = "r4nd0m-ch4ll3nge"
DOMAIN = "https://court.example"
HOLDER = did_key_holder("holder")
SECP_HOLDER = did_key_holder("holder-secp", "secp256k1")
ISSUER = did_key_holder("issuer")


def verifier(skip: float = 0.0) -> Verifier:
    resolver = DispatchingResolver({"key": DidKeyResolver()})
    return Verifier(resolver, chain=None, clock=lambda: time.time() + skip)


def present(
    holder: Holder = HOLDER, credentials: list[Any] | None = None, **options: Any
) -> dict[str, Any] | str:
    listed = credentials if credentials is not None else [credential_for(holder.did, ISSUER)]
    return build_presentation(
        listed,
        holder=holder.did,
        verification_method=holder.method,
        private_key=holder.key,
        challenge=options.pop("challenge", CHALLENGE),
        domain=options.pop("domain", DOMAIN),
        **options,
    )


def codes(presentation: Any, challenge: str = CHALLENGE, domain: str = DOMAIN) -> list[str]:
    result = verifier().verify_presentation(presentation, challenge=challenge, domain=domain)
    return [problem.code for problem in result.errors]


def jwt_part(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    decoded: dict[str, Any] = json.loads(urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def test_a_data_integrity_presentation_verifies_for_its_challenge_and_domain_only() -> None:
    created = datetime.now(UTC).replace(microsecond=0)
    presentation = present(created=created)
    assert isinstance(presentation, dict)
    assert presentation["holder"] == HOLDER.did
    assert presentation["type"] == ["VerifiablePresentation"]
    proof = presentation["proof"]
    assert proof["cryptosuite"] == "eddsa-rdfc-2022"
    assert proof["proofPurpose"] == "authentication"
    assert (proof["challenge"], proof["domain"]) == (CHALLENGE, DOMAIN)
    assert proof["verificationMethod"] == HOLDER.method
    assert proof["created"] == created.strftime("%Y-%m-%dT%H:%M:%SZ")
    expires = (created + DEFAULT_LIFETIME).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert proof["expires"] == expires
    result = verifier().verify_presentation(presentation, challenge=CHALLENGE, domain=DOMAIN)
    assert result.verified, result.to_json()
    assert result.details["holder"] == HOLDER.did
    assert "verifiableCredential[0].holder" in result.checks
    assert codes(presentation, challenge="another") == ["INVALID_CHALLENGE_ERROR"]
    assert codes(presentation, domain="https://elsewhere.example") == ["INVALID_DOMAIN_ERROR"]


@pytest.mark.parametrize(("holder", "alg"), [(HOLDER, "EdDSA"), (SECP_HOLDER, "ES256K")])
def test_a_vp_jwt_verifies_for_its_challenge_and_domain_only(holder: Holder, alg: str) -> None:
    token = present(holder, [credential_for(holder.did, ISSUER, jwt=True)], fmt="jwt")
    assert isinstance(token, str)
    header, payload = jwt_part(token, 0), jwt_part(token, 1)
    assert (header["alg"], header["typ"], header["kid"]) == (alg, "vp+jwt", holder.method)
    assert (payload["nonce"], payload["aud"], payload["holder"]) == (CHALLENGE, DOMAIN, holder.did)
    assert payload["exp"] - payload["iat"] == DEFAULT_LIFETIME.total_seconds()
    entry = payload["verifiableCredential"][0]
    assert entry["type"] == "EnvelopedVerifiableCredential"
    result = verifier().verify_presentation(token, challenge=CHALLENGE, domain=DOMAIN)
    assert result.verified, result.to_json()
    assert codes(token, challenge="another") == ["INVALID_CHALLENGE_ERROR"]
    assert codes(token, domain="https://elsewhere.example") == ["INVALID_DOMAIN_ERROR"]


def test_a_data_integrity_presentation_carries_a_vc_jwt_enveloped() -> None:
    token = credential_for(HOLDER.did, ISSUER, jwt=True)
    both = present(credentials=[token, credential_for(HOLDER.did, ISSUER)])
    assert isinstance(both, dict)
    assert both["verifiableCredential"][0]["id"] == "data:application/vc+jwt," + token
    result = verifier().verify_presentation(both, challenge=CHALLENGE, domain=DOMAIN)
    assert result.verified, result.to_json()


@pytest.mark.parametrize("fmt", ["di", "jwt"])
def test_an_expired_presentation_is_refused(fmt: str) -> None:
    credential = credential_for(HOLDER.did, ISSUER, jwt=fmt == "jwt")
    presentation = present(credentials=[credential], fmt=fmt, expires=None)
    later = verifier(skip=DEFAULT_LIFETIME.total_seconds() + 120)
    result = later.verify_presentation(presentation, challenge=CHALLENGE, domain=DOMAIN)
    assert [p.code for p in result.errors] == ["PROOF_EXPIRED_ERROR"]
    assert "expired" in result.errors[0].message
    assert verifier().verify_presentation(presentation, challenge=CHALLENGE, domain=DOMAIN).verified


def test_expires_and_created_are_the_callers() -> None:
    created = datetime(2026, 1, 1, tzinfo=UTC)
    presentation = present(created=created, expires=created + timedelta(days=30))
    assert isinstance(presentation, dict)
    assert presentation["proof"]["expires"] == "2026-01-31T00:00:00Z"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"challenge": ""}, "challenge"),
        ({"challenge": "   "}, "challenge"),
        ({"domain": ""}, "domain"),
        ({"challenge": "c" * 1025}, "longer than 1024"),
        ({"credentials": []}, "at least one credential"),
        ({"fmt": "ldp"}, "unknown presentation format"),
        ({"holder": SECP_HOLDER}, "needs an Ed25519 key"),
        ({"verification_method": "did:key:z6MkOther#z6MkOther"}, "not a key of the holder"),
        ({"verification_method": HOLDER.did}, "not a key of the holder"),
        ({"fmt": "jwt"}, "carries vc.jwt credentials only"),
        ({"expires": datetime(2020, 1, 1, tzinfo=UTC)}, "expire after it is created"),
        ({"created": datetime(2026, 1, 1)}, "timezone-aware"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(change: dict[str, Any], reason: str) -> None:
    holder: Holder = change.pop("holder", HOLDER)
    options: dict[str, Any] = {
        "holder": holder.did,
        "verification_method": holder.method,
        "private_key": holder.key,
        "challenge": CHALLENGE,
        "domain": DOMAIN,
    }
    credentials = change.pop("credentials", [credential_for(holder.did, ISSUER)])
    options.update(change)
    with pytest.raises(PresentationError, match=reason) as raised:
        build_presentation(credentials, **options)
    assert raised.value.code == "invalid_presentation"
    assert raised.value.status_code == 400


def test_too_many_credentials_are_refused_before_any_signing() -> None:
    credential = credential_for(HOLDER.did, ISSUER)
    with pytest.raises(PresentationError, match="at most 100"):
        present(credentials=[credential] * 101)


def test_a_did_ethr_holder_signs_a_vp_jwt_with_its_controller_key(
    notary_world: NotaryWorld,
) -> None:
    """A fresh did:ethr (no transaction) presents with the key that controls it, ES256K;
    the verifier recovers the signer and compares it with the DID's address."""
    account = Account.create()
    did = f"did:ethr:{hex(CHAIN_ID)}:{account.address}"
    key = ec.derive_private_key(int.from_bytes(bytes(account.key), "big"), ec.SECP256K1())
    token = build_presentation(
        [credential_for(did, ISSUER, jwt=True)],
        holder=did,
        verification_method=f"{did}#controller",
        private_key=key,
        challenge=CHALLENGE,
        domain=DOMAIN,
        fmt="jwt",
    )
    verifier = Verifier(notary_world.resolver, chain=notary_world.chain)
    result = verifier.verify_presentation(token, challenge=CHALLENGE, domain=DOMAIN)
    assert result.verified, result.to_json()
    assert result.details["holder"] == did
    impostor = Account.create()
    stolen_did = f"did:ethr:{hex(CHAIN_ID)}:{impostor.address}"
    forged = build_presentation(
        [credential_for(stolen_did, ISSUER, jwt=True)],
        holder=stolen_did,
        verification_method=f"{stolen_did}#controller",
        private_key=key,
        challenge=CHALLENGE,
        domain=DOMAIN,
        fmt="jwt",
    )
    refused = verifier.verify_presentation(forged, challenge=CHALLENGE, domain=DOMAIN)
    assert not refused.verified
    assert {p.check for p in refused.errors} == {"proof"}, refused.to_json()
