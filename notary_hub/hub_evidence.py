"""Start-up wiring of the evidence component: settings to backends, then ``open_evidence``.

Only composition: which blob store, and which timestamp authorities in which order
(the configured external ones first, then the embedded one when enabled, so an
external TSA that is down falls back to the next).
"""

from __future__ import annotations

from typing import Any

import boto3
from cryptography import x509
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.contract import BoundContract
from chain_adapter.parts import ChainParts
from credentials.parts import CredentialParts
from did_registry.notary_identity import NotaryIdentity
from evidence.blob_store import BlobNames, BlobStore
from evidence.draw.parts import DrawParts, open_draws
from evidence.key_encryption import LocalKeyEncryptionKey
from evidence.letter_issuer import LetterIssuer
from evidence.letter_pdf.build import LetterPdfs
from evidence.letter_pdf.publication import ensure_published
from evidence.letter_pdf.signing_keys import DocumentSigningKey
from evidence.local_blob_store import LocalBlobStore
from evidence.parts import EvidenceParts, open_evidence
from evidence.s3_blob_store import S3BlobStore
from evidence.timestamping import (
    EmbeddedTimestampAuthority,
    HttpTimestampAuthority,
    TimestampAuthority,
    TimestampClient,
    TsaKeyMaterial,
)
from evidence.timestamping.tsa_http import TSA_CERTS_PATH
from hub_kernel.keystore import KeyStore, load_master_key
from notary_hub.hub_capture import open_captures_from
from notary_hub.settings import Settings


def open_blob_store(settings: Settings) -> BlobStore:
    secret = settings.keys.master_key.get_secret_value() if settings.keys.master_key else None
    master = load_master_key(secret, settings.master_key_path, create=settings.dev)
    # Both from the master key, each with its own HKDF label: wrapping keys, naming blobs.
    kek, names = LocalKeyEncryptionKey(master), BlobNames(master)
    cfg = settings.evidence
    if cfg.blob_store == "s3":
        client: Any = boto3.client(
            "s3", endpoint_url=cfg.s3_endpoint_url, region_name=cfg.s3_region
        )
        assert cfg.s3_bucket is not None  # Settings refuses s3 without a bucket
        return S3BlobStore(client, cfg.s3_bucket, kek, names=names, prefix=cfg.s3_prefix)
    return LocalBlobStore(cfg.blob_dir or settings.data_dir / "blobs", kek, names=names)


def trust_roots(settings: Settings) -> list[x509.Certificate]:
    path = settings.timestamps.trust_roots_file
    return x509.load_pem_x509_certificates(path.read_bytes()) if path is not None else []


def open_evidence_from(
    settings: Settings,
    *,
    sessions: sessionmaker[Session],
    keystore: KeyStore,
    chain_parts: ChainParts,
    credentials: CredentialParts,
    notary: NotaryIdentity | None = None,
    context_url: str | None = None,
    public_url: str | None = None,
    created: list[str] | None = None,
) -> EvidenceParts:
    """:func:`evidence.parts.open_evidence` with the backends ``settings`` names;
    ``context_url``: where letters say the hub's context document can be fetched."""
    roots = trust_roots(settings)
    cfg = settings.timestamps
    authorities: list[TimestampAuthority] = [
        HttpTimestampAuthority(url, timeout=cfg.timeout, trust_roots=roots or None)
        for url in cfg.urls
    ]
    tsa = None
    if cfg.embedded:
        material = TsaKeyMaterial.load_or_create(keystore, settings.data_dir / "tsa")
        tsa = EmbeddedTimestampAuthority(material)
        authorities.append(tsa)
        roots = [*roots, material.root_certificate]
    pdfs = None
    if notary is not None and authorities:
        timestamps = TimestampClient(list(authorities), retries=cfg.retries)
        pdfs = letter_pdfs(settings, keystore, notary, timestamps, public_url or "", created)
    parts = open_evidence(
        sessions=sessions,
        chain=chain_parts.chain,
        queue=chain_parts.queue,
        batcher=chain_parts.batcher,
        blobs=open_blob_store(settings),
        authorities=authorities,
        tsa=tsa,
        tsa_roots=roots,
        issuer=credentials.issuer,
        verifier=credentials.verifier,
        trust=credentials.trust,
        timestamp_retries=cfg.retries,
        max_upload_bytes=settings.evidence.max_upload_bytes,
        poll_seconds=settings.evidence.poll_seconds,
        lease_seconds=settings.evidence.lease_seconds,
        pipeline_batch_size=settings.evidence.pipeline_batch_size,
        context_url=context_url,
        tsa_certificates_url=f"{public_url}{TSA_CERTS_PATH}" if public_url else None,
        letter_pdfs=pdfs,
        extra_receipts=chain_parts.extra_receipts,
        wait_for_extra_chains=settings.anchoring.extra_chains_policy == "wait",
    )
    registry = chain_parts.deployment.draw_registry
    if registry is not None and authorities:
        letters = LetterIssuer(credentials.issuer, service="draws")
        parts.draws = open_draws_from(
            settings, sessions, keystore, chain_parts, parts, registry, letters, context_url, pdfs
        )
    if settings.captures.enabled and authorities:  # issue 15: remote captures
        parts.captures = open_captures_from(
            settings,
            sessions,
            keystore,
            chain_parts,
            credentials,
            parts,
            context_url,
            public_url,
            pdfs,
        )
    return parts


def open_draws_from(
    settings: Settings,
    sessions: sessionmaker[Session],
    keystore: KeyStore,
    chain_parts: ChainParts,
    evidence: EvidenceParts,
    registry: BoundContract,
    letters: LetterIssuer,
    context_url: str | None,
    pdfs: LetterPdfs | None,
) -> DrawParts:
    """The draw service (issue 14) with the ``draws`` settings: relays, networks, lead."""
    cfg = settings.draws
    networks = {
        n.network: {
            "chainHash": n.chain_hash,
            "publicKey": n.public_key,
            "genesis": n.genesis,
            "period": n.period,
        }
        for n in cfg.beacons
    }
    return open_draws(
        sessions=sessions,
        blobs=evidence.blobs,
        keystore=keystore,
        directory=settings.data_dir / "draws",
        registry=registry,
        transactor=chain_parts.transactor,
        timestamps=evidence.timestamps,
        relays=cfg.relays,
        networks=networks,
        relay_timeout=cfg.relay_timeout,
        min_lead_seconds=cfg.min_commit_lead_seconds,
        max_chunk_bytes=cfg.max_chunk_bytes,
        letter_issuer=letters,
        context_url=context_url,
        letter_pdfs=pdfs,
    )


def letter_pdfs(
    settings: Settings,
    keystore: KeyStore,
    notary: NotaryIdentity,
    authority: TimestampAuthority,
    public_url: str,
    created: list[str] | None,
) -> LetterPdfs:
    """The notary's document-signing key (created on first start), its fingerprint
    published on the notary's DID when missing, and the PDF maker using them."""
    key = DocumentSigningKey.load_or_create(
        keystore,
        settings.data_dir / "documents",
        notary.did,
        organisation=settings.chain.organisation_name,
    )
    if ensure_published(notary, key.fingerprint) is not None and created is not None:
        created.append(f"document-signing certificate {key.fingerprint} published for {notary.did}")
    published_at = notary.registrar.head_timestamp()
    return LetterPdfs(
        key, authority, settings.chain.organisation_name, public_url, published_at=published_at
    )
