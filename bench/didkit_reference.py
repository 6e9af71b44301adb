"""The benchmarks' timing loop and their reference: didkit issuing and verifying a credential.

PyPI ``didkit`` 0.3.3 (Spruce's Rust ``ssi`` behind a Python binding):
``issue_credential(credential, options, jwk)`` / ``verify_credential(credential, options)``,
both coroutines taking and returning JSON text, with an Ed25519 did:key issuer
(``key_to_did("key", jwk)``), as ``Ed25519Signature2018`` linked-data proofs or, with
``proofFormat: jwt``, as VC-JWT (VC Data Model 1.1 §6.3.1, EdDSA).

didkit signs VC 1.1 only and loads no context it does not bundle, so the custody
credential is given in VC 1.1 form (:func:`didkit_form`): the context
``https://www.w3.org/2018/credentials/v1`` plus, inline, the notary hub context and
the three VC 2.0 term definitions the credential uses (``digestMultibase``,
``mediaType``, ``BitstringStatusListEntry``); ``issuanceDate`` for ``validFrom``;
evidence ``type`` as an array (ssi's schema wants one). Same claims, and the same
triples give or take the date's predicate.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import didkit

from credentials.jsonld.contexts import CREDENTIALS_V2, NOTARY_HUB_V1
from credentials.jsonld.document_loader import load_context

VC_V1 = "https://www.w3.org/2018/credentials/v1"
V2_TERMS = ("digestMultibase", "mediaType", "BitstringStatusListEntry")


@dataclass
class Row:
    """One line of a report: operations per second (None: not measured)."""

    name: str
    issue: float | None
    verify: float | None
    verify_warm: float | None = None
    note: str = ""


ROUNDS = 3  # each figure is the best of this many slices of its time


def rate(operation: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``operation``, one after the other, for ``seconds`` in all.

    The time is cut into :data:`ROUNDS` slices and the best slice counts: on a shared
    machine, other processes only ever slow a slice down.
    """
    operation()  # warm-up: caches, lazy imports
    best = 0.0
    for _ in range(ROUNDS):
        calls = 0
        start = time.perf_counter()
        deadline = start + seconds / ROUNDS
        while True:
            operation()
            calls += 1
            now = time.perf_counter()
            if now >= deadline:
                break
        best = max(best, calls / (now - start))
    return best


def arate(operation: Callable[[], Awaitable[object]], seconds: float) -> float:
    """:func:`rate` for coroutines, all awaited in one event loop."""

    async def run() -> float:
        await operation()
        best = 0.0
        for _ in range(ROUNDS):
            calls = 0
            start = time.perf_counter()
            deadline = start + seconds / ROUNDS
            while True:
                await operation()
                calls += 1
                now = time.perf_counter()
                if now >= deadline:
                    break
            best = max(best, calls / (now - start))
        return best

    return asyncio.run(run())


def version() -> str:
    found: str = didkit.get_version()
    return found


def didkit_form(credential: dict[str, Any], issuer: str) -> dict[str, Any]:
    """A VC 2.0 credential in the VC 1.1 form didkit signs (see the module docstring)."""
    v2 = load_context(CREDENTIALS_V2)["@context"]
    converted = {k: v for k, v in credential.items() if k not in ("@context", "validFrom")}
    converted["@context"] = [
        VC_V1,
        {name: v2[name] for name in V2_TERMS},
        load_context(NOTARY_HUB_V1)["@context"],
    ]
    converted["issuer"] = issuer
    converted["issuanceDate"] = credential["validFrom"]
    converted["evidence"] = [{**e, "type": [e["type"]]} for e in credential["evidence"]]
    return converted


def bench_didkit(credential: dict[str, Any], seconds: float) -> list[Row]:
    """didkit's linked-data (first) and JWT rows for ``credential``, each checked first."""
    jwk = didkit.generate_ed25519_key()
    text = json.dumps(didkit_form(credential, didkit.key_to_did("key", jwk)))

    async def method() -> str:
        found: str = await didkit.key_to_verification_method("key", jwk)
        return found

    vm = asyncio.run(method())
    rows = []
    for proof_format, label in (
        ("ldp", "didkit Ed25519Signature2018 (LD)"),
        ("jwt", "didkit JWT EdDSA"),
    ):
        purpose = {"proofPurpose": "assertionMethod", "proofFormat": proof_format}
        issue_options = json.dumps({**purpose, "verificationMethod": vm})
        verify_options = json.dumps(purpose)

        async def issue(options: str = issue_options) -> str:
            signed: str = await didkit.issue_credential(text, options, jwk)
            return signed

        signed = asyncio.run(issue())

        async def verify(signed: str = signed, options: str = verify_options) -> dict[str, Any]:
            answer: dict[str, Any] = json.loads(await didkit.verify_credential(signed, options))
            return answer

        checked = asyncio.run(verify())
        assert not checked["errors"] and checked["checks"], checked
        rows.append(Row(label, arate(issue, seconds), arate(verify, seconds)))
    return rows
