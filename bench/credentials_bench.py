"""Credential issue and verify throughput, the hub beside didkit: a script, not a test (issue 4 §8).

Run from the repository root::

    .venv/bin/python bench/credentials_bench.py [--seconds S]

One process, one thread, one run: every figure is operations per second of one
sequential caller, measured for ``--seconds`` (default 3) after one warm-up call.
The credential is the realistic custody credential of :mod:`bench.custody_sample`
(a ``DataDepositCredential`` with a 1.5 KB RFC 3161 token, a chain anchor receipt
as ``@json`` and a status entry), issued by the notary of a fresh embedded chain
(the ``notary_world`` setup of the tests).

Rows:

- **Ed25519 (cryptography)**: raw sign / verify of 64 bytes (what eddsa-rdfc-2022
  signs), the ceiling for any Ed25519 mechanism;
- **hub eddsa-rdfc-2022**: :func:`credentials.data_integrity.add_proof` /
  :func:`~credentials.data_integrity.verify_proof` with pyld's canonicalizer
  (:class:`~credentials.rdfc.PyldCanonicalizer`) and with the fast one
  (:class:`~credentials.rdf_fast.FastCanonicalizer`);
- **hub vc+jwt**: :func:`credentials.vc_jose.sign_credential_jwt` /
  :func:`~credentials.vc_jose.verify_credential_jwt`, EdDSA with the notary's
  Ed25519 key and ES256K with its controller key (``#controller``, an address-only
  method: the public key is recovered from the signature);
- **didkit LD / JWT**: PyPI ``didkit`` 0.3.3 (Rust ``ssi``), ``issue_credential`` /
  ``verify_credential`` with an Ed25519 did:key, ``Ed25519Signature2018`` linked-data
  proofs and ``proofFormat: jwt``. didkit only signs VC 1.1 and only loads the
  contexts it bundles, so its credential is the same custody credential in VC 1.1
  form: ``https://www.w3.org/2018/credentials/v1`` plus, inline, the notary hub
  context and the three VC 2.0 term definitions the credential uses
  (``digestMultibase``, ``mediaType``, ``BitstringStatusListEntry``);
  ``issuanceDate`` for ``validFrom``; evidence ``type`` as an array (ssi's schema).
  Same claims, same triples give or take one.

Hub verification resolves the issuer's did:ethr as of the proof's ``created`` (the
token's ``iat``) and is measured two ways: **walk**, the chain walker on the
embedded chain in process (what a verifier with a node does on every call), and
**warm**, resolution answered from memory: for vc+jwt the library's own
:class:`~credentials.jose_key_cache.KeyCache` (``ttl_seconds=300``); for Data
Integrity, which has no key cache, a memo of the resolver in this script (an upper
bound: resolution made free). didkit resolves its did:key in process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import didkit  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from bench.custody_sample import custody_credential  # noqa: E402
from credentials import data_integrity  # noqa: E402
from credentials.contexts import CREDENTIALS_V2, NOTARY_HUB_V1  # noqa: E402
from credentials.data_integrity import ProofOptions, SigningKey, add_proof, verify_proof  # noqa: E402
from credentials.document_loader import load_context  # noqa: E402
from credentials.eddsa_rdfc_2022 import EddsaRdfc2022  # noqa: E402
from credentials.jose_key_cache import KeyCache  # noqa: E402
from credentials.rdf_fast import FastCanonicalizer  # noqa: E402
from credentials.rdfc import PyldCanonicalizer  # noqa: E402
from credentials.vc_jose import sign_credential_jwt, verify_credential_jwt  # noqa: E402
from did_registry.resolution import DidResolver, ResolutionOptions, ResolutionResult  # noqa: E402
from tests.fixtures.notary_world import NotaryWorld, open_notary_world  # noqa: E402

VC_V1 = "https://www.w3.org/2018/credentials/v1"


def machine_info() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{datetime.now(UTC).isoformat(timespec='seconds')}  python {platform.python_version()} "
        f"({platform.python_implementation()}), {platform.system()} {platform.release()}, "
        f"nproc {usable}, {cpu}; load average {os.getloadavg()[0]:.2f}; "
        f"didkit {didkit.get_version()}"
    )


# -- timing ---------------------------------------------------------------------------------


def rate(operation: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``operation``, one after the other, for ``seconds``."""
    operation()  # warm-up: caches, lazy imports
    calls = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        operation()
        calls += 1
        now = time.perf_counter()
        if now >= deadline:
            return calls / (now - start)


def arate(operation: Callable[[], Awaitable[object]], seconds: float) -> float:
    """:func:`rate` for didkit's coroutines, all awaited in one event loop."""

    async def run() -> float:
        await operation()
        calls = 0
        start = time.perf_counter()
        deadline = start + seconds
        while True:
            await operation()
            calls += 1
            now = time.perf_counter()
            if now >= deadline:
                return calls / (now - start)

    return asyncio.run(run())


@dataclass
class Row:
    name: str
    issue: float | None
    verify: float | None
    verify_warm: float | None = None
    note: str = ""


# -- the hub --------------------------------------------------------------------------------


class MemoResolver:
    """The "warm" Data Integrity path: each (DID, options) resolved once, then from memory."""

    def __init__(self, inner: DidResolver) -> None:
        self._inner = inner
        self._memo: dict[tuple[str, ResolutionOptions | None], ResolutionResult] = {}

    def resolve(self, did: str, options: ResolutionOptions | None = None) -> ResolutionResult:
        key = (did, options)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = self._inner.resolve(did, options)
        return found


def chain_now(world: NotaryWorld) -> int:
    """Now, or the chain head's time if later: the embedded chain seals blocks at
    max(now, parent + 1), so after the setup its head runs a few seconds ahead, and a
    proof dated before the block that published its key would not verify."""
    return max(int(time.time()), world.chain.get_block("latest").timestamp)


@contextlib.contextmanager
def verifying_with(suite: EddsaRdfc2022) -> Iterator[None]:
    """verify_proof looks suites up in ``SUITES`` by name: point the name at ``suite``."""
    saved = data_integrity.SUITES[suite.name]
    data_integrity.SUITES[suite.name] = suite
    try:
        yield
    finally:
        data_integrity.SUITES[suite.name] = saved


def bench_data_integrity(
    world: NotaryWorld, credential: dict[str, Any], suite: EddsaRdfc2022, label: str, seconds: float
) -> Row:
    fragment, private_key = world.notary.current_signing_key()
    key = SigningKey(f"{world.notary.did}#{fragment}", private_key)
    options = ProofOptions(created=datetime.fromtimestamp(chain_now(world), UTC))
    signed = add_proof(credential, suite=suite, key=key, options=options)
    warm = MemoResolver(world.resolver)
    with verifying_with(suite):
        for resolver in (world.resolver, warm):
            result = verify_proof(signed, resolver=resolver, expected_purpose="assertionMethod")
            assert result.verified, result.to_json()
        tampered = {**signed, "validFrom": "2020-01-01T00:00:00Z"}
        assert not verify_proof(
            tampered, resolver=warm, expected_purpose="assertionMethod"
        ).verified
        issue = rate(lambda: add_proof(credential, suite=suite, key=key, options=options), seconds)
        walk = rate(
            lambda: verify_proof(
                signed, resolver=world.resolver, expected_purpose="assertionMethod"
            ),
            seconds,
        )
        memo = rate(
            lambda: verify_proof(signed, resolver=warm, expected_purpose="assertionMethod"),
            seconds,
        )
    return Row(f"hub eddsa-rdfc-2022, {label}", issue, walk, memo)


def check_same_proofs(world: NotaryWorld, credential: dict[str, Any]) -> None:
    """Both canonicalizers give the same proof (Ed25519 is deterministic): same work measured."""
    fragment, private_key = world.notary.current_signing_key()
    key = SigningKey(f"{world.notary.did}#{fragment}", private_key)
    options = ProofOptions(created=datetime.fromtimestamp(chain_now(world), UTC))
    values = {
        add_proof(credential, suite=EddsaRdfc2022(canonicalizer), key=key, options=options)[
            "proof"
        ]["proofValue"]
        for canonicalizer in (PyldCanonicalizer(), FastCanonicalizer())
    }
    assert len(values) == 1, "the fast canonicalizer's proof differs from pyld's"


def bench_jwt(
    world: NotaryWorld,
    credential: dict[str, Any],
    alg: str,
    key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey,
    kid: str,
    seconds: float,
) -> Row:
    issued_at = chain_now(world)
    token = sign_credential_jwt(credential, key=key, kid=kid, alg=alg, issued_at=issued_at)
    cache = KeyCache(ttl_seconds=300)
    for keys in (None, cache):
        result = verify_credential_jwt(token, resolver=world.resolver, keys=keys)
        assert result.verified, result.to_json()
    issue = rate(
        lambda: sign_credential_jwt(credential, key=key, kid=kid, alg=alg, issued_at=issued_at),
        seconds,
    )
    walk = rate(lambda: verify_credential_jwt(token, resolver=world.resolver), seconds)
    warm = rate(lambda: verify_credential_jwt(token, resolver=world.resolver, keys=cache), seconds)
    return Row(f"hub vc+jwt {alg}", issue, walk, warm, kid.rsplit("#", 1)[1])


# -- didkit ---------------------------------------------------------------------------------


def didkit_form(credential: dict[str, Any], issuer: str) -> dict[str, Any]:
    """The custody credential as VC 1.1 with the contexts inline (see the module docstring)."""
    v2 = load_context(CREDENTIALS_V2)["@context"]
    terms = {
        name: v2[name] for name in ("digestMultibase", "mediaType", "BitstringStatusListEntry")
    }
    converted = {k: v for k, v in credential.items() if k not in ("@context", "validFrom")}
    converted["@context"] = [VC_V1, terms, load_context(NOTARY_HUB_V1)["@context"]]
    converted["issuer"] = issuer
    converted["issuanceDate"] = credential["validFrom"]
    converted["evidence"] = [{**e, "type": [e["type"]]} for e in credential["evidence"]]
    return converted


def bench_didkit(credential: dict[str, Any], seconds: float) -> list[Row]:
    jwk = didkit.generate_ed25519_key()
    issuer = didkit.key_to_did("key", jwk)
    text = json.dumps(didkit_form(credential, issuer))

    async def method() -> str:
        found: str = await didkit.key_to_verification_method("key", jwk)
        return found

    vm = asyncio.run(method())
    rows = []
    for proof_format, label in (
        ("ldp", "didkit Ed25519Signature2018 (LD)"),
        ("jwt", "didkit JWT EdDSA"),
    ):
        issue_options = json.dumps(
            {
                "proofPurpose": "assertionMethod",
                "verificationMethod": vm,
                "proofFormat": proof_format,
            }
        )
        verify_options = json.dumps(
            {"proofPurpose": "assertionMethod", "proofFormat": proof_format}
        )

        async def issue(options: str = issue_options) -> str:
            signed: str = await didkit.issue_credential(text, options, jwk)
            return signed

        signed = asyncio.run(issue())

        async def verify(signed: str = signed, options: str = verify_options) -> dict[str, Any]:
            answer: dict[str, Any] = json.loads(await didkit.verify_credential(signed, options))
            return answer

        checked = asyncio.run(verify())
        assert not checked["errors"], checked
        rows.append(Row(label, arate(issue, seconds), arate(verify, seconds)))
    return rows


def bench_ed25519(seconds: float) -> Row:
    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    message = os.urandom(64)
    signature = key.sign(message)
    return Row(
        "Ed25519 raw (cryptography)",
        rate(lambda: key.sign(message), seconds),
        rate(lambda: public.verify(signature, message), seconds),
        note="64-byte message: the ceiling",
    )


# -- report ---------------------------------------------------------------------------------


def show(rows: list[Row], reference: Row) -> None:
    def figure(value: float | None) -> str:
        return f"{value:>10,.0f}" if value is not None else f"{'-':>10}"

    def ratio(value: float | None, base: float | None) -> str:
        return f"{value / base:>6.1f}x" if value is not None and base else f"{'':>7}"

    print(
        f"{'':<40}{'issue/s':>10}{'vs LD':>7}  {'verify/s':>10}{'vs LD':>7}"
        f"  {'warm/s':>10}{'vs LD':>7}"
    )
    for row in rows:
        print(
            f"{row.name:<40}{figure(row.issue)}{ratio(row.issue, reference.issue)}  "
            f"{figure(row.verify)}{ratio(row.verify, reference.verify)}  "
            f"{figure(row.verify_warm)}{ratio(row.verify_warm, reference.verify)}"
            + (f"  {row.note}" if row.note else "")
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    args = parser.parse_args()
    seconds: float = args.seconds
    print(machine_info())
    with tempfile.TemporaryDirectory(prefix="credentials-bench-") as directory:
        world = open_notary_world(Path(directory))
        try:
            credential = custody_credential(issuer=world.notary.did)
            size = len(json.dumps(credential))
            print(
                f"custody credential: {size:,} bytes of JSON; {seconds:g} s per figure; "
                f"notary {world.notary.did}, embedded chain at block {world.chain.block_number()}"
            )
            check_same_proofs(world, credential)
            rows = [bench_ed25519(seconds)]
            rows.append(
                bench_data_integrity(
                    world, credential, EddsaRdfc2022(PyldCanonicalizer()), "pyld", seconds
                )
            )
            rows.append(
                bench_data_integrity(
                    world, credential, EddsaRdfc2022(FastCanonicalizer()), "fast", seconds
                )
            )
            fragment, ed_key = world.notary.current_signing_key()
            rows.append(
                bench_jwt(
                    world, credential, "EdDSA", ed_key, f"{world.notary.did}#{fragment}", seconds
                )
            )
            node_key = ec.derive_private_key(
                int.from_bytes(bytes(world.node.key), "big"), ec.SECP256K1()
            )
            rows.append(
                bench_jwt(
                    world, credential, "ES256K", node_key, f"{world.notary.did}#controller", seconds
                )
            )
            didkit_rows = bench_didkit(credential, seconds)
        finally:
            world.chain.close()
    rows.extend(didkit_rows)
    print()
    show(rows, didkit_rows[0])
    print(
        "\nverify/s: hub resolves the notary's did:ethr by walking the embedded chain in process;"
        "\nwarm/s: vc+jwt with KeyCache(ttl_seconds=300), eddsa-rdfc-2022 with resolution memoised"
        " in this script; didkit resolves did:key in process."
    )


if __name__ == "__main__":
    main()
    # didkit's Rust runtime threads sometimes release the GIL during interpreter
    # finalization ("Fatal Python error: PyGILState_Release"), aborting after the
    # report; everything is printed, so leave without finalizing.
    sys.stdout.flush()
    os._exit(0)
