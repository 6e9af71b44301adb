"""Test support for the VC interop tests: the npm peer in node, and the documents exchanged.

- :func:`npm` runs ``tests/interop/vc_npm.mjs`` (``@digitalbazaar/vc`` with the
  ``eddsa-rdfc-2022`` cryptosuite, pinned in ``package-lock.json``) once per batch;
- :func:`custody`, :func:`plain` build the credentials both sides sign;
- :func:`tampered` changes one signed part of a secured document.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from testkit.custody_sample import custody_credential

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tests" / "interop" / "vc_npm.mjs"
NODE = shutil.which("node")
VC_V2 = "https://www.w3.org/ns/credentials/v2"
VALID_FROM = "2025-01-01T00:00:00Z"
TAMPERINGS = ("subject", "receipt", "timestamp", "validFrom", "created")


def npm(request: dict[str, Any]) -> dict[str, Any]:
    """One run of the npm peer (the script's header describes requests and answers)."""
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(SCRIPT)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"vc_npm.mjs failed ({done.returncode}):\n{done.stderr}")
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def npm_verify(
    rpc_url: str,
    chain_id: int,
    registry: str,
    items: list[dict[str, Any]],
    documents: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Verify ``items`` in node, did:ethr read from ``registry`` over ``rpc_url``.

    ``documents``: status list credentials by URL, as a verifier takes them from a mirror.
    """
    answer = npm(
        {
            "command": "verify",
            "ethr": {"rpcUrl": rpc_url, "chainId": chain_id, "registry": registry},
            "documents": documents or {},
            "items": items,
        }
    )
    return list(answer["results"])


def custody(issuer: str, seed: int = 7, *, status: bool = False) -> dict[str, Any]:
    """The realistic custody credential, without its status entry unless ``status``.

    Valid from a fixed date well in the past, so no verifier's clock finds it early.
    """
    credential = custody_credential(seed, issuer=issuer)
    credential["validFrom"] = VALID_FROM
    if not status:
        del credential["credentialStatus"]
    return credential


def plain(issuer: str) -> dict[str, Any]:
    """A VC 2.0 credential with non-ASCII text (RDFC-1.0 escapes none of it)."""
    return {
        "@context": [VC_V2],
        "type": ["VerifiableCredential"],
        "id": "urn:uuid:5e3c1a52-6a0a-4d5c-9d4e-0c5f6c1b2a10",
        "issuer": issuer,
        "validFrom": VALID_FROM,
        "credentialSubject": {"id": "did:example:subject", "name": "Zoë « Ω » 𝄞"},
    }


def without_issuer(credential: dict[str, Any]) -> dict[str, Any]:
    """What node is asked to issue: it names its own did:key as the issuer."""
    return {k: v for k, v in credential.items() if k != "issuer"}


def tampered(document: dict[str, Any], change: str) -> dict[str, Any]:
    """``document`` (or the first credential of a presentation) with one part changed."""
    copied = copy.deepcopy(document)
    credential = copied.get("verifiableCredential", [copied])[0]
    if change == "subject":
        credential["credentialSubject"]["depositId"] = "00000000-0000-4000-a000-000000000000"
    elif change == "receipt":  # inside the @json literal
        receipt = credential["evidence"][1]["anchorReceipt"]
        first = next(iter(receipt))
        receipt[first] = "other" if receipt[first] == "tampered" else "tampered"
    elif change == "timestamp":
        credential["evidence"][0]["genTime"] = "2026-01-01T08:29:59Z"
    elif change == "validFrom":
        credential["validFrom"] = "2024-06-01T00:00:00Z"
    elif change == "created":
        copied["proof"]["created"] = "2026-01-01T00:00:00Z"
    elif change == "name":
        credential["credentialSubject"]["name"] = "Zoe"
    else:
        raise AssertionError(f"unknown change {change!r}")
    return copied
