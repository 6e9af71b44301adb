"""``notary-hub keys``: the notary's DID and its keys (issue 3 §7).

``keys show`` prints the notary DID, its current signing and key-agreement keys
and every key in the key store with its state on chain and its verification
method id (read from the DID document the chain-walking resolver builds, so the
id is the one verifiers see). ``keys rotate [--revoke-old]`` publishes a new
signing key, which becomes current, and optionally revokes the previous one.

Both open an existing hub (``init`` or ``serve`` creates one; ``no_data_dir`` otherwise). The
embedded chain has one writer (issue 11): while ``serve`` runs on the data directory,
``keys rotate`` asks it to rotate (``POST /admin/keys/rotate``, found through
``serve.json``) and ``keys show`` is refused with the holder's pid. Errors follow
``notary_hub.cli_support``: one ``error: <code>: <message>`` line and a non-zero exit.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.table import Table

from did_registry.errors import DidError
from did_registry.ethr.chain_walker import ChainWalkerSource
from did_registry.ethr.resolver import EthrResolver
from did_registry.notary_identity import (
    NotaryIdentity,
    NotaryKey,
    open_notary_identity,
    verification_method_fragment,
)
from notary_hub.admin_router import rotation_json
from notary_hub.cli_remote import ask_serving_hub
from notary_hub.cli_support import PlainFlagsGroup, cli_errors, err, fail, flag, hub_settings, out
from notary_hub.hub import open_hub

keys_app = typer.Typer(
    help="The notary's DID and its keys.", no_args_is_help=True, cls=PlainFlagsGroup
)

_RELATIONSHIP = {"ed25519": "assertionMethod", "x25519": "keyAgreement"}


@contextmanager
def _notary() -> Iterator[NotaryIdentity]:
    settings = hub_settings()  # never creates a data directory: `init` or `serve` does
    with cli_errors():
        try:
            hub = open_hub(settings)
            try:
                resolver = EthrResolver(
                    {
                        hub.chain.chain_id: ChainWalkerSource(
                            hub.chain, hub.deployment.did_registry.address
                        )
                    }
                )
                notary = open_notary_identity(
                    hub.keystore, hub.registrar, resolver=resolver, created=hub.created
                )
                for line in hub.created:
                    err.print(f"created {line}", markup=False, highlight=False)
                yield notary
            finally:
                hub.close()
        except DidError as exc:
            fail(exc.code, exc.message)


def _key_json(key: NotaryKey, document: Mapping[str, Any]) -> dict[str, Any]:
    fragment = verification_method_fragment(document, key.public_key, _RELATIONSHIP[key.kind])
    return {
        "name": key.name,
        "kind": key.kind,
        "state": key.state,
        "validTo": key.valid_to,
        "attribute": key.attribute,
        "publicKeyBase64": key.public_key_base64,
        "verificationMethod": f"#{fragment}" if fragment else None,
    }


def _newest_published(keys: list[dict[str, Any]], kind: str) -> str | None:
    published = [k["name"] for k in keys if k["kind"] == kind and k["state"] == "published"]
    return published[-1] if published else None


@keys_app.command("show")
def keys_show(
    as_json: Annotated[bool, flag("--json", help="Machine-readable output.")] = False,
) -> None:
    """The notary DID, its current keys and every key with its state on chain."""

    with _notary() as notary:
        document = notary.document()
        keys = [_key_json(key, document) for key in notary.list_keys()]
        current = {kind: _newest_published(keys, kind) for kind in _RELATIONSHIP}
        info = {
            "did": notary.did,
            "controller": notary.address,
            "signingKey": current["ed25519"],
            "keyAgreementKey": current["x25519"],
            "keys": keys,
        }
    if as_json:
        sys.stdout.write(json.dumps(info, indent=2) + "\n")
        return
    out.print(f"did               {info['did']}", markup=False, highlight=False)
    out.print(f"controller        {info['controller']}", markup=False, highlight=False)
    out.print(f"signing key       {info['signingKey']}", markup=False, highlight=False)
    out.print(f"key-agreement key {info['keyAgreementKey']}", markup=False, highlight=False)
    table = Table("name", "state", "method", box=None)
    table.add_column("public key (base64)", overflow="fold")  # never cut a key short
    for key in keys:
        table.add_row(
            key["name"], key["state"], key["verificationMethod"] or "-", key["publicKeyBase64"]
        )
    out.print(table)


@keys_app.command("rotate")
def keys_rotate(
    revoke_old: Annotated[
        bool, flag("--revoke-old", help="Also revoke the previous signing key on chain.")
    ] = False,
) -> None:
    """Publish a new signing key and sign with it from now on (the old one stays stored).

    While `notary-hub serve` runs on this data directory, the running hub rotates
    (POST /admin/keys/rotate): the embedded chain has one writer.
    """
    rotation = ask_serving_hub(hub_settings(), "/admin/keys/rotate", {"revokeOld": revoke_old})
    if rotation is None:
        with _notary() as notary:
            rotation = rotation_json(notary.rotate(revoke_old=revoke_old))
    _print_rotation(rotation)


def _print_rotation(rotation: dict[str, Any]) -> None:
    published = rotation["published"]
    out.print(
        f"signing key {rotation['current']} published in transaction "
        f"{published['transactionHash']} (block {published['blockNumber']})",
        markup=False,
        highlight=False,
    )
    if rotation["previous"] is not None:
        if rotation["revoked"] is not None:
            what = f"revoked in transaction {rotation['revoked']['transactionHash']}"
        else:
            what = "still valid (use --revoke-old to revoke it)"
        out.print(
            f"previous signing key {rotation['previous']}: {what}", markup=False, highlight=False
        )
