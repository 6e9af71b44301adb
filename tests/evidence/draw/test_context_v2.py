"""The hub's context v2 (the draw winner's and entry receipt's terms): bundled, served,
reserved to the hub.

v1 stays byte for byte what letters recorded; the VC API refuses v2's types as it does v1's.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from credentials.contexts_router import contexts_router
from credentials.issuing_policy import ReservedCredential, check_caller_credential
from credentials.jsonld.context_integrity import context_bytes, digest_sri
from credentials.jsonld.contexts import CREDENTIALS_V2, NOTARY_HUB_V1, NOTARY_HUB_V2


def test_v2_is_served_and_v1_unchanged() -> None:
    app = FastAPI()
    app.include_router(contexts_router())
    with TestClient(app) as client:
        for path, url in (("v1", NOTARY_HUB_V1), ("v2", NOTARY_HUB_V2)):
            served = client.get(f"/contexts/notary-hub/{path}")
            assert served.status_code == 200 and served.content == context_bytes(url)
    assert b"DrawWinnerCredential" not in context_bytes(NOTARY_HUB_V1)
    assert digest_sri(context_bytes(NOTARY_HUB_V1)) == V1_SRI  # what letters recorded
    assert digest_sri(context_bytes(NOTARY_HUB_V2)) == V2_SRI


# v1's SHA-384 as custody letters record it in relatedResource: frozen, never edited.
V1_SRI = "sha384-TLxk5acfqaDENuxoHuInpjvNZthog/lkqIi+h6T1xksC1TraOzCkQ5Z3fSXsYeFX"
# v2's, with the capture letter's terms (issue 15): additive until v2 is deployed, then
# frozen as v1 is.
V2_SRI = "sha384-19Cj19DiQ4yqRBOJv251BvLDTm/wc8nznXWHEdrIrGF9WUOkCAze7e6HKheCh5PX"


@pytest.mark.parametrize(
    "kind", ["DrawWinnerCredential", "DrawEntryReceipt", "DrawEntryReceiptCredential", "DrawEntry"]
)
def test_the_vc_api_refuses_the_draw_types(kind: str) -> None:
    credential = {
        "@context": [CREDENTIALS_V2, NOTARY_HUB_V1, NOTARY_HUB_V2],
        "type": ["VerifiableCredential", kind],
        "issuer": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "credentialSubject": {"id": "did:example:1"},
    }
    with pytest.raises(ReservedCredential):
        check_caller_credential(credential)
