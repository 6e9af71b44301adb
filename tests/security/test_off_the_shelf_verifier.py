"""A served hub's custody letter, checked by Digital Bazaar's verifier as it comes.

Issue 11 item 8: ``@digitalbazaar/vc`` (eddsa-rdfc-2022) verifies a real letter with
the notary's DID document from the standard ``ethr-did-resolver`` over the hub's
``/rpc`` (the key published as ``publicKeyBase58``, which its
``Ed25519VerificationKey2018`` reader takes) and the hub's context fetched from
``GET /contexts/notary-hub/v1``, the URL the letter records in ``relatedResource``
(VC Data Model 2.0 §5.3); no conversion, nothing bundled from the hub
(``tests/interop/vc_served_hub.mjs``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from chain_adapter.jsonrpc_chain import JsonRpcChain
from credentials.jsonld.contexts import NOTARY_HUB_V1
from did_registry.ethr.registry_discovery import registries_of
from tests.security.conftest import ServedHub

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tests" / "interop" / "vc_served_hub.mjs"
NODE = shutil.which("node")


def npm_verify_served(hub: ServedHub, letter: dict[str, Any]) -> dict[str, Any]:
    chain = JsonRpcChain.connect(hub.rpc)
    address = letter["issuer"].rsplit(":", 1)[1]
    (registry,) = registries_of(chain, address)
    (served,) = [r["id"] for r in letter["relatedResource"] if r["id"] != NOTARY_HUB_V1]
    request = {
        "rpcUrl": hub.rpc,
        "chainId": chain.chain_id,
        "registry": registry,
        "contextUrl": served,
        "hubUrl": hub.process.url,
        "credential": letter,
    }
    done = subprocess.run(
        [NODE or "node", str(SCRIPT)],
        input=json.dumps(request), capture_output=True, text=True, timeout=120, cwd=REPO,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


@pytest.mark.skipif(
    NODE is None or not (REPO / "node_modules" / "@digitalbazaar" / "vc").is_dir(),
    reason="node or the npm packages are missing (npm ci)",
)
def test_digital_bazaar_verifies_a_served_letter_as_it_comes(served_hub: ServedHub) -> None:
    letter = served_hub.letter
    served = f"{served_hub.process.url}/contexts/notary-hub/v1"
    assert letter["relatedResource"][1]["id"] == served
    answer = npm_verify_served(served_hub, letter)
    assert answer["verified"], answer["errors"]
    assert answer["loaded"][NOTARY_HUB_V1] == served
    assert answer["loaded"][letter["proof"]["verificationMethod"]] == "ethr-did-resolver"
    assert answer["loaded"][letter["credentialStatus"]["statusListCredential"]] == "hub"

    tampered = json.loads(json.dumps(letter))
    tampered["credentialSubject"]["title"] = "Another contract"
    assert not npm_verify_served(served_hub, tampered)["verified"]
