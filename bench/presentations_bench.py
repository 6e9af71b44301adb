"""Presentation create and verify per second beside credential issue and verify, in one run.

Issue 12 §5. Run from the repository root::

    .venv/bin/python bench/presentations_bench.py [--seconds S]

One process, one thread: every figure is operations per second of one sequential
caller (:func:`bench.didkit_reference.rate`, the best of three slices). The setup is
:mod:`bench.credentials_bench`'s: a fresh embedded chain with the notary of
:func:`testkit.notary_world.open_notary_world`, the realistic custody credential of
:mod:`testkit.custody_sample` with its revocation list published on chain, and its
"hub Verifier, full" rows (:func:`bench.credentials_bench.bench_verifier`): the
notary's :class:`~credentials.issuer.NotarySigner` issuing, the hub's
:class:`~credentials.verifier.Verifier` verifying with every check.

Presentation rows: a did:key holder (:func:`testkit.holder.did_key_holder`) presents
that credential, issued about it, with :func:`wallet.presentations.build_presentation`
(eddsa-rdfc-2022 over the Data Integrity credential; vp+jwt EdDSA over the vc+jwt one)
and the same verifier checks it with :meth:`~credentials.verifier.Verifier.verify_presentation`:
the holder's proof (challenge, domain, key as of ``created`` and now), then the
credential's full check and the holder binding. **walk** resolves the notary's did:ethr by
walking the chain; **warm** through the hub's caching resolver. Ratios are a
presentation's figure over its credential's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.credentials_bench import (  # noqa: E402
    bench_verifier,
    cached,
    publish_status,
    verifying_with,
)
from bench.didkit_reference import Row, rate  # noqa: E402
from bench.machine import machine_info  # noqa: E402
from credentials.data_integrity.eddsa_rdfc_2022 import EddsaRdfc2022  # noqa: E402
from credentials.issuer import NotarySigner  # noqa: E402
from credentials.jsonld.rdf_fast import FastCanonicalizer  # noqa: E402
from credentials.verifier import Verifier  # noqa: E402
from testkit.custody_sample import custody_credential  # noqa: E402
from testkit.holder import Holder, did_key_holder  # noqa: E402
from testkit.notary_world import NotaryWorld, open_notary_world  # noqa: E402
from wallet.presentations import Format, build_presentation  # noqa: E402

CHALLENGE = "bench-challenge-5b0c"
DOMAIN = "https://court.example"


def bench_presentations(
    world: NotaryWorld, credential: dict[str, Any], holder: Holder, seconds: float
) -> list[Row]:
    """Create and verify a presentation of ``credential`` (DI) and of its vc+jwt form."""
    suite = EddsaRdfc2022(FastCanonicalizer())
    signer = NotarySigner(
        world.notary, suite=suite, chain_time=lambda: world.chain.get_block("latest").timestamp
    )
    registry = world.deployment.status_lists.address if world.deployment.status_lists else None
    walk = Verifier(world.resolver, chain=world.chain, status_registry=registry)
    warm = Verifier(cached(world), chain=world.chain, status_registry=registry)
    carried: list[tuple[str, Format, Any]] = [
        ("eddsa-rdfc-2022", "di", signer.sign(credential)),
        ("vp+jwt EdDSA", "jwt", signer.sign_jwt(credential)),
    ]
    rows = []
    with verifying_with(suite):
        for label, fmt, secured in carried:
            create = partial(
                build_presentation,
                [secured],
                holder=holder.did,
                verification_method=holder.method,
                private_key=holder.key,
                challenge=CHALLENGE,
                domain=DOMAIN,
                fmt=fmt,
            )
            presentation = create()
            for verifier in (walk, warm):
                result = verifier.verify_presentation(
                    presentation, challenge=CHALLENGE, domain=DOMAIN
                )
                assert result.verified, result.to_json()
                assert any(c.endswith("].holder") for c in result.checks), result.checks
            check = partial(
                walk.verify_presentation, presentation, challenge=CHALLENGE, domain=DOMAIN
            )
            check_warm = partial(
                warm.verify_presentation, presentation, challenge=CHALLENGE, domain=DOMAIN
            )
            rows.append(
                Row(
                    f"presentation, {label}",
                    rate(create, seconds),
                    rate(check, seconds),
                    rate(check_warm, seconds),
                    "did:key holder; 1 credential",
                )
            )
    return rows


def show(credentials: list[Row], presentations: list[Row]) -> None:
    def figure(value: float | None) -> str:
        return f"{value:>10,.0f}" if value is not None else f"{'-':>10}"

    def ratio(value: float | None, base: float | None) -> str:
        return f"{value / base:>7.2f}x" if value is not None and base else f"{'':>8}"

    print(
        f"{'':<44}{'issue|create/s':>15}{'ratio':>8}  {'verify/s':>10}{'ratio':>8}"
        f"  {'warm/s':>10}{'ratio':>8}"
    )
    for row in credentials:
        print(f"{row.name:<44}{figure(row.issue):>15}{'':>8}  {figure(row.verify)}{'':>8}"
              f"  {figure(row.verify_warm)}{'':>8}")  # fmt: skip
    for row, base in zip(presentations, credentials, strict=True):
        print(
            f"{row.name:<44}{figure(row.issue):>15}{ratio(row.issue, base.issue)}  "
            f"{figure(row.verify)}{ratio(row.verify, base.verify)}  "
            f"{figure(row.verify_warm)}{ratio(row.verify_warm, base.verify_warm)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    args = parser.parse_args()
    seconds: float = args.seconds
    print(machine_info("presentations"))
    holder = did_key_holder("bench holder")
    with tempfile.TemporaryDirectory(prefix="presentations-bench-") as directory:
        world = open_notary_world(Path(directory))
        try:
            credential = custody_credential(issuer=world.notary.did)
            credential["credentialSubject"]["id"] = holder.did  # the depositor presents it
            print(
                f"custody credential: {len(json.dumps(credential)):,} bytes of JSON; "
                f"{seconds:g} s per figure; notary {world.notary.did}; holder {holder.did}"
            )
            publish_status(world, credential)
            credential_rows = bench_verifier(world, credential, seconds)
            presentation_rows = bench_presentations(world, credential, holder, seconds)
        finally:
            world.chain.close()
    print()
    show(credential_rows, presentation_rows)
    print(
        "\nratio: the presentation's figure over the credential's (same mechanism, same run);"
        "\nverify/s walks the chain for the notary's did:ethr; warm/s uses the hub's"
        " CachingResolver. A presentation verify includes its credential's full verify."
    )


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    os._exit(0)  # as credentials_bench: didkit's runtime may abort at finalization
