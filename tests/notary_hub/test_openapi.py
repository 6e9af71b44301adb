"""The OpenAPI document and the docs pages (issue 11, item 7).

Every route that takes a body documents it, including the ones that stream their body
themselves (deposits, letter verification, the TSA, ``/rpc``); the document is valid
OpenAPI; ``/docs`` and ``/redoc`` load nothing but the hub's own files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from notary_hub.app import create_app
from notary_hub.hub import open_hub
from notary_hub.settings import ServerSettings, Settings

# The request media types of every route that takes a body; a new one must be added here.
REQUEST_MEDIA_TYPES = {
    ("post", "/captures"): {"application/json"},
    ("post", "/anchoring/items"): {"application/json"},
    ("post", "/anchoring/receipts/verify"): {"application/json"},
    ("post", "/1.0/registrar/operations/digest"): {"application/json"},
    ("post", "/1.0/registrar/operations"): {"application/json"},
    ("post", "/consortium/applications"): {"application/json"},
    ("post", "/consortium/proposals/{proposal_id}/votes"): {"application/json"},
    ("post", "/consortium/members/{address}/removal"): {"application/json"},
    ("post", "/admin/keys/rotate"): {"application/json"},
    ("post", "/credentials/issue"): {"application/json"},
    ("post", "/credentials/verify"): {"application/json"},
    ("post", "/presentations/verify"): {"application/json"},
    ("post", "/presentations/challenges"): {"application/json"},
    ("post", "/credentials/status"): {"application/json"},
    ("post", "/evidence/verify"): {"application/json", "multipart/form-data"},
    ("post", "/evidence/deposits"): {"application/json", "multipart/form-data"},
    ("post", "/evidence/deposits:batch"): {"application/json"},
    ("post", "/evidence/letters/pdf"): {"application/json"},
    ("post", "/tsa"): {"application/timestamp-query"},
    ("post", "/rpc"): {"application/json"},
    ("post", "/signin/requests/{request_id}/response"): {"application/x-www-form-urlencoded"},
    ("post", "/signin/logout"): {"application/x-www-form-urlencoded"},
    ("post", "/oauth/authorize/consent"): {"application/x-www-form-urlencoded"},
    ("post", "/account/consents/{client_id}/revoke"): {"application/x-www-form-urlencoded"},
    ("post", "/oauth/logout"): {"application/x-www-form-urlencoded"},
    # issue 13: the authorisation server
    ("post", "/oauth/token"): {"application/x-www-form-urlencoded"},
    ("post", "/oauth/introspect"): {"application/x-www-form-urlencoded"},
    ("post", "/oauth/revoke"): {"application/x-www-form-urlencoded"},
    ("post", "/oauth/par"): {"application/x-www-form-urlencoded"},
    ("post", "/oauth/device_authorization"): {"application/x-www-form-urlencoded"},
    ("post", "/device"): {"application/x-www-form-urlencoded"},
    ("post", "/oauth/register"): {"application/json"},
    ("post", "/oauth/userinfo"): {"application/x-www-form-urlencoded"},
    # issue 14: draws
    ("post", "/draws"): {"application/json"},
    ("post", "/draws/{draw_id}/uploads"): {"application/json"},
    ("patch", "/draws/{draw_id}/uploads/{upload_id}"): {"application/octet-stream"},
    ("post", "/draws/{draw_id}/draw"): {"application/json"},
    ("post", "/draws/{draw_id}/check"): {"application/json"},
    ("post", "/draws/{draw_id}/receipt-credential"): {"application/json"},
}
# Writes whose whole request is the path: a step of a draw's state machine.
BODYLESS_WRITES = {
    ("post", "/draws/{draw_id}/commit"),
    ("post", "/draws/{draw_id}/uploads/{upload_id}/finish"),
    ("post", "/captures/{capture_id}/end"),
    ("post", "/captures/{capture_id}/live-ticket"),
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(  # the embedded default: SQLite in the data directory
        data_dir=tmp_path_factory.mktemp("openapi") / "data",
        server=ServerSettings(api_tokens=[SecretStr("o" * 40)]),
    )
    hub = open_hub(settings)
    try:
        with TestClient(create_app(hub, run_background=False)) as test_client:
            yield test_client
    finally:
        hub.close()


@pytest.fixture(scope="module")
def document(client: TestClient) -> dict[str, Any]:
    answer = client.get("/openapi.json")
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def test_every_route_with_a_body_documents_it(document: dict[str, Any]) -> None:
    found = {
        (method, path): set(operation["requestBody"]["content"])
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    }
    writes = {
        (method, path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in ("post", "put", "patch")
    }
    assert writes - BODYLESS_WRITES == set(found)  # no write without a documented body
    assert found == REQUEST_MEDIA_TYPES


def test_a_deposit_can_be_sent_from_the_docs_page(document: dict[str, Any]) -> None:
    body = document["paths"]["/evidence/deposits"]["post"]["requestBody"]
    form = body["content"]["multipart/form-data"]["schema"]
    assert form["properties"]["file"] == {"type": "string", "format": "binary"}  # a file picker
    assert {"title", "description", "tags", "mediaType", "sha256", "sm3"} <= set(form["properties"])
    assert body["content"]["application/json"]["schema"]["required"] == ["sha256"]
    verify = document["paths"]["/evidence/verify"]["post"]["requestBody"]["content"]
    assert verify["multipart/form-data"]["schema"]["properties"]["file"]["format"] == "binary"
    assert verify["application/json"]["schema"]["required"] == ["letter"]
    tsa = document["paths"]["/tsa"]["post"]["requestBody"]["content"]
    assert tsa["application/timestamp-query"]["schema"]["format"] == "binary"


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(document)


def _assets(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)=["']([^"']+)["']""", html) + re.findall(
        r"""url:\s*['"]([^'"]+)['"]""", html
    )


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_only_the_hubs_own_files(client: TestClient, page: str) -> None:
    answer = client.get(page)
    assert answer.status_code == 200
    assert "cdn." not in answer.text and "fonts.googleapis" not in answer.text
    assets = _assets(answer.text)
    assert any(a.endswith(".js") for a in assets), assets
    for asset in assets:
        assert asset.startswith("/"), asset  # same origin, nothing fetched from elsewhere
        fetched = client.get(asset)
        assert fetched.status_code == 200, asset
        if asset.endswith(".js"):
            assert "javascript" in fetched.headers["content-type"]
        if asset.endswith(".css"):
            assert fetched.headers["content-type"].startswith("text/css")
    assert "'self'" in answer.headers["content-security-policy"]
    assert "http" not in answer.headers["content-security-policy"]
