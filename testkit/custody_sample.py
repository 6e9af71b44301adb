"""A realistic custody credential for benchmarks and tests: a DataDepositCredential.

The shape the hub issues for a deposit (VC Data Model 2.0,
https://www.w3.org/TR/vc-data-model-2.0/): the VC v2 and notary hub contexts, a
``DataDeposit`` subject, two evidence entries (an RFC 3161 timestamp token of
about 1.5 KB and a chain anchor with the JSON anchor receipt of
``chain_adapter.anchoring.receipt.AnchorReceipt.to_json()``) and a bitstring
status list entry. Deterministic for a given ``seed``, so canonical forms can be
compared across runs. Import with ``from testkit.custody_sample import custody_credential``.
"""

from __future__ import annotations

import base64
import random
from typing import Any

from chain_adapter.anchoring.receipt import AnchorReceipt

NOTARY_DID = "did:ethr:0x539:0x5b38da6a701c568545dcfcb03fcb875f56beddc4"
CONTEXT = ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/notary-hub/v1"]


def _multibase(data: bytes) -> str:
    # multibase 'u': base64url without padding
    return "u" + base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _uuid(rng: random.Random) -> str:
    hex_ = f"{rng.getrandbits(128):032x}"
    return f"{hex_[:8]}-{hex_[8:12]}-4{hex_[13:16]}-a{hex_[17:20]}-{hex_[20:]}"


def anchor_receipt(seed: int = 0) -> dict[str, Any]:
    rng = random.Random(seed)
    receipt = AnchorReceipt(
        leaf=rng.randbytes(32),
        leaf_index=rng.randrange(1000),
        tree_size=1000,
        audit_path=tuple(rng.randbytes(32) for _ in range(10)),
        root=rng.randbytes(32),
        kind="deposit",
        chain_id=1337,
        registry="0x" + rng.randbytes(20).hex(),
        transaction_hash="0x" + rng.randbytes(32).hex(),
        block_number=rng.randrange(1, 10**6),
        block_hash="0x" + rng.randbytes(32).hex(),
        block_timestamp=1_767_225_600 + rng.randrange(86_400),
    )
    return receipt.to_json()


def custody_credential(
    seed: int = 0, *, token_bytes: int = 1500, issuer: str = NOTARY_DID
) -> dict[str, Any]:
    """A DataDepositCredential without proof, as the issuer canonicalizes it."""
    rng = random.Random(seed)
    depositor = "did:ethr:0x539:0x" + rng.randbytes(20).hex()
    return {
        "@context": list(CONTEXT),
        "type": ["VerifiableCredential", "DataDepositCredential"],
        "id": "urn:uuid:" + _uuid(rng),
        "issuer": issuer,
        "validFrom": "2026-01-01T08:30:00Z",
        "credentialSubject": {
            "id": depositor,
            "type": "DataDeposit",
            "depositId": _uuid(rng),
            "digestMultibase": _multibase(b"\x12\x20" + rng.randbytes(32)),
            "sm3DigestMultibase": _multibase(rng.randbytes(32)),
            "size": rng.randrange(1, 10**9),
            "mediaType": "application/pdf",
            "title": "Lease agreement — 12 Rue de la Paix",
            "fileName": "lease-2026.pdf",
            "tags": ["lease", "real-estate", "2026"],
        },
        "evidence": [
            {
                "type": "RFC3161TimestampEvidence",
                "timeStampToken": _multibase(rng.randbytes(token_bytes)),
                "genTime": "2026-01-01T08:29:58Z",
                "tsa": "https://tsa.notary.example/tsr",
                "hashAlgorithm": "sha-256",
                "serialNumber": str(rng.getrandbits(64)),
            },
            {
                "type": "ChainAnchorEvidence",
                "chainId": 1337,
                "anchoredAt": "2026-01-01T08:30:00Z",
                "anchorReceipt": anchor_receipt(seed),
            },
        ],
        "credentialStatus": {
            "id": "https://notary.example/status/1#" + str(rng.randrange(131072)),
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(rng.randrange(131072)),
            "statusListCredential": "https://notary.example/status/1",
        },
    }


def custody_proof_configuration(
    credential: dict[str, Any] | None = None, *, issuer: str = NOTARY_DID
) -> dict[str, Any]:
    """The eddsa-rdfc-2022 proof configuration for ``credential`` (Data Integrity §4.2)."""
    context = (credential or {}).get("@context", list(CONTEXT))
    return {
        "@context": context,
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2026-01-01T08:30:01Z",
        "verificationMethod": issuer + "#controllerKey",
        "proofPurpose": "assertionMethod",
    }
