"""``notary-hub letter pdf`` and ``notary-hub verify letter.pdf``, run as a user types them.

A served hub (the attack suite's) certifies a deposit; its letter becomes a PDF through the
running hub (``letter pdf`` finds it by ``serve.json``) and through the route, and the
PDF verifies with a chain node alone, the deposited file included. A letter the notary
did not issue, or one that no longer verifies, is refused with one line and exit 1.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

from tests.evidence.letter_pdf.pdf_support import letter_pdf
from tests.fixtures.hub_process import run_cli
from tests.security import conftest as security
from tests.security.conftest import ServedHub

served_hub = security.served_hub  # one served hub and its certified letter

PDF_CHECKS = {"pdfCredential", "pdfSignature", "pdfTimestamp", "pdfSigner", "pdfFacts"}


def user_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_HUB_")}
    return {**env, **extra}


def verify_pdf(hub: ServedHub, pdf: Path, *extra: str) -> Any:
    return run_cli("verify", str(pdf), "--rpc", hub.rpc, *extra, env=user_env(), cwd=pdf.parent)


def letter_file(directory: Path, letter: Any) -> Path:
    path = directory / "letter.json"
    path.write_text(json.dumps(letter))
    return path


def test_verify_a_letter_pdf_with_its_file(served_hub: ServedHub, tmp_path: Path) -> None:
    pdf = letter_pdf(served_hub, tmp_path / "letter.pdf")
    result = verify_pdf(served_hub, pdf, "--file", str(served_hub.contract))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VALID" in result.stdout
    assert "pdf signed at" in result.stdout and "pdf certificate" in result.stdout
    as_json = verify_pdf(served_hub, pdf, "--file", str(served_hub.contract), "--json")
    body = json.loads(as_json.stdout)
    assert body["verified"] is True, body
    assert PDF_CHECKS | {"proof", "issuer", "timestamp", "anchor", "file"} <= set(body["checks"])


def test_verify_a_letter_pdf_with_another_file_fails(served_hub: ServedHub, tmp_path: Path) -> None:
    pdf = letter_pdf(served_hub, tmp_path / "letter.pdf")
    other = tmp_path / "other.pdf"
    other.write_bytes(b"%PDF-1.7 not the deposited contract")
    result = verify_pdf(served_hub, pdf, "--file", str(other), "--json")
    assert result.returncode == 1
    assert {e["check"] for e in json.loads(result.stdout)["errors"]} == {"file"}


def test_letter_pdf_asks_the_serving_hub(served_hub: ServedHub, tmp_path: Path) -> None:
    source = letter_file(tmp_path, served_hub.letter)
    out = tmp_path / "signed.pdf"
    env = served_hub.process.env
    result = run_cli("letter", "pdf", str(source), "-o", str(out), env=env, cwd=served_hub.workdir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"wrote {out}" in result.stdout
    assert out.read_bytes().startswith(b"%PDF-")
    verified = verify_pdf(served_hub, out, "--file", str(served_hub.contract))
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_letter_pdf_refuses_what_the_notary_did_not_issue(
    served_hub: ServedHub, tmp_path: Path
) -> None:
    foreign = copy.deepcopy(served_hub.letter)
    foreign["issuer"] = "did:ethr:0x539:0x0000000000000000000000000000000000000001"
    tampered = copy.deepcopy(served_hub.letter)
    tampered["credentialSubject"]["size"] = 1
    env = served_hub.process.env
    for letter in (foreign, tampered):
        out = tmp_path / "refused.pdf"
        source = letter_file(tmp_path, letter)
        result = run_cli(
            "letter", "pdf", str(source), "-o", str(out), env=env, cwd=served_hub.workdir
        )
        assert result.returncode == 1, result.stdout + result.stderr
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith("error: letter_not_signable: "), line
        assert not out.exists()


def test_letter_pdf_opens_the_data_directory_when_no_hub_serves(
    served_hub: ServedHub, tmp_path: Path
) -> None:
    """Another hub, not serving: it opens its own data directory, and will not sign the
    served hub's letter (another notary's)."""
    hub_dir = tmp_path / "other-hub"
    assert run_cli("--data-dir", str(hub_dir), "init", env=user_env(), cwd=tmp_path).returncode == 0
    source = letter_file(tmp_path, served_hub.letter)
    args = ("--data-dir", str(hub_dir), "letter", "pdf", str(source), "-o", "x.pdf")
    result = run_cli(*args, env=user_env(), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "error: letter_not_signable: only letters issued by this notary" in result.stderr
    nowhere = run_cli(
        "--data-dir",
        str(tmp_path / "none"),
        "letter",
        "pdf",
        str(source),
        "-o",
        "x.pdf",
        env=user_env(),
        cwd=tmp_path,
    )
    assert nowhere.returncode == 2 and "error: no_data_dir" in nowhere.stderr


def test_letter_pdf_refuses_a_file_that_is_not_a_letter(
    served_hub: ServedHub, tmp_path: Path
) -> None:
    source = tmp_path / "letter.json"
    source.write_text("[1, 2, 3]")
    env = served_hub.process.env
    result = run_cli("letter", "pdf", str(source), "-o", "x.pdf", env=env, cwd=served_hub.workdir)
    assert result.returncode == 2
    assert result.stderr.startswith("error: invalid_document: ")
