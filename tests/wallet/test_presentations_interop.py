"""Digital Bazaar's ``@digitalbazaar/vc`` (7.3.0, in node) verifies the wallet's presentations.

The peer is ``tests/interop/vc_npm.mjs`` (``vc.verify`` with ``DataIntegrityProof`` and
the ``eddsa-rdfc-2022`` cryptosuite; did:key through ``@digitalbazaar/did-method-key``).
A presentation from :func:`wallet.presentations.build_presentation` by a did:key
holder, holding a credential a did:key issuer signed with the hub's Data Integrity
code, verifies for its challenge and domain, and for no other.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from credentials.verifier import Verifier
from did_registry.did_key import DidKeyResolver
from did_registry.dispatch import DispatchingResolver
from testkit.holder import credential_for, did_key_holder
from tests.credentials.vc_npm import NODE, npm
from wallet.presentations import build_presentation

CHALLENGE = "d4c1a5e0-interop"
DOMAIN = "https://court.example"

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def test_digitalbazaar_vc_verifies_the_wallets_presentation() -> None:
    holder = did_key_holder("interop holder")
    issuer = did_key_holder("interop issuer")
    presentation = build_presentation(
        [credential_for(holder.did, issuer)],
        holder=holder.did,
        verification_method=holder.method,
        private_key=holder.key,
        challenge=CHALLENGE,
        domain=DOMAIN,
    )
    assert isinstance(presentation, dict)
    tampered = copy.deepcopy(presentation)
    tampered["verifiableCredential"][0]["credentialSubject"]["id"] = issuer.did
    forged_holder = {**copy.deepcopy(presentation), "holder": issuer.did}
    asked: list[tuple[str, dict[str, Any], str, str]] = [
        ("as signed", presentation, CHALLENGE, DOMAIN),
        ("another challenge", presentation, "another-challenge", DOMAIN),
        ("another domain", presentation, CHALLENGE, "https://elsewhere.example"),
        ("tampered credential", tampered, CHALLENGE, DOMAIN),
        ("another holder claimed", forged_holder, CHALLENGE, DOMAIN),
    ]
    answer = npm(
        {
            "command": "verify",
            "items": [{"presentation": p, "challenge": c, "domain": d} for _, p, c, d in asked],
        }
    )
    results = answer["results"]
    verdicts = {name: r["verified"] for (name, *_), r in zip(asked, results, strict=True)}
    assert verdicts == {
        "as signed": True,
        "another challenge": False,
        "another domain": False,
        "tampered credential": False,
        "another holder claimed": False,
    }, results
    assert any("challenge" in e for e in results[1]["errors"]), results[1]
    assert any("domain" in e for e in results[2]["errors"]), results[2]
    # The hub's verifier agrees on every case.
    ours = Verifier(DispatchingResolver({"key": DidKeyResolver()}), chain=None)
    for name, document, challenge, domain in asked:
        result = ours.verify_presentation(document, challenge=challenge, domain=domain)
        assert result.verified is verdicts[name], (name, result.to_json())
