"""README's worked OpenSSL example makes a chain the consortium accepts (issue 11, item 7).

The commands are read from README.md (the ``sh`` block after ``<!-- member-chain -->``)
and run as they are, in a temporary directory; the chain they make must pass the hub's
X.509 checks and name the organisation, as ``consortium apply`` requires.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509

from did_registry.consortium.verification import check_organisation_named, organisation_names
from did_registry.consortium.x509_checks import check_organisation_certificate

README = Path(__file__).resolve().parents[3] / "README.md"
MARKER = "<!-- member-chain -->\n```sh\n"


def readme_commands() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(MARKER) + len(MARKER)
    return text[start : text.index("\n```\n", start)] + "\n"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_the_readme_openssl_example_makes_an_accepted_chain(tmp_path: Path) -> None:
    subprocess.run(
        ["bash", "-euo", "pipefail", "-c", readme_commands()],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=60,
    )
    root = x509.load_pem_x509_certificate((tmp_path / "root.pem").read_bytes())
    checked = check_organisation_certificate(
        (tmp_path / "chain.pem").read_bytes(), [root], at=datetime.now(UTC)
    )
    assert checked.organisation == "Example Notary Office"
    assert len(checked.path) == 2  # the organisation's certificate, then the root
    leaf = checked.path[0]
    check_organisation_named("Example Notary Office", leaf)
    assert organisation_names(leaf) == ["Example Notary Office", "Example Notary Office"]  # O, SAN
