"""Sealing a capture: its package built, stamped, anchored, stored encrypted and certified.

Issue 15 item 6, through the stages the deposit pipeline uses: the package's SHA-256 is
RFC 3161-stamped by the hub's timestamp authorities (RFC 3161 §2.4.1: the
messageImprint), enqueued as a leaf of kind ``capture`` in the batch anchorer
(:class:`~chain_adapter.anchoring.queue.AnchorQueue`, RFC 9162 receipts), stored in the
encrypted blob store under its SHA-256, and certified by the notary's letter issuer
(:class:`~evidence.capture.capture_letter.CaptureLetters`).

Trust boundary: the notary seals only a session its own process recorded (the row is
``ending`` under this process's lease, or ``interrupted``, or a crashed sealer's
``sealing``: :meth:`CaptureService.sealing`), and only files whose SHA-256 still matches
the chain entry that recorded them (:func:`~.session_package.seal_package`). A failure at
any point leaves no half-sealed capture: the partial package is deleted, the error kept
on the row and the capture offered for sealing again (:meth:`CaptureService.seal_failed`).
"""

from __future__ import annotations

import hashlib
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from chain_adapter.anchoring.extra_receipts import ExtraReceipts
from chain_adapter.anchoring.queue import AnchorQueue
from chain_adapter.anchoring.receipt import AnchorReceipt
from evidence.blob_store import BlobStore
from evidence.capture.capture_letter import CaptureLetters, KeyItem, SealedCapture
from evidence.capture.clips import CLIP_FOLDER
from evidence.capture.errors import CaptureError
from evidence.capture.models import CaptureRecord
from evidence.capture.service import CaptureService
from evidence.capture.session_package import seal_package
from evidence.capture.session_record import RecordedSession
from evidence.capture.wacz_signing import REPLAYWEB_CURVE, WaczSigner
from evidence.timestamping.protocol import TimestampAuthority
from hub_kernel.keystore import KeyStore

__all__ = ["ANCHOR_KIND", "KEY_ITEM_KINDS", "CaptureSealer", "SealFailed", "load_wacz_key"]

ANCHOR_KIND = "capture"
#: What the user took deliberately: each is named in the letter with its digest (and each
#: clip the user marked, cut from the video: :mod:`.clips`).
KEY_ITEM_KINDS = frozenset({"screenshot", "original", "note"})
WACZ_KEY_NAME = "capture-wacz-signing"
_WACZ_KEY_KIND = "ecdsa-p384-pkcs8"
_COPY_CHUNK = 1 << 20


class SealFailed(CaptureError):
    """Sealing did not finish; the capture is offered for sealing again."""

    code = "capture_seal_failed"
    status_code = 503


def load_wacz_key(keystore: KeyStore) -> ec.EllipticCurvePrivateKey:
    """The notary's WACZ signing key (P-384: :mod:`.wacz_signing`), created on first use
    and kept encrypted in the key store."""
    if not keystore.exists(WACZ_KEY_NAME):
        key = ec.generate_private_key(REPLAYWEB_CURVE())
        der = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        keystore.put(WACZ_KEY_NAME, der, kind=_WACZ_KEY_KIND)
    loaded = serialization.load_der_private_key(keystore.get(WACZ_KEY_NAME), password=None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise SealFailed("the stored WACZ signing key is not an elliptic-curve key")
    return loaded


@dataclass(frozen=True)
class _Package:
    path: Path
    sha256: bytes
    size: int
    datapackage_sha256: bytes


class CaptureSealer:
    """Seals one capture at a time, as ``holder`` (this process's lease name)."""

    def __init__(
        self,
        service: CaptureService,
        *,
        blobs: BlobStore,
        signer: Callable[[], WaczSigner],
        letters: CaptureLetters,
        authority: TimestampAuthority,
        anchors: AnchorQueue,
        holder: str,
        max_package_bytes: int,
        anchor_timeout: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        wait_for_extra: ExtraReceipts | None = None,
    ) -> None:
        """``wait_for_extra``: the ``wait`` policy of issue 16, the letter issued only once
        the package's root is on every extra chain too (within ``anchor_timeout``)."""
        self._service = service
        self._blobs = blobs
        self._signer_source = signer
        self._signer: WaczSigner | None = None
        self._letters = letters
        self._authority = authority
        self._anchors = anchors
        self.holder = holder
        self._max_package_bytes = max_package_bytes
        self._anchor_timeout = anchor_timeout
        self._sleep = sleep
        self._wait_for = wait_for_extra

    def seal(self, capture_id: str, recorded: RecordedSession) -> CaptureRecord:
        """``recorded`` sealed: ``sealed`` with its package's digest and letter, or
        :class:`SealFailed` (the error kept on the row, the capture offered again)."""
        record = self._service.sealing(capture_id, self.holder)
        output = recorded.directory.parent / f"{recorded.directory.name}.wacz"
        try:
            package = self._package(recorded, output)
            token = self._authority.timestamp(package.sha256, hash_algorithm="sha256")
            receipt = self._anchor(capture_id, package.sha256)
            self._store(package)
            letter = self._letters.issue(self._sealed(record, recorded, package), token, receipt)
        except Exception as error:
            message = error.message if isinstance(error, CaptureError) else repr(error)
            self._service.seal_failed(capture_id, self.holder, message)
            raise SealFailed(f"capture {capture_id} was not sealed: {message}") from error
        finally:
            output.unlink(missing_ok=True)
        return self._service.sealed(
            capture_id, package.sha256, package.size, letter, holder=self.holder
        )

    @property
    def signer(self) -> WaczSigner:
        """The notary's WACZ signer, loaded (or created) on the first seal."""
        if self._signer is None:
            self._signer = self._signer_source()
        return self._signer

    def _package(self, recorded: RecordedSession, output: Path) -> _Package:
        path = seal_package(recorded, self.signer, output)
        size = path.stat().st_size
        if size > self._max_package_bytes:
            raise SealFailed(f"the package is {size} bytes, over {self._max_package_bytes}")
        digest = hashlib.sha256()
        with path.open("rb") as stream:
            while chunk := stream.read(_COPY_CHUNK):
                digest.update(chunk)
        with zipfile.ZipFile(path) as archive:
            datapackage = hashlib.sha256(archive.read("datapackage.json")).digest()
        return _Package(path, digest.digest(), size, datapackage)

    def _anchor(self, capture_id: str, leaf: bytes) -> AnchorReceipt:
        """The package's leaf on chain: enqueued, then awaited while the batcher anchors
        it, the sealing lease renewed meanwhile."""
        (item,) = self._anchors.enqueue_many([leaf], ANCHOR_KIND)
        deadline = time.monotonic() + self._anchor_timeout
        while (receipt := self._anchors.receipt(item)) is None or not self._everywhere(receipt):
            if time.monotonic() > deadline:
                raise SealFailed(f"the package was not anchored within {self._anchor_timeout} s")
            self._service.renew(capture_id, self.holder)
            self._sleep(0.2)
        return receipt

    def _everywhere(self, receipt: AnchorReceipt) -> bool:
        if self._wait_for is None:
            return True
        return self._wait_for.complete(self._wait_for.receipts([receipt])[0])

    def _store(self, package: _Package) -> None:
        writer = self._blobs.writer(max_size=self._max_package_bytes)
        try:
            with package.path.open("rb") as stream:
                while chunk := stream.read(_COPY_CHUNK):
                    writer.write(chunk)
            writer.commit(expected_sha256=package.sha256)
        except BaseException:
            writer.abort()
            raise

    def _sealed(
        self, record: CaptureRecord, recorded: RecordedSession, package: _Package
    ) -> SealedCapture:
        interrupted = record.interrupted or recorded.interrupted
        reason = record.interruption_reason or recorded.interruption_reason
        key_items = tuple(
            KeyItem(item.path, item.kind, bytes.fromhex(item.sha256))
            for item in recorded.files
            if item.kind in KEY_ITEM_KINDS or item.path.startswith(f"{CLIP_FOLDER}/")
        )
        return SealedCapture(
            capture_id=record.id,
            subject=record.owner,
            started_at=record.started_at or recorded.started_at,
            ended_at=record.ended_at or recorded.ended_at,
            preflight_sha256=bytes.fromhex(recorded.preflight_sha256),
            package_sha256=package.sha256,
            datapackage_sha256=package.datapackage_sha256,
            wacz_public_key=self.signer.public_key,
            chain_head=recorded.chain_head,
            chain_length=recorded.chain_length,
            key_items=key_items,
            interrupted=interrupted,
            interruption_reason=(reason or "interrupted") if interrupted else None,
            target_url=record.target,
        )
