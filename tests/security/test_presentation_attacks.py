"""Attacks on presentations: forged, replayed, tampered, mistimed and oversized, each refused.

Two settings:

- a did:ethr holder on a real chain (the ``notary_world`` setup): the holder adds an
  Ed25519 authentication key through the registrar's relay (an ERC-1056
  meta-transaction it signs), and the verifier resolves the key as of the proof's
  ``created`` (the vp+jwt's ``iat``) and again as of now;
- the served hub (``notary-hub serve``): presentations of the notary's credentials,
  judged by ``POST /presentations/verify`` and by ``notary-hub verify`` against the
  hub's chain node, which must agree.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eth_account import Account
from eth_account.signers.local import LocalAccount

from credentials.data_integrity.proofs import ProofOptions, SigningKey, add_proof
from credentials.verifier import Verifier
from did_registry.ethr.attributes import public_key_name
from did_registry.registrar.operations import RevokeAttribute, SetAttribute
from hub_kernel.multiformats import b58encode
from testkit.holder import Holder, credential_for, did_key_holder
from testkit.notary_world import CHAIN_ID, NotaryWorld, open_notary_world
from tests.security.conftest import ServedHub, error_codes
from wallet.presentations import build_presentation

SIG_AUTH = public_key_name("Ed25519", "sigAuth", "base58")
DAY = 86_400
CHALLENGE = "attack-challenge-0001"
DOMAIN = "https://court.example"
ISSUER = did_key_holder("attacks issuer")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NotaryWorld]:
    opened = open_notary_world(tmp_path_factory.mktemp("presentation-attacks"))
    yield opened
    opened.chain.close()


def relay(world: NotaryWorld, owner: LocalAccount, op: SetAttribute | RevokeAttribute) -> int:
    """``op`` on ``owner``'s identity, relayed; the timestamp of the block that holds it."""
    request = world.registrar.signing_request(owner.address, op)
    signed = Account.unsafe_sign_hash(request.digest, owner.key)
    receipt = world.registrar.relay(owner.address, op, bytes(signed.signature), nonce=request.nonce)
    return world.chain.get_block(receipt.block_number).timestamp


def method_of(world: NotaryWorld, did: str, public: bytes) -> str:
    document = world.resolver.resolve(did).did_document
    assert document is not None
    for method in document["verificationMethod"]:
        if method.get("publicKeyBase58") == b58encode(public):
            return str(method["id"])
    raise AssertionError(f"{did} lists no such key")


def ethr_present(
    holder: Holder, created: int, fmt: str = "di", credential: Any = None
) -> dict[str, Any] | str:
    listed = credential or credential_for(holder.did, ISSUER, jwt=fmt == "jwt")
    return build_presentation(
        [listed],
        holder=holder.did,
        verification_method=holder.method,
        private_key=holder.key,
        challenge=CHALLENGE,
        domain=DOMAIN,
        fmt="jwt" if fmt == "jwt" else "di",
        created=datetime.fromtimestamp(created, UTC),
    )


def refusals(world: NotaryWorld, presentation: Any) -> list[tuple[str, str]]:
    verifier = Verifier(world.resolver, chain=world.chain)
    result = verifier.verify_presentation(presentation, challenge=CHALLENGE, domain=DOMAIN)
    return [(p.code, p.message) for p in result.errors]


@pytest.mark.parametrize("fmt", ["di", "jwt"])
def test_a_holder_key_is_judged_as_of_signing_and_as_of_now(world: NotaryWorld, fmt: str) -> None:
    owner: LocalAccount = Account.create()
    did = f"did:ethr:{hex(CHAIN_ID)}:{owner.address}"
    secret = Ed25519PrivateKey.generate()
    public = secret.public_key().public_bytes_raw()
    added_at = relay(world, owner, SetAttribute(SIG_AUTH, public, DAY))
    holder = Holder(did, method_of(world, did, public), secret)

    # Signed with the key, dated before the block that added it: not the holder's then.
    early = refusals(world, ethr_present(holder, added_at - 1, fmt))
    assert [code for code, _ in early] == ["INVALID_VERIFICATION_METHOD"], early
    # Dated at the block that added it: the holder's then and now.
    in_time = ethr_present(holder, added_at, fmt)
    assert refusals(world, in_time) == []
    # A random key claiming the holder's method.
    forger = Holder(did, holder.method, Ed25519PrivateKey.generate())
    forged = refusals(world, ethr_present(forger, added_at, fmt))
    assert [code for code, _ in forged] == ["CRYPTOGRAPHIC_SECURITY_ERROR"], forged

    revoked_at = relay(world, owner, RevokeAttribute(SIG_AUTH, public))
    # Signed after the key was revoked.
    late = refusals(world, ethr_present(holder, revoked_at, fmt))
    assert [code for code, _ in late] == ["INVALID_VERIFICATION_METHOD"], late
    # Signed while the key was valid, presented after its revocation: no longer speaks.
    stale = refusals(world, in_time)
    assert [code for code, _ in stale] == ["INVALID_VERIFICATION_METHOD"], stale
    assert "no longer the holder's key" in stale[0][1]


def test_a_credential_about_someone_else_is_refused(world: NotaryWorld) -> None:
    holder = did_key_holder("presenting another's credential")
    someone = did_key_holder("the real subject")
    presentation = ethr_present(
        holder, int(time.time()), credential=credential_for(someone.did, ISSUER)
    )
    codes = refusals(world, presentation)
    assert [code for code, _ in codes] == ["HOLDER_BINDING_ERROR"], codes


def test_a_proof_without_a_challenge_is_refused_when_one_is_expected(world: NotaryWorld) -> None:
    holder = did_key_holder("no challenge")
    unsigned = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": holder.did,
        "verifiableCredential": [credential_for(holder.did, ISSUER)],
    }
    assert isinstance(holder.key, Ed25519PrivateKey)
    signed = add_proof(
        unsigned,
        suite="eddsa-rdfc-2022",
        key=SigningKey(holder.method, holder.key),
        options=ProofOptions(proof_purpose="authentication", domain=DOMAIN),
    )
    codes = refusals(world, signed)
    assert [code for code, _ in codes] == ["MISSING_CHALLENGE_ERROR"], codes


def test_thousands_of_credentials_are_refused_before_any_is_checked(world: NotaryWorld) -> None:
    holder = did_key_holder("overloader")
    one = credential_for(holder.did, ISSUER)
    presentation = ethr_present(holder, int(time.time()), credential=one)
    assert isinstance(presentation, dict)
    flooded = {k: v for k, v in presentation.items() if k != "proof"}
    flooded["verifiableCredential"] = [one] * 5000
    started = time.monotonic()
    codes = refusals(world, flooded)
    assert time.monotonic() - started < 2
    assert [code for code, _ in codes] == ["DOCUMENT_TOO_LARGE"], codes


# -- against the served hub ------------------------------------------------------------


@pytest.fixture(scope="module")
def presented(served_hub: ServedHub) -> dict[str, Any]:
    """A did:key holder's two credentials from the hub (one then revoked), and its key."""
    holder = did_key_holder("served holder")
    subject = {"id": holder.did}
    body = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "credentialSubject": subject,
    }
    kept = served_hub.issue(body)
    revoked = served_hub.issue(body)
    assert kept.status_code == revoked.status_code == 201, revoked.text
    doomed = revoked.json()["verifiableCredential"]
    with served_hub.client() as client:
        changed = client.post(
            "/credentials/status",
            json={
                "credentialId": doomed["id"],
                "credentialStatus": {
                    "type": "BitstringStatusListEntry",
                    "statusPurpose": "revocation",
                },
                "status": True,
            },
        )
    assert changed.status_code == 200, changed.text
    return {"holder": holder, "kept": kept.json()["verifiableCredential"], "revoked": doomed}


def served_vp(holder: Holder, credential: Any, challenge: str, domain: str) -> Any:
    return build_presentation(
        [credential],
        holder=holder.did,
        verification_method=holder.method,
        private_key=holder.key,
        challenge=challenge,
        domain=domain,
    )


def judged(served_hub: ServedHub, vp: Any, challenge: str, domain: str) -> tuple[int, set[str]]:
    """The HTTP verdict, after checking that ``notary-hub verify`` agrees with it."""
    with served_hub.client() as client:
        response = client.post(
            "/presentations/verify",
            json={
                "verifiablePresentation": vp,
                "options": {"challenge": challenge, "domain": domain},
            },
        )
    code, body = served_hub.cli_json(vp, "--challenge", challenge, "--domain", domain)
    http_codes = error_codes(response.json())
    assert (code == 0) == (response.status_code == 200), (body, response.json())
    assert http_codes <= error_codes(body) | {"CHALLENGE_REPLAYED_ERROR"}, (body, http_codes)
    return response.status_code, http_codes


def test_the_served_hub_and_the_cli_refuse_revoked_and_tampered_credentials(
    served_hub: ServedHub, presented: dict[str, Any]
) -> None:
    holder = presented["holder"]
    good = served_vp(holder, presented["kept"], CHALLENGE, DOMAIN)
    assert judged(served_hub, good, CHALLENGE, DOMAIN) == (200, set())
    revoked = served_vp(holder, presented["revoked"], CHALLENGE, DOMAIN)
    assert judged(served_hub, revoked, CHALLENGE, DOMAIN) == (422, {"STATUS_ERROR"})
    altered = copy.deepcopy(presented["kept"])
    altered["validFrom"] = "2020-01-01T00:00:00Z"
    tampered = served_vp(holder, altered, CHALLENGE, DOMAIN)
    assert judged(served_hub, tampered, CHALLENGE, DOMAIN) == (
        422,
        {"CRYPTOGRAPHIC_SECURITY_ERROR"},
    )
    # The holder's proof over a credential changed after the holder signed.
    swapped = copy.deepcopy(good)
    swapped["verifiableCredential"][0] = presented["revoked"]
    status, codes = judged(served_hub, swapped, CHALLENGE, DOMAIN)
    assert status == 422 and "CRYPTOGRAPHIC_SECURITY_ERROR" in codes
    for challenge, domain, code in (
        ("another", DOMAIN, "INVALID_CHALLENGE_ERROR"),
        (CHALLENGE, "https://elsewhere.example", "INVALID_DOMAIN_ERROR"),
    ):
        assert judged(served_hub, good, challenge, domain) == (422, {code})


def test_a_replayed_presentation_is_refused_by_the_served_hub(
    served_hub: ServedHub, presented: dict[str, Any]
) -> None:
    with served_hub.client() as client:
        issued = client.post("/presentations/challenges").json()
        vp = served_vp(
            presented["holder"], presented["kept"], issued["challenge"], issued["domain"]
        )
        body = {"verifiablePresentation": vp, "options": {"challenge": issued["challenge"]}}
        first = client.post("/presentations/verify", json=body)
        assert first.status_code == 200, first.json()
        again = client.post("/presentations/verify", json=body)
    assert again.status_code == 422
    assert error_codes(again.json()) == {"CHALLENGE_REPLAYED_ERROR"}


def test_oversized_presentations_and_challenges_are_refused(
    served_hub: ServedHub, presented: dict[str, Any], tmp_path: Path
) -> None:
    vp = served_vp(presented["holder"], presented["kept"], CHALLENGE, DOMAIN)
    flooded = {**vp, "verifiableCredential": [presented["kept"]] * 2000}
    with served_hub.client() as client:
        started = time.monotonic()
        response = client.post(
            "/presentations/verify",
            json={"verifiablePresentation": flooded, "options": {"challenge": CHALLENGE}},
        )
        assert time.monotonic() - started < 10
        assert response.status_code in (400, 413), response.text
        huge = client.post(
            "/presentations/verify",
            json={"verifiablePresentation": vp, "options": {"challenge": "c" * 100_000}},
        )
        assert huge.status_code in (413, 422), huge.text
    with pytest.raises(Exception, match="longer than 1024"):
        served_vp(presented["holder"], presented["kept"], "c" * 100_000, DOMAIN)
