"""The streaming multipart parser, writing into the real encrypted local blob store."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping

import pytest

from evidence.errors import InvalidDeposit, InvalidFileName, TruncatedUpload, UploadTooLarge
from evidence.local_blob_store import LocalBlobStore, LocalBlobWriter
from evidence.multipart import FormUploadParser, check_file_name, multipart_boundary
from tests.evidence.deposit_support import blob_files, blobs, chunks_of, multipart_body

__all__ = ["blobs"]  # the fixture, used by name below


class Opened:
    """Opens the store's writers as the parser asks, remembering them."""

    def __init__(self, store: LocalBlobStore, max_size: int = 1 << 20) -> None:
        self.store = store
        self.max_size = max_size
        self.count = 0

    def __call__(self, fields: Mapping[str, str]) -> LocalBlobWriter:
        self.count += 1
        return self.store.writer(max_size=self.max_size)


def parse(body: bytes, content_type: str, opened: Opened, **kwargs: int) -> FormUploadParser:
    parser = FormUploadParser(content_type, opened, **kwargs)
    for chunk in chunks_of(body, 1013):
        parser.feed(chunk)
    return parser


def test_a_file_streams_into_the_store_with_its_fields(blobs: LocalBlobStore) -> None:
    content = os.urandom(300_000)
    body, content_type = multipart_body(
        {"title": "合同 v2", "tags": "a,b"}, ("合同.pdf", content, "application/pdf")
    )
    opened = Opened(blobs)
    form = parse(body, content_type, opened).finish()
    assert form.fields == {"title": "合同 v2", "tags": "a,b"}
    assert form.file_name == "合同.pdf"
    assert form.file_media_type == "application/pdf"
    assert form.file_size == len(content)
    assert opened.count == 1
    assert form.sink is not None
    stored = form.sink.commit()  # type: ignore[attr-defined]
    assert stored.sha256 == hashlib.sha256(content).digest() and stored.created
    assert b"".join(blobs.open(stored.sha256)) == content


def test_fields_may_follow_the_file_and_the_epilogue_is_ignored(blobs: LocalBlobStore) -> None:
    body, content_type = multipart_body({}, ("a.txt", b"hello", "text/plain"), boundary="B")
    body = body.replace(
        b"--B--", b'--B\r\nContent-Disposition: form-data; name="title"\r\n\r\nT\r\n--B--'
    )
    form = parse(body + b"epilogue", content_type, Opened(blobs)).finish()
    assert form.fields == {"title": "T"} and form.file_size == 5


def test_a_body_cut_before_the_closing_boundary_stores_nothing(blobs: LocalBlobStore) -> None:
    body, content_type = multipart_body({"title": "x"}, ("a.bin", os.urandom(50_000), "x/y"))
    for cut in (len(body) - 3, len(body) // 2, 10):
        parser = parse(body[:cut], content_type, Opened(blobs))
        with pytest.raises(TruncatedUpload):
            parser.finish()
        assert blob_files(blobs) == []


def test_a_file_over_the_limit_fails_as_soon_as_the_limit_is_crossed(
    blobs: LocalBlobStore,
) -> None:
    limit = 10_000
    body, content_type = multipart_body({}, ("big.bin", b"x" * (limit * 5), "x/y"))
    parser = FormUploadParser(content_type, Opened(blobs), max_file_bytes=limit)
    fed = 0
    with pytest.raises(UploadTooLarge):
        for chunk in chunks_of(body, 1000):
            fed += len(chunk)
            parser.feed(chunk)
    assert fed <= limit + 2000  # refused as soon as the limit was crossed
    assert blob_files(blobs) == []
    at_limit, content_type = multipart_body({}, ("ok.bin", b"x" * limit, "x/y"))
    form = parse(at_limit, content_type, Opened(blobs), max_file_bytes=limit).finish()
    assert form.file_size == limit
    form.sink.abort()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "name",
    [
        "../etc/passwd",
        "a/b.pdf",
        "..\\..\\boot.ini",
        "..",
        "report..pdf",
        "a\x00b.pdf",
        "line\nbreak.txt",
        "evil\u202efdp.exe",
        "x" * 256,
        "",
        " lead.txt",
    ],
    ids=lambda name: repr(name)[:20],
)
def test_bad_file_names_are_refused_before_anything_is_written(
    blobs: LocalBlobStore, name: str
) -> None:
    with pytest.raises(InvalidFileName):
        check_file_name(name)
    if "\n" in name or "\x00" in name or not name:
        return  # not expressible in a header (python-multipart refuses the part)
    body, content_type = multipart_body({}, (name, b"data", "text/plain"))
    opened = Opened(blobs)
    with pytest.raises(InvalidFileName):
        parse(body, content_type, opened)
    assert opened.count == 0 and blob_files(blobs) == []


def test_plain_names_pass() -> None:
    for name in ("contract.pdf", "合同 (final).docx", "a.b.c", "x" * 255, ".profile"):
        assert check_file_name(name) == name


def test_malformed_forms_are_invalid_deposits(blobs: LocalBlobStore) -> None:
    with pytest.raises(InvalidDeposit):
        multipart_boundary("application/json")
    with pytest.raises(InvalidDeposit):
        multipart_boundary("multipart/form-data")
    two_files, _ = multipart_body({}, ("a.txt", b"1", "text/plain"), boundary="B")
    two_files = two_files.replace(
        b"--B--",
        b'--B\r\nContent-Disposition: form-data; name="file"; filename="b"\r\n\r\n2\r\n--B--',
    )
    cases = [
        two_files,
        b'--B\r\nContent-Disposition: form-data; name="title"\r\n\r\n' + b"t" * 20_000,
        b'--B\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n'
        b'--B\r\nContent-Disposition: form-data; name="x"\r\n\r\n2\r\n--B--\r\n',
        b'--B\r\nContent-Disposition: form-data; name="doc"; filename="a"\r\n\r\n1\r\n--B--\r\n',
        b"--B\r\nContent-Type: text/plain\r\n\r\n1\r\n--B--\r\n",
        b'--B\r\nContent-Disposition: form-data; name="t"\r\n\r\n\xff\xfe\r\n--B--\r\n',
    ]
    for body in cases:
        with pytest.raises(InvalidDeposit):
            parse(body, "multipart/form-data; boundary=B", Opened(blobs)).finish()
        assert blob_files(blobs) == []


def test_memory_stays_at_a_chunk_whatever_the_file_size(blobs: LocalBlobStore) -> None:
    """The parser keeps no file bytes: feeding 8 MiB in 64 KiB chunks allocates ~chunks."""
    import tracemalloc

    size = 8 << 20
    boundary = "Bnd"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big"\r\n\r\n'
    ).encode()
    parser = FormUploadParser(
        f"multipart/form-data; boundary={boundary}",
        Opened(blobs, max_size=size),
        max_file_bytes=size,
    )
    block = os.urandom(64 << 10)
    tracemalloc.start()
    try:
        parser.feed(head)
        for _ in range(size // len(block)):
            parser.feed(block)
        parser.feed(f"\r\n--{boundary}--\r\n".encode())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    form = parser.finish()
    assert form.file_size == size
    assert peak < 4 << 20  # a few chunks of the envelope (1 MiB) at most, never the file
    form.sink.abort()  # type: ignore[union-attr]
