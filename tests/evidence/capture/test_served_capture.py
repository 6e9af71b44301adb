"""Issue 15's scripted capture as a user runs it: ``notary-hub serve``, then
``notary-hub capture URL --steps steps.yaml`` against the HTTPS test site, then the hub
stopped and ``notary-hub verify`` with nothing but a read-only node of the chain
(``notary-hub node``): the letter, its PDF, and every file of the package. The WARC
holds exactly the bytes the site served; a package changed by one byte is refused,
naming the check."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from warcio.archiveiterator import ArchiveIterator

from testkit.capture_site import CaptureSite, serve_capture_site
from testkit.holder import did_key_holder
from testkit.waiting import wait_until
from tests.evidence.capture.browser_support import sign_in_site
from tests.fixtures.hub_process import CLI, HubProcess, free_port, run_cli

pytestmark = [pytest.mark.slow]

OWNER = did_key_holder("served capture owner").did
STEPS = """\
- type: {{selector: "input[name=user]", text: alice}}
- type: {{selector: "input[name=password]", text: correct-horse}}
- click: button
- wait: 0.5
- screenshot
- save: {pdf}
- note: signed in, the terms saved
"""


@pytest.fixture(scope="module")
def site() -> Iterator[CaptureSite]:
    with serve_capture_site() as served:
        yield served


def capture_env(site: CaptureSite, origin: str, directory: Path) -> dict[str, str]:
    ca = directory / "site-ca.pem"
    ca.write_bytes(site.ca.certificate_pem)
    return {
        "NOTARY_HUB_LOG_FORMAT": "json",
        "NOTARY_HUB_ANCHORING_BATCH_INTERVAL_SECONDS": "0.1",
        "NOTARY_HUB_EVIDENCE_POLL_SECONDS": "0.1",
        "NOTARY_HUB_CAPTURES_ALLOW": f'["127.0.0.1:{site.port}"]',
        "NOTARY_HUB_CAPTURES_TRUSTED_CA_FILE": str(ca),
        "NOTARY_HUB_CAPTURES_EGRESS_PROBE_URL": f"{origin}/whoami",
        "NOTARY_HUB_CAPTURES_ALLOW_NO_SANDBOX": "true" if os.geteuid() == 0 else "false",
        "NOTARY_HUB_CAPTURES_CHECKPOINT_SECONDS": "1",
        "NOTARY_HUB_CAPTURES_RECOVERY_SECONDS": "1",
    }


def node_process(hub: HubProcess) -> tuple[subprocess.Popen[str], str]:
    """``notary-hub node`` on the stopped hub's data: the chain read-only, no keys."""
    port = free_port()
    process = subprocess.Popen(
        [str(CLI), "node", "--port", str(port)],
        cwd=hub.workdir,
        env=hub.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        text=True,
    )
    rpc = f"http://127.0.0.1:{port}/rpc"

    def answers() -> bool:
        try:
            body = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
            return httpx.post(rpc, json=body, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(answers, timeout=60, interval=0.2, message="the node did not answer")
    return process, rpc


def served_payload(wacz: Path, url: str) -> bytes:
    with zipfile.ZipFile(wacz) as archive:
        warc = next(n for n in archive.namelist() if n.startswith("archive/"))
        data = archive.read(warc)
    for record in ArchiveIterator(io.BytesIO(data)):
        if record.rec_type == "response" and record.rec_headers["WARC-Target-URI"] == url:
            return bytes(record.content_stream().read())
    raise AssertionError(f"no response for {url} in {warc}")


def check_pdf(pdf: Path, capture_id: str) -> None:
    """The PDF as a reader sees it: qpdf finds its structure sound, poppler renders the
    page (kept as ``letter-1.png`` beside it, to look at), and its text names the capture."""
    qpdf = subprocess.run(["qpdf", "--check", str(pdf)], capture_output=True, text=True)
    assert qpdf.returncode == 0, qpdf.stdout + qpdf.stderr
    subprocess.run(
        ["pdftoppm", "-r", "60", "-png", "-singlefile", str(pdf), str(pdf.with_name("letter-1"))],
        check=True,
    )
    assert pdf.with_name("letter-1.png").stat().st_size > 10_000
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True)
    assert "Remote Capture Letter" in text.stdout and capture_id in text.stdout


def test_a_scripted_capture_from_the_cli_verifies_with_the_hub_stopped(
    site: CaptureSite, tmp_path: Path
) -> None:
    steps = tmp_path / "steps.yaml"
    steps.write_text(STEPS.format(pdf=site.url("/doc.pdf")), "utf-8")
    out = tmp_path / "out"
    with sign_in_site() as origin:
        hub = HubProcess(tmp_path, capture_env(site, origin, tmp_path))
        hub.start()
        try:
            done = run_cli(
                "capture", site.url("/login"), "--steps", str(steps), "--out", str(out),
                "--hub", hub.url, "--as", OWNER, env=hub.env, cwd=tmp_path, timeout=300,
            )  # fmt: skip
            assert done.returncode == 0, (done.stdout, done.stderr)
            assert "sealed: package SHA-256" in done.stdout
            [letter] = out.glob("capture-*.letter.json")
            [wacz] = out.glob("capture-*.wacz")
            capture_id = letter.name.split("-")[1].split(".")[0]
            with hub.client() as client:
                headers = {"Depositor": OWNER}
                pdf = client.get(f"/captures/{capture_id}/letter.pdf", headers=headers)
                assert pdf.status_code == 200, pdf.text
                status = client.get(f"/evidence/letters/captures/{capture_id}")
                assert status.status_code == 200 and status.json()["verified"] is True
                roots = client.get("/tsa/certs")
                assert roots.status_code == 200
        finally:
            hub.stop()
    (tmp_path / "letter.pdf").write_bytes(pdf.content)
    (tmp_path / "tsa.pem").write_bytes(roots.content)
    assert served_payload(wacz, site.url("/doc.pdf")) == site.bodies("/doc.pdf")[0]
    check_pdf(tmp_path / "letter.pdf", capture_id)

    node, rpc = node_process(hub)
    try:
        common = ["--file", str(wacz), "--rpc", rpc, "--tsa-root", str(tmp_path / "tsa.pem")]
        for document in (letter, tmp_path / "letter.pdf"):
            verified = run_cli("verify", str(document), *common, env=hub.env, cwd=tmp_path)
            assert verified.returncode == 0, (document, verified.stdout, verified.stderr)
        tampered = tmp_path / "tampered.wacz"
        data = bytearray(wacz.read_bytes())
        data[len(data) // 2] ^= 1
        tampered.write_bytes(bytes(data))
        common[1] = str(tampered)
        refused = run_cli("verify", str(letter), *common, env=hub.env, cwd=tmp_path)
        assert refused.returncode == 1, (refused.stdout, refused.stderr)
        assert "package" in refused.stdout + refused.stderr
    finally:
        os.killpg(node.pid, signal.SIGTERM)
        node.wait(20)
