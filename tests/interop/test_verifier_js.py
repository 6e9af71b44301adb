"""The JavaScript draw verifier's own tests (``verifier-js/``, issue 14 item 7), run by pytest.

``node --test verifier-js/test/`` checks the second implementation against the spec alone:
drand quicknet round 657413 against quicknet's key, RFC 9162 trees, the §4.2 fixed-point
keys against their BigInt transcription, the selection against a literal reference on
random draws, and each tampered export failing at its step.
"""

from __future__ import annotations

import subprocess

import pytest

from testkit.npm import NODE, REPO, npm_package

pytestmark = pytest.mark.skipif(
    not (npm_package("@noble/curves") and npm_package("canonicalize")),
    reason="node_modules missing: run `npm ci`",
)


def test_verifier_js_suite() -> None:
    run = subprocess.run(
        [NODE, "--test", "verifier-js/test/"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "# fail 0" in run.stdout
