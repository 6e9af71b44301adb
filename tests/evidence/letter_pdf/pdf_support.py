"""Shared by the PDF letter tests: fetching a served hub's letter PDF, and the tools."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx

from tests.security.conftest import DEPOSITOR, ServedHub


def deposit_id(letter: dict[str, Any]) -> str:
    found: str = letter["credentialSubject"]["depositId"]
    return found


def fetch_letter_pdf(
    client: httpx.Client, letter: dict[str, Any], depositor: str = DEPOSITOR
) -> httpx.Response:
    return client.get(
        f"/evidence/deposits/{deposit_id(letter)}/letter.pdf", headers={"Depositor": depositor}
    )


def letter_pdf(hub: ServedHub, path: Path) -> Path:
    """The served hub's letter, as the depositor downloads it, written to ``path``."""
    with hub.client() as client:
        response = fetch_letter_pdf(client, hub.letter)
    assert response.status_code == 200, response.text
    path.write_bytes(response.content)
    return path


def tool(name: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """A Debian tool (poppler-utils, qpdf, zbar-tools, libnss3-tools) run as a user would."""
    program = shutil.which(name)
    assert program is not None, f"{name} is not installed (see the Makefile's Debian packages)"
    return subprocess.run(
        [program, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
