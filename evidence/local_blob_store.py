"""A :class:`~evidence.blob_store.BlobStore` on the local filesystem.

Layout under the store directory (directories 0o700, files 0o600)::

    keyed/ab/cd/abcd…(64 hex digits)   one envelope (evidence.envelope) per content, named
                                       by BlobNames (HMAC-SHA256 of its SHA-256, issue 9 #11)
    tmp/<random>.tmp                   uploads in progress
    tmp/.lock                          serialises temp-file creation with the sweep

Stores made before issue 9 named each envelope by the content's SHA-256 itself, under
``objects/ab/cd/``. Opening a store moves those to their keyed names (``rename``, one
file at a time), then removes the emptied ``objects/`` tree. Migrating rather than
looking up both names, because the point is that a listing no longer confirms which
files are stored, and a rename is atomic and costs no copy: a crash leaves each
envelope under one of its names, and the next open finishes the move. (The envelope
binds its content's SHA-256, not its file name, so a moved envelope opens unchanged.)
A hub of an older version must not run on the same directory meanwhile: it would
not find the moved blobs. Opening also tightens the store's directories to 0o700 if
they were looser (say, restored from a backup under another umask), and logs it.

A writer streams ciphertext into its temporary file, then fsyncs it, hard-links it to
its content address (``link`` fails if the address is taken, which is how a second
copy of the same content is detected without overwriting the first) and fsyncs the
directory (the durability recipe of POSIX ``fsync``/``rename``, as the key store uses).
A crash leaves only temporary files. Each writer holds an ``flock`` on its file, and
opening the store removes every temporary file nobody holds; the shared/exclusive lock
on ``tmp/.lock`` closes the gap between a writer creating its file and locking it.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import logging
import os
import re
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

from evidence.blob_store import BlobNames, EncryptingBlobWriter, check_sha256
from evidence.digests import Digests
from evidence.envelope import DEFAULT_CHUNK_SIZE, decrypt, plaintext_size, read_header
from evidence.errors import BlobNotFound, BlobStoreUnavailable
from evidence.key_encryption import KeyEncryptionKey

__all__ = ["LocalBlobStore", "LocalBlobWriter"]

log = logging.getLogger(__name__)

_TMP_SUFFIX = ".tmp"
_LOCK_NAME = ".lock"
_LEGACY_DIR = "objects"  # digest-named envelopes of stores made before issue 9
_HEX_NAME = re.compile(r"[0-9a-f]{64}")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _tighten(directory: Path) -> None:
    """Mode 0o700 for a directory that was looser; logged (a path, no content)."""
    mode = stat.S_IMODE(os.stat(directory).st_mode)
    if mode & 0o077:
        os.chmod(directory, 0o700)
        log.warning("tightened blob store directory %s from %o to 700", directory, mode)


def _make_dir(path: Path) -> None:
    """Create ``path`` (0o700) and its missing parents durably."""
    if path.is_dir():
        return
    _make_dir(path.parent)
    with contextlib.suppress(FileExistsError):  # a concurrent writer made it
        path.mkdir(mode=0o700)
        os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask
        _fsync_dir(path.parent)


@contextlib.contextmanager
def _flocked(path: Path, operation: int) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, operation)
        yield
    finally:
        os.close(fd)  # releases the lock


class LocalBlobWriter(EncryptingBlobWriter):
    def __init__(
        self, store: LocalBlobStore, kek: KeyEncryptionKey, *, max_size: int, chunk_size: int
    ) -> None:
        self._owner = store
        self._tmp = store.tmp_dir / (secrets.token_hex(16) + _TMP_SUFFIX)
        try:
            with _flocked(store.tmp_dir / _LOCK_NAME, fcntl.LOCK_SH):
                fd = os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
                # A FileIO closes the descriptor (so releases the lock) even if the writer
                # is dropped without commit or abort; the next sweep then removes the file.
                self._file = io.FileIO(fd, "wb", closefd=True)
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            self._discard()
            raise BlobStoreUnavailable(
                f"cannot create a temporary blob file: {exc.strerror}"
            ) from None
        super().__init__(kek, max_size=max_size, chunk_size=chunk_size)

    def _sink(self, ciphertext: bytes) -> None:
        view = memoryview(ciphertext)
        try:
            while view:
                written = self._file.write(view)
                view = view[written or 0 :]
        except OSError as exc:
            raise BlobStoreUnavailable(f"cannot write the blob: {exc.strerror}") from None

    def _store(self, digests: Digests) -> bool:
        target = self._owner.path(digests.sha256)
        try:
            os.fsync(self._file.fileno())
            _make_dir(target.parent)
            try:
                os.link(self._tmp, target)
                created = True
            except FileExistsError:
                created = False
            if created:
                _fsync_dir(target.parent)
        except OSError as exc:
            raise BlobStoreUnavailable(f"cannot store the blob: {exc.strerror}") from None
        self._discard()
        return created

    def _discard(self) -> None:
        # Unlink before closing: a file is never unlocked while it still has its name.
        with contextlib.suppress(OSError):
            os.unlink(self._tmp)
        file = getattr(self, "_file", None)
        if file is not None:
            with contextlib.suppress(OSError):
                file.close()


class LocalBlobStore:
    """Encrypted content-addressed blobs in ``directory`` (see the module docstring)."""

    def __init__(
        self,
        directory: Path,
        kek: KeyEncryptionKey,
        *,
        names: BlobNames,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        self._root = Path(directory)
        self._kek = kek
        self._names = names
        self._chunk_size = chunk_size
        self.objects_dir = self._root / "keyed"
        self.tmp_dir = self._root / "tmp"
        try:
            for directory_ in (self._root, self.objects_dir, self.tmp_dir):
                _make_dir(directory_)
            self._tighten_directories()
            self.remove_abandoned_uploads()
            self.migrate_legacy_names()
        except OSError as exc:
            raise BlobStoreUnavailable(
                f"cannot open the blob store at {self._root}: {exc}"
            ) from None

    @property
    def directory(self) -> Path:
        return self._root

    def path(self, sha256: bytes) -> Path:
        """Where the object for ``sha256`` lives (whether or not it exists)."""
        name = self._names.name(check_sha256(sha256))
        return self.objects_dir / name[:2] / name[2:4] / name

    def _tighten_directories(self) -> None:
        for directory in (self._root, self.objects_dir, self.tmp_dir):
            _tighten(directory)
        # The fan-out levels only: listing the last level would list every blob.
        for first in self.objects_dir.iterdir():
            if first.is_dir():
                _tighten(first)
                for second in first.iterdir():
                    if second.is_dir():
                        _tighten(second)

    def migrate_legacy_names(self) -> int:
        """Move digest-named envelopes (``objects/``) to their keyed names; how many moved.

        Idempotent and safe to interrupt (see the module docstring). Only files whose
        name is a SHA-256 in its own fan-out directories are moved; anything else is left.
        """
        legacy = self._root / _LEGACY_DIR
        if not legacy.is_dir():
            return 0
        moved = 0
        for first in sorted(legacy.iterdir()):
            for second in sorted(first.iterdir()) if first.is_dir() else ():
                for entry in sorted(second.iterdir()) if second.is_dir() else ():
                    name = entry.name
                    if not _HEX_NAME.fullmatch(name) or (name[:2], name[2:4]) != (
                        first.name,
                        second.name,
                    ):
                        continue
                    target = self.path(bytes.fromhex(name))
                    _make_dir(target.parent)
                    try:
                        # Same content under either name: replacing a twin is harmless.
                        os.rename(entry, target)
                    except FileNotFoundError:  # another process moved it first
                        continue
                    # rename(2) does nothing when both names are links to one file (a move
                    # interrupted after linking): the old name must still go.
                    with contextlib.suppress(FileNotFoundError):
                        entry.unlink()
                    _fsync_dir(target.parent)
                    moved += 1
                with contextlib.suppress(OSError):  # not empty: something else lives there
                    second.rmdir()
            with contextlib.suppress(OSError):
                first.rmdir()
        with contextlib.suppress(OSError):
            legacy.rmdir()
            _fsync_dir(self._root)
        if moved:
            # A count only: the names moved away from are the digests this hides.
            log.warning(
                "moved %d blob(s) from digest names to keyed names in %s", moved, self._root
            )
        return moved

    def remove_abandoned_uploads(self) -> int:
        """Delete temporary files no live writer holds (crashed uploads); how many."""
        removed = 0
        with _flocked(self.tmp_dir / _LOCK_NAME, fcntl.LOCK_EX):
            for entry in self.tmp_dir.iterdir():
                if not entry.name.endswith(_TMP_SUFFIX):
                    continue
                try:
                    fd = os.open(entry, os.O_RDONLY | os.O_CLOEXEC)
                except FileNotFoundError:
                    continue
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    pass  # a writer is using it
                else:
                    with contextlib.suppress(FileNotFoundError):
                        entry.unlink()
                        removed += 1
                finally:
                    os.close(fd)
        return removed

    def writer(self, *, max_size: int) -> LocalBlobWriter:
        return LocalBlobWriter(self, self._kek, max_size=max_size, chunk_size=self._chunk_size)

    def _open_file(self, sha256: bytes) -> io.FileIO:
        try:
            return io.FileIO(self.path(sha256), "rb")
        except FileNotFoundError:
            raise BlobNotFound(f"no blob {sha256.hex()}") from None
        except OSError as exc:
            raise BlobStoreUnavailable(f"cannot read blob {sha256.hex()}: {exc.strerror}") from None

    def open(self, sha256: bytes) -> Iterator[bytes]:
        file = self._open_file(sha256)
        try:
            chunks = decrypt(file, self._kek, sha256)
        except BaseException:
            file.close()
            raise
        return _closing_chunks(file, chunks, sha256)

    def exists(self, sha256: bytes) -> bool:
        return self.path(sha256).is_file()

    def stat(self, sha256: bytes) -> int | None:
        try:
            file = self._open_file(sha256)
        except BlobNotFound:
            return None
        with file:
            try:
                header, header_bytes = read_header(file)
                stored_size = os.fstat(file.fileno()).st_size
            except OSError as exc:
                raise BlobStoreUnavailable(f"cannot read blob {sha256.hex()}: {exc}") from None
        return plaintext_size(len(header_bytes), header.chunk_size, stored_size)

    def delete(self, sha256: bytes) -> None:
        path = self.path(sha256)
        try:
            os.unlink(path)
            _fsync_dir(path.parent)
        except FileNotFoundError:
            raise BlobNotFound(f"no blob {sha256.hex()}") from None
        except OSError as exc:
            raise BlobStoreUnavailable(
                f"cannot delete blob {sha256.hex()}: {exc.strerror}"
            ) from None

    def __repr__(self) -> str:
        return f"LocalBlobStore(directory={str(self._root)!r}, kek={self._kek!r}, names=keyed)"


def _closing_chunks(file: io.FileIO, chunks: Iterator[bytes], sha256: bytes) -> Iterator[bytes]:
    with file:
        try:
            yield from chunks
        except OSError as exc:
            raise BlobStoreUnavailable(f"cannot read blob {sha256.hex()}: {exc}") from None
