"""The bundled JSON-LD contexts are the published ones, and the loader serves nothing else."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from credentials.errors import ContextError
from credentials.jsonld.contexts import (
    BITSTRING_STATUS_LIST_V1,
    CONTEXT_FILES,
    CREDENTIALS_V2,
    DATA_INTEGRITY_V2,
    DID_V1,
    MULTIKEY_V1,
)
from credentials.jsonld.document_loader import document_loader, load_context
from credentials.jsonld.rdfc import PyldCanonicalizer

NODE_MODULES = Path(__file__).resolve().parents[3] / "node_modules"

# URL -> the file Digital Bazaar's npm context package (or did-context) publishes for it.
PUBLISHED = {
    CREDENTIALS_V2: "@digitalbazaar/credentials-context/contexts/v2.jsonld",
    DATA_INTEGRITY_V2: "@digitalbazaar/data-integrity-context/contexts/data-integrity-v2.jsonld",
    MULTIKEY_V1: "@digitalbazaar/multikey-context/contexts/multikey-v1.jsonld",
    DID_V1: "did-context/contexts/did-v1.jsonld",
    BITSTRING_STATUS_LIST_V1: (
        "@digitalbazaar/vc-bitstring-status-list-context/contexts/vc-bitstring-status-list-v1.jsonld"
    ),
}


@pytest.mark.parametrize("url", sorted(PUBLISHED))
def test_bundled_context_is_byte_identical_to_the_npm_package(url: str) -> None:
    bundled = (
        resources.files("credentials.jsonld.contexts").joinpath(CONTEXT_FILES[url]).read_bytes()
    )
    published = (NODE_MODULES / PUBLISHED[url]).read_bytes()
    assert bundled == published


@pytest.mark.parametrize("url", sorted(PUBLISHED))
def test_loader_serves_bundled_context(url: str) -> None:
    remote = document_loader(url, {})
    assert remote["documentUrl"] == url
    assert remote["contextUrl"] is None
    assert "@context" in remote["document"]
    assert load_context(url) == remote["document"]


def test_load_context_returns_a_private_copy() -> None:
    first = load_context(CREDENTIALS_V2)
    first["@context"]["tampered"] = "https://evil.example/#x"
    assert "tampered" not in load_context(CREDENTIALS_V2)["@context"]


@pytest.mark.parametrize(
    "url",
    [
        "https://www.w3.org/2018/credentials/v1",  # real, but not bundled
        "https://w3id.org/security/suites/ed25519-2020/v1",
        "https://evil.example/credentials/v2",
        "http://www.w3.org/ns/credentials/v2",  # the bundled one, but over http
        "https://www.w3.org/ns/credentials/v2/",  # near miss
        "file:///etc/passwd",
        "",
    ],
)
def test_loader_refuses_unknown_and_remote_urls(url: str) -> None:
    with pytest.raises(ContextError, match="only bundled contexts"):
        document_loader(url, {})
    with pytest.raises(ContextError, match="only bundled contexts"):
        load_context(url)


def test_canonicalizer_refuses_a_document_with_a_remote_context() -> None:
    document = {
        "@context": [CREDENTIALS_V2, "https://evil.example/context.jsonld"],
        "type": ["VerifiableCredential"],
    }
    with pytest.raises(ContextError, match=r"evil\.example"):
        PyldCanonicalizer().canonize(document)
