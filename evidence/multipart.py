"""Streaming multipart/form-data for deposits: the file part goes straight into a sink.

RFC 7578 "Returning Values from Forms: multipart/form-data"
(https://www.rfc-editor.org/rfc/rfc7578): §4.1 the boundary, §4.2 each part's
``Content-Disposition: form-data; name=...`` and the ``filename`` parameter, §4.4
a part's ``Content-Type``, §4.5 field values as UTF-8, §7 (security): file names
are advisory and must never be used as paths.

Bytes are pushed in as they arrive (from Starlette's ``request.stream()``) and
parsed by python-multipart's push parser; the file part's bytes are written to a
:class:`ContentSink` (a blob writer) without being kept, so memory stays at one
chunk whatever the file size. Metadata parts are small, counted and bounded.
Every failure aborts the sink, so nothing half-received is ever stored: a body
that ends before the closing boundary is :class:`TruncatedUpload`, a file over
the limit is :class:`UploadTooLarge` as soon as the limit is crossed, a bad file
name is :class:`InvalidFileName`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from evidence.errors import (
    EvidenceError,
    InvalidDeposit,
    InvalidFileName,
    TruncatedUpload,
    UploadTooLarge,
)

DEFAULT_MAX_FILE_BYTES = 4 * 1024**3
FILE_NAME_MAX_BYTES = 255  # what common filesystems allow for one name
MAX_FIELD_BYTES = 16 * 1024
MAX_FIELDS = 32
# Boundaries, part headers and the preamble around a file: generous, but bounded.
MAX_FRAMING_BYTES = 64 * 1024
FILE_FIELD = "file"


class ContentSink(Protocol):
    """Where the file part's bytes go (``evidence.blob_store.BlobWriter`` is one)."""

    def write(self, chunk: bytes) -> None: ...

    def abort(self) -> None: ...


@dataclass
class FormUpload:
    """A completely received form: its text fields and the sink holding its file."""

    fields: dict[str, str]
    sink: ContentSink | None  # None when the form had no file part
    file_name: str | None
    file_media_type: str | None
    file_size: int


def quotes_closed(header: str) -> bool:
    """Whether every RFC 9110 §5.6.4 quoted-string in ``header`` is closed.

    python-multipart keeps an unterminated value, opening quote and all, as if it
    were the parameter: a name the client never meant is refused instead.
    """
    quoted = escaped = False
    for char in header:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
    return not quoted


def check_file_name(name: str) -> str:
    """``name`` if it is a plain file name; :class:`InvalidFileName` says why it is not."""
    if not name or name in {".", ".."}:
        raise InvalidFileName("the file name is empty")
    if len(name.encode("utf-8")) > FILE_NAME_MAX_BYTES:
        raise InvalidFileName(f"the file name is longer than {FILE_NAME_MAX_BYTES} bytes")
    if "/" in name or "\\" in name:
        raise InvalidFileName("the file name must not contain a path separator")
    if ".." in name:
        raise InvalidFileName("the file name must not contain '..'")
    for char in name:
        # Cc: C0/C1 controls (NUL, newline, ESC...); Cf: format characters such as the
        # bidirectional overrides that disguise an extension ("\u202e").
        if unicodedata.category(char) in {"Cc", "Cf", "Cs"}:
            raise InvalidFileName(f"the file name contains the control character {char!r}")
    if name != name.strip():
        raise InvalidFileName("the file name must not start or end with white space")
    return name


def multipart_boundary(content_type: str | None) -> bytes:
    """The boundary of a ``multipart/form-data`` Content-Type (RFC 7578 §4.1)."""
    media_type, options = parse_options_header(content_type)
    if media_type != b"multipart/form-data":
        raise InvalidDeposit("the body must be multipart/form-data or JSON")
    boundary = options.get(b"boundary")
    if not boundary or len(boundary) > 70:  # RFC 2046 §5.1.1: 1 to 70 characters
        raise InvalidDeposit("the multipart/form-data Content-Type has no valid boundary")
    return boundary


@dataclass
class _Part:
    headers: dict[str, str] = field(default_factory=dict)
    name: str | None = None
    is_file: bool = False
    value: bytearray = field(default_factory=bytearray)


class FormUploadParser:
    """Push parser for one deposit form: :meth:`feed` chunks, then :meth:`finish`.

    ``open_sink`` is called once, when the file part starts, with the fields read so
    far (a declared digest may need them before content arrives). On any error the
    sink is aborted before the error propagates; a caller that gives up for its
    own reasons (a client that disconnects) calls :meth:`abort`.
    """

    def __init__(
        self,
        content_type: str | None,
        open_sink: Callable[[Mapping[str, str]], ContentSink],
        *,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ) -> None:
        self._open_sink = open_sink
        self._max_file_bytes = max_file_bytes
        self._max_body = max_file_bytes + MAX_FIELDS * MAX_FIELD_BYTES + MAX_FRAMING_BYTES
        self._received = 0
        self._fields: dict[str, str] = {}
        self._sink: ContentSink | None = None
        self._file_name: str | None = None
        self._file_media_type: str | None = None
        self._file_size = 0
        self._file_seen = False
        self._parts = 0
        self._part = _Part()
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._ended = False
        self._failed = False
        self._parser = MultipartParser(
            multipart_boundary(content_type),
            {
                "on_part_begin": self._on_part_begin,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
                "on_end": self._on_end,
            },
        )

    # -- driving ------------------------------------------------------------------------

    def feed(self, chunk: bytes) -> None:
        if self._failed:
            raise InvalidDeposit("the upload already failed")
        self._received += len(chunk)
        try:
            if self._received > self._max_body:
                raise UploadTooLarge(f"the body exceeds {self._max_body} bytes")
            if self._ended:
                return  # the epilogue after the closing boundary is ignored (RFC 2046 §5.1.1)
            self._parser.write(chunk)
        except EvidenceError:
            self.abort()
            raise
        except MultipartParseError as exc:
            self.abort()
            raise InvalidDeposit(f"malformed multipart/form-data body: {exc}") from None

    def finish(self) -> FormUpload:
        """The form, once the body has ended; :class:`TruncatedUpload` if it ended early."""
        if self._failed:
            raise InvalidDeposit("the upload already failed")
        if not self._ended:
            self.abort()
            raise TruncatedUpload("the body ended before the closing multipart boundary")
        return FormUpload(
            fields=dict(self._fields),
            sink=self._sink,
            file_name=self._file_name,
            file_media_type=self._file_media_type,
            file_size=self._file_size,
        )

    def abort(self) -> None:
        """Give up: the sink, if one was opened, discards what it received."""
        self._failed = True
        if self._sink is not None:
            sink, self._sink = self._sink, None
            sink.abort()

    # -- parser callbacks -----------------------------------------------------------------

    def _on_part_begin(self) -> None:
        self._parts += 1
        if self._parts > MAX_FIELDS + 1:
            raise InvalidDeposit(f"a deposit form has at most {MAX_FIELDS} fields and one file")
        self._part = _Part()

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        name = self._header_field.decode("latin-1").strip().lower()
        self._part.headers[name] = self._header_value.decode("latin-1").strip()
        self._header_field.clear()
        self._header_value.clear()

    def _on_headers_finished(self) -> None:
        part = self._part
        raw_disposition = part.headers.get("content-disposition", "")
        if not quotes_closed(raw_disposition):
            raise InvalidDeposit("Content-Disposition has an unterminated quoted string")
        disposition, options = parse_options_header(raw_disposition)
        if disposition != b"form-data" or b"name" not in options:
            raise InvalidDeposit("every part needs Content-Disposition: form-data; name=...")
        part.name = _utf8(options[b"name"], "a part name")
        if b"filename" not in options:
            if part.name == FILE_FIELD:
                raise InvalidDeposit("the file part needs a filename parameter")
            if part.name in self._fields:
                raise InvalidDeposit(f"the field {part.name!r} is given twice")
            return
        if part.name != FILE_FIELD:
            raise InvalidDeposit(f"only the {FILE_FIELD!r} part may carry a file")
        if self._file_seen:
            raise InvalidDeposit("a deposit holds exactly one file")
        part.is_file = True
        self._file_seen = True
        # Browsers send the name's UTF-8 bytes as they are; python-multipart read them as latin-1.
        self._file_name = check_file_name(_utf8(options[b"filename"], "the file name"))
        media_type = part.headers.get("content-type")
        self._file_media_type = media_type or None
        self._sink = self._open_sink(dict(self._fields))

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self._part
        if part.is_file:
            self._file_size += end - start
            if self._file_size > self._max_file_bytes:
                raise UploadTooLarge(f"the file exceeds the limit of {self._max_file_bytes} bytes")
            assert self._sink is not None
            self._sink.write(data[start:end])
            return
        if len(part.value) + end - start > MAX_FIELD_BYTES:
            raise InvalidDeposit(f"the field {part.name!r} is longer than {MAX_FIELD_BYTES} bytes")
        part.value += data[start:end]

    def _on_part_end(self) -> None:
        part = self._part
        if part.is_file or part.name is None:
            return
        self._fields[part.name] = _utf8(bytes(part.value), f"the field {part.name!r}")

    def _on_end(self) -> None:
        self._ended = True


def _utf8(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidDeposit(f"{what} is not UTF-8") from None
