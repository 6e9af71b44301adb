"""The credential inside the PDF: associated files (ISO 32000-2 §14.13, PDF/A-3 style).

``letter.json`` is the signed credential, byte for byte as JSON, MIME ``application/vc``
(VC Data Model 2.0 §6.3) with ``/AFRelationship /Source``: the page is a rendering of it.
``page-facts.json`` holds what the page shows (:mod:`.facts`), ``/Supplement``, so a
verifier compares facts with the credential without reading drawn text back. Written with
pyHanko's :mod:`pyhanko.pdf_utils.embed`; read back with its reader, size-capped.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from typing import Any

from pyhanko.pdf_utils import embed, generic
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import BasePdfFileWriter

from evidence.letter_pdf.errors import NotAPdf
from hub_kernel.json_guard import too_deep

CREDENTIAL_FILE = "letter.json"
FACTS_FILE = "page-facts.json"
CREDENTIAL_MEDIA_TYPE = "application/vc"
MAX_ATTACHMENT_BYTES = 1 << 20
MAX_ATTACHMENTS = 16


def _embed(
    writer: BasePdfFileWriter, name: str, data: bytes, mime: str, relation: str, what: str
) -> None:
    stream = embed.EmbeddedFileObject.from_file_data(writer, data=data, mime_type=mime)
    spec = embed.FileSpec(
        file_spec_string=name,
        file_name=name,
        embedded_data=stream,
        description=what,
        af_relationship=generic.pdf_name(relation),
    )
    embed.embed_file(writer, spec)


def embed_letter(
    writer: BasePdfFileWriter, letter: Mapping[str, Any], facts: Mapping[str, Any]
) -> None:
    """Attach the credential and the page's facts to the document ``writer`` is writing."""
    _embed(
        writer,
        CREDENTIAL_FILE,
        json.dumps(letter, ensure_ascii=False, indent=2).encode(),
        CREDENTIAL_MEDIA_TYPE,
        "/Source",
        "The custody letter: the verifiable credential this page renders",
    )
    _embed(
        writer,
        FACTS_FILE,
        json.dumps(facts, ensure_ascii=False, sort_keys=True).encode(),
        "application/json",
        "/Supplement",
        "What the page shows, for comparison with the credential",
    )


def _bounded_data(name: str, stream: Any) -> bytes:
    """A stream's data, decompressed at most to the cap: a deflate bomb stops early."""
    encoded = stream.encoded_data
    filters = stream.get("/Filter")
    if filters is None:
        data = bytes(encoded)
    elif filters == "/FlateDecode":
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(encoded, MAX_ATTACHMENT_BYTES + 1)
        except zlib.error:
            raise NotAPdf(f"attachment {name[:60]!r} does not inflate") from None
    else:
        raise NotAPdf(f"attachment {name[:60]!r} uses an unexpected filter {filters}")
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise NotAPdf(f"attachment {name[:60]!r} is larger than {MAX_ATTACHMENT_BYTES} bytes")
    return data


def attachments(reader: PdfFileReader) -> dict[str, bytes]:
    """The embedded files of the document's name tree (flat, as :func:`embed_letter` writes)."""
    try:
        tree = reader.root["/Names"]["/EmbeddedFiles"]
        listed = tree["/Names"]
    except (KeyError, TypeError, PdfError):
        return {}
    found: dict[str, bytes] = {}
    try:
        for index in range(0, min(len(listed), 2 * MAX_ATTACHMENTS), 2):
            name = str(listed[index])
            spec = listed[index + 1].get_object()
            stream = spec["/EF"]["/F"].get_object()
            found[name] = _bounded_data(name, stream)
    except (KeyError, TypeError, IndexError, AttributeError, RecursionError, PdfError) as exc:
        raise NotAPdf(f"the PDF's attachments do not parse: {exc}") from None
    return found


def embedded_json(files: Mapping[str, bytes], name: str) -> Any:
    """The JSON attachment ``name``; ``None`` when absent or not JSON."""
    data = files.get(name)
    if data is None:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if too_deep(text):  # the hub's JSON depth limit, as for any JSON it reads
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
