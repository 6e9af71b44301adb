"""JSON-LD contexts bundled with the hub: the only ones its document loader serves.

Each file is the published context document, byte for byte (the W3C ones as
Digital Bazaar's npm context packages ship them; ``tests/credentials`` checks the
copies against those packages). The notary hub's own context defines the custody
terms: deposit, capture and draw subjects, RFC 3161 timestamp evidence and chain
anchor evidence.
"""

from __future__ import annotations

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
CREDENTIALS_EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
DID_V1 = "https://www.w3.org/ns/did/v1"
BITSTRING_STATUS_LIST_V1 = "https://www.w3.org/ns/credentials/status/v1"
NOTARY_HUB_V1 = "https://w3id.org/notary-hub/v1"
# v1 is frozen once letters record its digest: terms added later are in v2, which a
# credential names after v1 (issue 14: the draw winner's credential, the entry receipt).
NOTARY_HUB_V2 = "https://w3id.org/notary-hub/v2"

# URL -> file in this package. Explicit on purpose: adding a context is a reviewed change.
CONTEXT_FILES: dict[str, str] = {
    CREDENTIALS_V2: "credentials-v2.jsonld",
    CREDENTIALS_EXAMPLES_V2: "credentials-examples-v2.jsonld",
    DATA_INTEGRITY_V2: "data-integrity-v2.jsonld",
    MULTIKEY_V1: "multikey-v1.jsonld",
    DID_V1: "did-v1.jsonld",
    BITSTRING_STATUS_LIST_V1: "bitstring-status-list-v1.jsonld",
    NOTARY_HUB_V1: "notary-hub-v1.jsonld",
    NOTARY_HUB_V2: "notary-hub-v2.jsonld",
}
# The hub's own contexts, each version's terms reserved to its services.
NOTARY_HUB_CONTEXTS = (NOTARY_HUB_V1, NOTARY_HUB_V2)
