"""RDFC-1.0 canonicalization throughput, pyld vs the fast path: a script, not a test (issue 4).

Run from the repository root::

    .venv/bin/python bench/canonicalization_bench.py [--seconds S]

Documents: the custody credential of ``testkit/custody_sample.py`` (a
DataDepositCredential with an RFC 3161 token of 1.5 KB, a chain anchor receipt
and a status entry) and its eddsa-rdfc-2022 proof configuration. For each,
documents per second of one caller with ``PyldCanonicalizer`` and
``FastCanonicalizer`` (whose output is checked to be identical first), then
``check_terms``, and eddsa-rdfc-2022 ``create_proof`` / ``verify_proof`` with each
canonicalizer (two canonicalizations, hashing and Ed25519 each; no DID
resolution). Best of three runs of ``--seconds`` each.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def rate(seconds: float, fn: Callable[[], object]) -> float:
    """Calls per second: the best of three runs of about ``seconds`` each."""
    fn()
    best = 0.0
    for _ in range(3):
        calls, start = 0, time.perf_counter()
        deadline = start + seconds
        while True:
            for _ in range(10):
                fn()
            calls += 10
            now = time.perf_counter()
            if now >= deadline:
                break
        best = max(best, calls / (now - start))
    return best


def main() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from credentials.data_integrity.eddsa_rdfc_2022 import EddsaRdfc2022
    from credentials.jsonld.rdf_fast import FastCanonicalizer
    from credentials.jsonld.rdfc import PyldCanonicalizer
    from credentials.jsonld.strict import check_terms
    from credentials.keys.verification_methods import VerificationKey
    from testkit.custody_sample import NOTARY_DID, custody_credential, custody_proof_configuration

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()

    pyld, fast = PyldCanonicalizer(), FastCanonicalizer()
    credential = custody_credential()
    proof_config = custody_proof_configuration(credential)
    print(
        f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')}  python {platform.python_version()} "
        f"({platform.python_implementation()}), nproc {os.cpu_count()}"
    )
    print(f"custody credential: {len(pyld.canonize(credential).splitlines())} quads\n")
    print(f"{'document':<28}{'pyld /s':>10}{'fast /s':>10}{'speedup':>9}")
    for name, document in (
        ("custody credential", credential),
        ("proof configuration", proof_config),
    ):
        canonical = fast.try_canonize(document)
        assert canonical is not None, "the fast path must handle the benchmark documents"
        assert canonical == pyld.canonize(document), "fast and pyld outputs differ"
        slow_rate = rate(args.seconds, partial(pyld.canonize, document))
        fast_rate = rate(args.seconds, partial(fast.canonize, document))
        print(f"{name:<28}{slow_rate:>10,.0f}{fast_rate:>10,.0f}{fast_rate / slow_rate:>8.1f}x")

    checks = rate(args.seconds, lambda: check_terms(credential))
    print(f"\ncheck_terms(custody credential): {checks:,.0f} /s")

    private_key = Ed25519PrivateKey.generate()
    key = VerificationKey(
        id=NOTARY_DID + "#controllerKey",
        controller=NOTARY_DID,
        type="Multikey",
        ed25519=private_key.public_key(),
    )
    options = {k: v for k, v in proof_config.items() if k != "@context"}
    print(f"\n{'eddsa-rdfc-2022':<28}{'pyld /s':>10}{'fast /s':>10}{'speedup':>9}")
    suites = {"pyld": EddsaRdfc2022(pyld), "fast": EddsaRdfc2022(fast)}
    proof = suites["fast"].create_proof(credential, options, private_key)
    suites["pyld"].verify_proof(credential, proof, key)
    rates: dict[str, dict[str, float]] = {"sign": {}, "verify": {}}
    for label, suite in suites.items():
        rates["sign"][label] = rate(
            args.seconds, partial(suite.create_proof, credential, options, private_key)
        )
        rates["verify"][label] = rate(
            args.seconds, partial(suite.verify_proof, credential, proof, key)
        )
    for operation, by_suite in rates.items():
        slow_rate, fast_rate = by_suite["pyld"], by_suite["fast"]
        print(
            f"{operation:<28}{slow_rate:>10,.0f}{fast_rate:>10,.0f}{fast_rate / slow_rate:>8.1f}x"
        )


if __name__ == "__main__":
    main()
