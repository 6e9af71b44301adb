"""``notary-hub letter pdf LETTER.json -o letter.pdf``: a custody letter as a signed PDF.

The notary signs only what its services witnessed: the letter must be this hub's notary's
and verify now (:class:`evidence.letter_pdf.service.LetterPdfService`), else one line
(``letter_not_signable``) and exit 1. While ``serve`` runs on the data directory (found
through ``serve.json``, :mod:`notary_hub.serving`) the running hub signs it
(``POST /evidence/letters/pdf`` with the API token): the embedded chain has one writer.
Otherwise the command opens the hub's data directory itself.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from notary_hub.cli_remote import remote_bearer
from notary_hub.cli_support import PlainFlagsGroup, cli_errors, err, fail, hub_settings, out
from notary_hub.hub import open_hub
from notary_hub.serving import running_hub
from notary_hub.settings import Settings
from notary_hub.verify_inputs import read_document

letter_app = typer.Typer(
    help="Custody letters for people: signed PDFs.", no_args_is_help=True, cls=PlainFlagsGroup
)

SIGN_TIMEOUT = 120.0


def _ask_serving_hub(settings: Settings, letter: dict[str, Any]) -> bytes | None:
    """The PDF the hub serving ``settings.data_dir`` signs; ``None`` when none answers."""
    url = running_hub(settings.data_dir)
    if url is None:
        return None
    token = remote_bearer(settings, url)
    try:
        response = httpx.post(
            f"{url}/evidence/letters/pdf",
            json={"letter": letter},
            headers={"authorization": f"Bearer {token}"},
            timeout=SIGN_TIMEOUT,
        )
    except httpx.TransportError:
        return None
    if response.is_success and response.headers.get("content-type") == "application/pdf":
        return response.content
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    answer = answer if isinstance(answer, dict) else {}
    code = str(answer.get("error", f"http_{response.status_code}"))
    fail(code, f"the hub at {url} refused: {answer.get('message', response.text[:200])}")


def _sign_here(settings: Settings, letter: dict[str, Any]) -> bytes:
    with cli_errors():
        hub = open_hub(settings)
        try:
            for line in hub.created:
                err.print(f"created {line}", markup=False, highlight=False)
            pdfs = hub.evidence.letter_pdfs
            if pdfs is None:
                fail("no_timestamp_authority", "the hub has no timestamp authority to sign with")
            return pdfs.sign(letter, service="deposits")
        finally:
            hub.close()


@letter_app.command("pdf")
def letter_pdf(
    letter_file: Annotated[
        Path, typer.Argument(metavar="LETTER", help="The custody letter (JSON).")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the PDF.")],
) -> None:
    """Sign this notary's custody letter as a PDF (PAdES-B-T, the credential attached)."""
    letter = read_document(letter_file)
    if not isinstance(letter, dict):
        fail("invalid_document", f"{letter_file} is not a custody letter (a JSON object)", 2)
    settings = hub_settings()
    pdf = _ask_serving_hub(settings, letter)
    if pdf is None:
        pdf = _sign_here(settings, letter)
    partial = output.with_name(f".{output.name}.partial")
    with cli_errors():
        partial.write_bytes(pdf)
        os.replace(partial, output)  # no half-written PDF under the name asked for
    out.print(f"wrote {output} ({len(pdf)} bytes, signed)", markup=False, highlight=False)
