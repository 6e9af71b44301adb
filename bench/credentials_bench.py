"""Credential issue and verify throughput, the hub beside didkit: a script, not a test (issue 4 §8).

Run from the repository root::

    .venv/bin/python bench/credentials_bench.py [--seconds S]

One process, one thread, one run: every figure is operations per second of one
sequential caller, measured for ``--seconds`` (default 3) after one warm-up call, as
the best of three equal slices of that time (the machine is shared; the least
disturbed slice is the closest to what the code costs).
The credential is the realistic custody credential of :mod:`testkit.custody_sample`
(a ``DataDepositCredential`` with a 1.5 KB RFC 3161 token, a chain anchor receipt
as ``@json`` and a status entry), issued by the notary of a fresh embedded chain
(the ``notary_world`` setup of the tests).

Rows:

- **Ed25519 (cryptography)**: raw sign / verify of 64 bytes (what eddsa-rdfc-2022
  signs), the ceiling for any Ed25519 mechanism;
- **hub eddsa-rdfc-2022**: :func:`credentials.data_integrity.proofs.add_proof` /
  :func:`~credentials.data_integrity.proofs.verify_proof` with pyld's canonicalizer
  (:class:`~credentials.jsonld.rdfc.PyldCanonicalizer`) and with the fast one
  (:class:`~credentials.jsonld.rdf_fast.FastCanonicalizer`);
- **hub vc+jwt**: :func:`credentials.jose.vc_jose.sign_credential_jwt` /
  :func:`~credentials.jose.vc_jose.verify_credential_jwt`, EdDSA with the notary's
  Ed25519 key and ES256K with its controller key (``#controller``, an address-only
  method: the public key is recovered from the signature);
- **hub Verifier, full**: the lead's :class:`credentials.verifier.Verifier` (structure,
  context terms, proof with the issuer bound to the key, validity, and status: the
  credential's revocation list read from the chain, where the bench publishes it
  first), over credentials issued by :class:`credentials.issuer.NotarySigner`, for
  eddsa-rdfc-2022 with the fast canonicalizer and for vc+jwt EdDSA;
- **didkit LD / JWT**: the reference (:mod:`bench.didkit_reference`), PyPI ``didkit``
  0.3.3 ``Ed25519Signature2018`` and JWT with a did:key, on the same credential in
  the VC 1.1 form didkit accepts. Ratios are against its linked-data figures.

Hub verification resolves the issuer's did:ethr as of the proof's ``created`` (the
token's ``iat``) and is measured two ways: **walk**, the chain walker on the
embedded chain in process (what a verifier with a node does on every call), and
**warm**, resolution answered from memory: for the vc+jwt rows the library's own
:class:`~credentials.jose.key_cache.KeyCache` (``ttl_seconds=300``); for Data
Integrity and the Verifier the hub's :class:`~did_registry.caching_resolver.CachingResolver`
(what the hub's verifier uses). didkit resolves its did:key in process.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from bench.didkit_reference import Row, bench_didkit, rate, version  # noqa: E402
from bench.machine import machine_info  # noqa: E402
from credentials.data_integrity.eddsa_rdfc_2022 import EddsaRdfc2022  # noqa: E402
from credentials.data_integrity.proofs import (  # noqa: E402
    SUITES,
    ProofOptions,
    SigningKey,
    add_proof,
    verify_proof,
)
from credentials.issuer import NotarySigner  # noqa: E402
from credentials.jose.key_cache import KeyCache  # noqa: E402
from credentials.jose.vc_jose import sign_credential_jwt, verify_credential_jwt  # noqa: E402
from credentials.jsonld.rdf_fast import FastCanonicalizer  # noqa: E402
from credentials.jsonld.rdfc import PyldCanonicalizer  # noqa: E402
from credentials.status.anchor import RegistryPublisher  # noqa: E402
from credentials.status.bitstring import Bitstring, compress_bits  # noqa: E402
from credentials.verifier import Verifier  # noqa: E402
from did_registry.caching_resolver import CachingResolver, unpinned  # noqa: E402
from did_registry.ethr.chain_walker import ChainWalkerSource  # noqa: E402
from testkit.custody_sample import custody_credential  # noqa: E402
from testkit.notary_world import NotaryWorld, open_notary_world  # noqa: E402

# -- the hub --------------------------------------------------------------------------------


def cached(world: NotaryWorld) -> CachingResolver:
    """The hub's resolution cache over the chain walker: a proof's ``created`` is in the
    past, so after the first call its DID version comes from memory until evicted."""
    walker = ChainWalkerSource(world.chain, world.deployment.did_registry.address)
    return CachingResolver(world.resolver, unpinned(walker.head))


def chain_now(world: NotaryWorld) -> int:
    """Now, or the chain head's time if later: the embedded chain seals blocks at
    max(now, parent + 1), so after the setup its head runs a few seconds ahead, and a
    proof dated before the block that published its key would not verify."""
    return max(int(time.time()), world.chain.get_block("latest").timestamp)


@contextlib.contextmanager
def verifying_with(suite: EddsaRdfc2022) -> Iterator[None]:
    """verify_proof looks suites up in ``SUITES`` by name: point the name at ``suite``."""
    saved = SUITES[suite.name]
    SUITES[suite.name] = suite
    try:
        yield
    finally:
        SUITES[suite.name] = saved


def bench_data_integrity(
    world: NotaryWorld, credential: dict[str, Any], suite: EddsaRdfc2022, label: str, seconds: float
) -> Row:
    fragment, private_key = world.notary.current_signing_key()
    key = SigningKey(f"{world.notary.did}#{fragment}", private_key)
    options = ProofOptions(created=datetime.fromtimestamp(chain_now(world), UTC))
    signed = add_proof(credential, suite=suite, key=key, options=options)
    warm = cached(world)
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


def publish_status(world: NotaryWorld, credential: dict[str, Any]) -> None:
    """The credential's revocation list, all clear, published on chain for the Verifier."""
    assert world.deployment.status_lists is not None
    publisher = RegistryPublisher(world.transactor, world.deployment.status_lists)
    anchor = publisher.anchor_for(credential["credentialStatus"]["statusListCredential"])
    publisher.publish(anchor.list_id, compress_bits(Bitstring()))


def bench_verifier(world: NotaryWorld, credential: dict[str, Any], seconds: float) -> list[Row]:
    """Issue with the hub's signer, verify with every check of the hub's Verifier."""
    suite = EddsaRdfc2022(FastCanonicalizer())
    signer = NotarySigner(
        world.notary,
        suite=suite,
        chain_time=lambda: world.chain.get_block("latest").timestamp,
        controller_key=bytes(world.node.key),
    )
    # The hub's configuration: the status registry is known (the CLI finds it by its code).
    registry = world.deployment.status_lists.address if world.deployment.status_lists else None
    walk = Verifier(world.resolver, chain=world.chain, status_registry=registry)
    warm = Verifier(cached(world), chain=world.chain, status_registry=registry)
    issuers: list[tuple[str, Callable[[], Any]]] = [
        ("eddsa-rdfc-2022 fast", partial(signer.sign, credential)),
        ("vc+jwt EdDSA", partial(signer.sign_jwt, credential)),
    ]
    rows = []
    with verifying_with(suite):
        for label, issue in issuers:
            secured = issue()
            for verifier in (walk, warm):
                result = verifier.verify_credential(secured)
                assert result.verified and "status" in result.checks, result.to_json()
            rows.append(
                Row(
                    f"hub Verifier, full: {label}",
                    rate(issue, seconds),
                    rate(partial(walk.verify_credential, secured), seconds),
                    rate(partial(warm.verify_credential, secured), seconds),
                    "NotarySigner; status on chain",
                )
            )
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
    print(machine_info(f"didkit {version()}"))
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
            publish_status(world, credential)
            rows.extend(bench_verifier(world, credential, seconds))
            didkit_rows = bench_didkit(credential, seconds)
        finally:
            world.chain.close()
    rows.extend(didkit_rows)
    print()
    show(rows, didkit_rows[0])
    print(
        "\nverify/s: hub resolves the notary's did:ethr by walking the embedded chain in process;"
        "\nwarm/s: hub vc+jwt with KeyCache(ttl_seconds=300); eddsa-rdfc-2022 and the Verifier"
        " with the hub's CachingResolver; didkit resolves did:key in process."
    )


if __name__ == "__main__":
    main()
    # didkit's Rust runtime threads sometimes release the GIL during interpreter
    # finalization ("Fatal Python error: PyGILState_Release"), aborting after the
    # report; everything is printed, so leave without finalizing.
    sys.stdout.flush()
    os._exit(0)
