"""What ``notary-hub verify`` reads before it asks the chain: the document (JSON, a JWT, or
a PDF letter, told apart by PDF's ``%PDF-`` header), status lists, TSA roots and trusted
issuers, from files or (status lists, TSA roots) URLs.

A URL is fetched once, without redirects, with a timeout and a size cap. A TSA root
may be a URL serving a PEM chain, as the hub's ``GET /tsa/certs`` does
(``application/pem-certificate-chain``, RFC 8555 §9.1,
https://www.rfc-editor.org/rfc/rfc8555#section-9.1): its self-signed certificates are
the roots trusted (all of them, if none is self-signed).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509

from chain_adapter.jsonrpc_chain import JsonRpcChain
from chain_adapter.protocol import Chain
from evidence.letter_pdf.verify import MAX_PDF_BYTES, is_pdf
from hub_kernel.json_guard import too_deep
from notary_hub.cli_support import fail

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
MAX_STATUS_LIST_BYTES = 4 * 1024 * 1024
MAX_CERTIFICATES_BYTES = 256 * 1024
FETCH_TIMEOUT = 10.0


def is_url(source: str) -> bool:
    return source.startswith(("https://", "http://"))


def read_document(file: Path) -> Any:
    try:
        size = file.stat().st_size
    except OSError as exc:
        fail("file_not_found", f"{file}: {exc.strerror}", 2)
    if size > MAX_DOCUMENT_BYTES:
        fail("document_too_large", f"{file} is {size} bytes; the limit is {MAX_DOCUMENT_BYTES}")
    text = file.read_text("utf-8", errors="replace").strip()
    if text.count(".") == 2 and not text.startswith(("{", "[")):
        return text  # a compact vc+jwt / vp+jwt
    if too_deep(text):
        fail("invalid_document", f"{file} nests JSON too deeply")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(
            "invalid_document", f"{file} is neither JSON nor a JWT: {exc.msg} at line {exc.lineno}"
        )


def read_pdf(file: Path) -> bytes | None:
    """The bytes of ``file`` if it is a PDF (its ``%PDF-`` header), else ``None``."""
    try:
        with file.open("rb") as handle:
            head = handle.read(1024)
            if not is_pdf(head):
                return None
            handle.seek(0)
            data = handle.read(MAX_PDF_BYTES + 1)
    except OSError as exc:
        fail("file_not_found", f"{file}: {exc.strerror}", 2)
    if len(data) > MAX_PDF_BYTES:
        fail("document_too_large", f"{file} is larger than {MAX_PDF_BYTES} bytes")
    return data


def fetch(url: str, limit: int, what: str) -> bytes:
    """``url``'s body, at most ``limit`` bytes; ``<what>_too_large`` / ``_unavailable``."""
    try:
        with httpx.stream("GET", url, timeout=FETCH_TIMEOUT, follow_redirects=False) as response:
            response.raise_for_status()
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > limit:
                    fail(f"{what}_too_large", f"{url} is larger than {limit} bytes")
    except httpx.HTTPError as exc:
        fail(f"{what}_unavailable", f"{url}: {exc}")
    return body


def status_list(source: str) -> dict[str, Any]:
    if is_url(source):
        text = fetch(source, MAX_STATUS_LIST_BYTES, "status_list").decode("utf-8", "replace")
    else:
        path = Path(source)
        if not path.is_file():
            fail("file_not_found", f"status list {source} is not a file", 2)
        text = path.read_text("utf-8", errors="replace")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        fail("invalid_status_list", f"{source} is not JSON: {exc.msg}")
    if not isinstance(document, dict):
        fail("invalid_status_list", f"{source} is not a JSON object")
    return document


def tsa_roots(source: str) -> list[x509.Certificate]:
    """The roots in a PEM file or at a URL serving PEM (a chain: its self-signed ones)."""
    if is_url(source):
        pem = fetch(source, MAX_CERTIFICATES_BYTES, "tsa_root")
    else:
        try:
            pem = Path(source).read_bytes()
        except OSError as exc:
            fail("file_not_found", f"{source}: {exc.strerror}", 2)
    try:
        chain = x509.load_pem_x509_certificates(pem)
    except ValueError:
        fail("invalid_certificate", f"{source} holds no PEM certificate", 2)
    roots = [c for c in chain if c.subject == c.issuer]
    return roots or chain


def trust_file(path: Path) -> list[str]:
    """A trust file: a JSON array of DIDs, or one DID a line (``#`` comments)."""
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        fail("file_not_found", f"{path}: {exc.strerror}", 2)
    if text.lstrip().startswith("["):
        try:
            dids = json.loads(text)
        except json.JSONDecodeError as exc:
            fail("invalid_trust_file", f"{path} is not a JSON array: {exc.msg}", 2)
        if not isinstance(dids, list) or not all(isinstance(d, str) for d in dids):
            fail("invalid_trust_file", f"{path} must be a JSON array of DID strings", 2)
        return dids
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


@contextmanager
def connected_chains(urls: Sequence[str]) -> Iterator[tuple[JsonRpcChain, dict[int, Chain]]]:
    """The first ``--rpc`` (the hub's chain: the notary's DID, status lists, consortium)
    and the others by the chain id their node answers (issue 16: the receipts anchored
    there are checked on them). Two nodes of one chain id are a usage error."""
    chains: list[JsonRpcChain] = []
    try:
        for url in urls:
            chains.append(
                JsonRpcChain.connect(url, expected_chain_id=None, timeout=10.0, retries=2)
            )
        by_id: dict[int, Chain] = {}
        for chain in chains:
            if chain.chain_id in by_id:
                fail("duplicate_rpc", f"two --rpc nodes serve chain {chain.chain_id}", 2)
            by_id[chain.chain_id] = chain
        primary = chains[0]
        yield primary, {i: c for i, c in by_id.items() if i != primary.chain_id}
    finally:
        for chain in chains:
            chain.close()
