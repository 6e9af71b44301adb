"""The small holes of issue 9, item 9, against the real app (embedded chain, in process).

Path integers past 64 bits, a multipart ``filename`` whose quoted string never
ends, the security headers on every answer (errors included), no ``Server``
banner, and the docs pages switched off in production.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from did_registry.did_key import did_key
from hub_kernel.multiformats import ED25519
from notary_hub.app import create_app
from notary_hub.hub import Hub, open_hub
from notary_hub.settings import DatabaseSettings, ServerSettings, Settings
from tests.fixtures.hub_app import AUTH
from tests.fixtures.hub_process import HubProcess

DEPOSITOR = {"Depositor": did_key(ED25519, bytes(range(32))), **AUTH}
HEADERS = {
    "content-security-policy",
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
}


def test_path_integers_are_bounded(hub_client: TestClient) -> None:
    for item in ("99999999999999999999", str(2**63), "0", "-1"):
        response = hub_client.get(f"/anchoring/items/{item}", headers=AUTH)
        assert response.status_code == 422, (item, response.text)
        assert response.json()["error"] == "invalid_request"
    assert hub_client.get(f"/anchoring/items/{2**63 - 1}", headers=AUTH).status_code == 404


def test_an_unterminated_quoted_file_name_is_refused(hub_client: TestClient) -> None:
    body = (
        b'--B\r\nContent-Disposition: form-data; name="file"; filename="contract.pdf\r\n'
        b"Content-Type: application/pdf\r\n\r\n%PDF-1.7\r\n--B--\r\n"
    )
    response = hub_client.post(
        "/evidence/deposits",
        content=body,
        headers={**DEPOSITOR, "content-type": "multipart/form-data; boundary=B"},
    )
    assert response.status_code == 400, response.text
    assert "unterminated quoted string" in response.json()["message"]
    escaped = body.replace(b'filename="contract.pdf', b'filename="a \\"quoted\\" name.pdf"')
    accepted = hub_client.post(
        "/evidence/deposits",
        content=escaped,
        headers={**DEPOSITOR, "content-type": "multipart/form-data; boundary=B"},
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["fileName"] == 'a "quoted" name.pdf'


def test_every_response_carries_the_security_headers(hub_client: TestClient) -> None:
    answers = [
        hub_client.get("/healthz"),
        hub_client.get("/no-such-route"),
        hub_client.post("/evidence/deposits", json={"sha256": "zz"}, headers=DEPOSITOR),
        hub_client.post("/rpc", content=b"{", headers={"content-type": "application/json"}),
        hub_client.get("/anchoring/queue"),  # 401
    ]
    for response in answers:
        assert set(response.headers) >= HEADERS, (response.status_code, response.headers)
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "server" not in response.headers
    docs = hub_client.get("/docs")
    assert docs.status_code == 200  # dev mode: on
    policy = docs.headers["content-security-policy"]
    assert "script-src 'self' 'unsafe-inline';" in policy  # served offline: no CDN
    assert "https:" not in policy and "http:" not in policy


def test_docs_follow_the_setting_and_are_off_in_production(
    tmp_path: Path, db_url: str, engine: object
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        database=DatabaseSettings(url=db_url),
        server=ServerSettings(api_tokens=[SecretStr("t" * 40)], docs=False),
    )
    hub: Hub = open_hub(settings)
    try:
        with TestClient(create_app(hub)) as client:
            for path in ("/docs", "/redoc", "/openapi.json", "/docs/static/swagger-ui.css"):
                assert client.get(path).status_code == 404, path
    finally:
        hub.close()
    default = ServerSettings()
    assert default.docs_enabled(dev=False) is False  # production
    assert default.docs_enabled(dev=True) is True
    assert ServerSettings(docs=True).docs_enabled(dev=False) is True


@pytest.mark.slow
def test_a_served_hub_sends_no_server_banner(hub_process: HubProcess) -> None:
    hub_process.start()
    response = httpx.get(f"{hub_process.url}/healthz", timeout=5)
    assert response.status_code == 200
    assert "server" not in response.headers
    assert set(response.headers) >= HEADERS
    raw = subprocess.run(
        ["curl", "-si", f"{hub_process.url}/healthz"], capture_output=True, text=True, timeout=10
    ).stdout
    assert not re.search(r"(?im)^server:", raw), raw


def test_consortium_ids_are_bounded(hub_client: TestClient) -> None:
    huge = "99999999999999999999"
    assert hub_client.get(f"/consortium/applications/{huge}", headers=AUTH).status_code == 422
    vote = hub_client.post(
        f"/consortium/proposals/{huge}/votes", json={"support": True}, headers=AUTH
    )
    assert vote.status_code == 422, vote.text
