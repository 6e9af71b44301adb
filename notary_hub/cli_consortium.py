"""``notary-hub consortium``: sign and submit applications, list proposals, vote, list members.

An applicant signs its application offline with ``sign-application`` (issue 9 item
10: its DID key and its node key sign the EIP-712 payload of
:mod:`did_registry.consortium.application`, for the chain id and registry address
the consortium publishes); a member's hub submits it with ``apply``. Every other
command opens the hub as ``serve`` does (creating the embedded default on first use)
and acts as the hub's member account. Failures are one line,
``error: <code>: <reason>``, as everywhere in the CLI; a refused application names
the check that failed (certificate, signature, expiry, target, nonce), and nothing
is sent.

The trusted CA roots (a PEM bundle) come from ``--trusted-ca`` or
``NOTARY_HUB_CONSORTIUM_TRUSTED_CA_FILE``, CRLs from ``--crl`` (repeatable) or
``NOTARY_HUB_CONSORTIUM_CRL_FILES`` (a JSON list of paths).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from cryptography import x509
from cryptography.x509.oid import NameOID
from eth_account.signers.local import LocalAccount
from rich.console import Console
from rich.table import Table

from did_registry.consortium.application import (
    DEFAULT_LIFETIME,
    ApplicationContent,
    SignedApplication,
)
from did_registry.consortium.certificates import load_certificates, load_crl, parse_chain
from did_registry.consortium.errors import MalformedApplication
from did_registry.consortium.models import to_json
from did_registry.consortium.service import ConsortiumService
from did_registry.consortium.signing import load_private_key, new_content, sign_application
from did_registry.errors import DidError
from notary_hub.cli_remote import ask_serving_hub
from notary_hub.cli_support import PlainFlagsGroup, cli_errors, fail, flag, hub_settings, iso_time
from notary_hub.cli_support import out as console
from notary_hub.hub import open_hub
from notary_hub.hub_urls import ethr_networks
from notary_hub.serving import running_hub

consortium_app = typer.Typer(
    help="Consortium membership: applications, proposals, votes.",
    no_args_is_help=True,
    cls=PlainFlagsGroup,
)


TRUSTED_CA_ENV = "NOTARY_HUB_CONSORTIUM_TRUSTED_CA_FILE"

_WIDE = 1000  # a table is as wide as its content, whatever the terminal

JsonOption = Annotated[bool, flag("--json", help="Machine-readable output.")]


@contextmanager
def consortium_errors() -> Iterator[None]:
    """The hub's one-line errors, plus the DID registry's (certificate, DID, vote refusals)."""
    with cli_errors():
        try:
            yield
        except DidError as exc:
            fail(exc.code, exc.message)


@contextmanager
def open_service(
    trusted_ca: Path | None = None,
    crl_files: Sequence[Path] = (),
    *,
    need_roots: bool = False,
    resolve_dids: bool = False,
) -> Iterator[ConsortiumService]:
    """The hub's consortium service; ``resolve_dids``: first bring the DID index up to the
    chain (``serve`` keeps it there; a command run alone must, to judge DID keys)."""
    settings = hub_settings()
    trusted_ca = trusted_ca or settings.consortium.trusted_ca_file
    crl_files = list(crl_files) or settings.consortium.crl_files
    if need_roots and trusted_ca is None:
        fail("no_trusted_roots", f"no trusted CA roots: pass --trusted-ca or set {TRUSTED_CA_ENV}")
    with consortium_errors():
        roots = _read_roots(trusted_ca) if trusted_ca else []
        crls = [_read_crl(path) for path in crl_files]
        hub = open_hub(settings)
        try:
            if resolve_dids:
                hub.indexer.catch_up()
            yield ConsortiumService(
                hub.deployment.consortium,
                hub.transactor,
                hub.sessions,
                roots,
                crls,
                resolver=hub.resolver,
                networks=ethr_networks(settings, hub.chain.chain_id),
            )
        finally:
            hub.close()


def _read_roots(path: Path) -> list[x509.Certificate]:
    try:
        return load_certificates(path.read_bytes())
    except ValueError as exc:
        fail("invalid_trusted_ca", f"{path} is not a PEM bundle of certificates: {exc}")


def _read_crl(path: Path) -> x509.CertificateRevocationList:
    try:
        return load_crl(path.read_bytes())
    except ValueError as exc:
        fail("invalid_crl", f"{path} is not a CRL (PEM or DER): {exc}")


def _show(records: Sequence[Any], columns: Sequence[str], as_json: bool, key: str) -> None:
    rows = [to_json(record) for record in records]
    if as_json:
        sys.stdout.write(json.dumps({key: rows}, indent=2) + "\n")
        return
    if not rows:
        console.print(f"no {key}", markup=False, highlight=False)
        return
    table = Table(*columns, box=None)
    for row in rows:
        table.add_row(*(_cell(row.get(column), column) for column in columns))
    # Addresses are copied from here into votes and removals: never wrap or cut them.
    Console(width=_WIDE, soft_wrap=True).print(table)


def _cell(value: Any, column: str = "") -> str:
    if column.endswith("At") and isinstance(value, int) and value:  # block timestamps
        return iso_time(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    return "-" if value is None else str(value)


@consortium_app.command("sign-application")
def sign(
    chain: Annotated[Path, typer.Option("--chain", help="PEM certificate chain, leaf first.")],
    did: Annotated[str, typer.Option("--did", help="The organisation's did:ethr (or did:key).")],
    did_key: Annotated[
        Path, typer.Option("--did-key", help="Private key of the DID (hex, or PEM PKCS#8).")
    ],
    node_key: Annotated[Path, typer.Option("--node-key", help="Private key of the node (hex).")],
    node_type: Annotated[str, typer.Option("--type", help="service or producer.")],
    chain_id: Annotated[int, typer.Option("--chain-id", help="The consortium chain's id.")],
    consortium: Annotated[
        str, typer.Option("--consortium", help="The ConsortiumRegistry address.")
    ],
    organisation: Annotated[
        str | None, typer.Option("--organisation", help="Name; default: the certificate's O.")
    ] = None,
    organisation_address: Annotated[
        str | None, typer.Option("--organisation-address", help="Member address (did:key).")
    ] = None,
    method: Annotated[
        str | None,
        typer.Option("--verification-method", help="DID key id; default #controller / did:key."),
    ] = None,
    lifetime: Annotated[
        int, typer.Option("--lifetime", min=60, help="Seconds the signature stays valid.")
    ] = DEFAULT_LIFETIME,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write here (default: standard output).")
    ] = None,
) -> None:
    """Sign an application with the DID key and the node key (offline; see the docs)."""
    with consortium_errors():
        chain_pem = chain.read_bytes()
        signer, node = _signing_keys(did_key, node_key)
        content = new_content(
            organisation=organisation or _organisation_of(chain_pem),
            did=did,
            organisation_address=organisation_address,
            node_address=node.address,
            node_type=node_type,
            certificate_chain=chain_pem,
            chain_id=chain_id,
            consortium=consortium,
            lifetime=lifetime,
        )
        signed = sign_application(
            content, chain_pem, did_key=signer, node_key=node, verification_method=method
        )
        document = json.dumps(signed.to_json(), indent=2) + "\n"
        if out is None:
            sys.stdout.write(document)
            return
        out.write_text(document)
    _report_signed(content, out)


def _signing_keys(did_key: Path, node_key: Path) -> tuple[Any, LocalAccount]:
    """The DID's signer (secp256k1 or Ed25519) and the node's account (secp256k1 only)."""
    signer = _key(did_key, "DID key")
    node = _key(node_key, "node key")
    if not isinstance(node, LocalAccount):
        fail("invalid_key_file", f"the node key {node_key} must be a secp256k1 key")
    return signer, node


def _report_signed(content: ApplicationContent, out: Path) -> None:
    console.print(
        f"signed the application of {content.organisation} ({content.did}) for node "
        f"{content.node_address} on chain {content.chain_id}, registry {content.consortium}; "
        f"expires {iso_time(content.expires)}: {out}",
        markup=False,
        highlight=False,
    )


def _key(path: Path, what: str) -> Any:
    try:
        return load_private_key(path.read_bytes(), what)
    except ValueError as exc:
        fail("invalid_key_file", f"{path}: {exc}")


def _organisation_of(chain_pem: bytes) -> str:
    names = parse_chain(chain_pem)[0].subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    if not names:
        fail("invalid_application", "the certificate names no organisation: --organisation")
    return str(names[0].value).strip()


@consortium_app.command("apply")
def apply(
    application_file: Annotated[
        Path, typer.Argument(help="Signed application (JSON, from sign-application); - for stdin.")
    ],
    trusted_ca: Annotated[
        Path | None, typer.Option("--trusted-ca", help=f"Trusted roots (PEM); or {TRUSTED_CA_ENV}.")
    ] = None,
    crl: Annotated[
        list[Path] | None, typer.Option("--crl", help="CRL file, PEM or DER (repeatable).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check a signed application and propose the organisation (and its node) to the members."""
    with consortium_errors():
        text = sys.stdin.read() if str(application_file) == "-" else application_file.read_text()
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MalformedApplication(f"{application_file} is not JSON: {exc}") from None
        signed = SignedApplication.from_json(document)
    body = _apply_through_serving_hub(document, trusted_ca, crl)
    if body is None:
        with (
            open_service(trusted_ca, crl or (), need_roots=True, resolve_dids=True) as service,
            consortium_errors(),
        ):
            application = service.apply(signed)
        body = to_json(application)
    if as_json:
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
        return
    ids = [i for i in (body.get("memberProposalId"), body.get("nodeProposalId")) if i]
    console.print(
        f"application {body.get('id')} for {body.get('organisationName')} "
        f"({body.get('organisationAddress')}), node {body.get('nodeAddress')}: "
        f"{body.get('state')}, proposal {', '.join(map(str, ids))}; "
        f"evidence {body.get('evidenceHash')}",
        markup=False,
        highlight=False,
    )


def _apply_through_serving_hub(
    document: dict[str, Any], trusted_ca: Path | None, crl: list[Path] | None
) -> dict[str, Any] | None:
    """The application as the serving hub recorded it, or ``None`` when none serves.

    The hub checks it against its own configured roots and CRLs
    (``NOTARY_HUB_CONSORTIUM_TRUSTED_CA_FILE``): roots given here could not apply there.
    """
    settings = hub_settings()
    if running_hub(settings.data_dir) is None:
        return None
    if trusted_ca is not None or crl:
        fail(
            "hub_serving",
            "a hub serves this data directory and checks applications against its own "
            "trusted roots (NOTARY_HUB_CONSORTIUM_TRUSTED_CA_FILE): drop --trusted-ca/--crl",
        )
    answer = ask_serving_hub(settings, "/consortium/applications", document)
    if answer is None:
        return None
    application: dict[str, Any] = answer["application"]
    return application


@consortium_app.command("applications")
def applications(as_json: JsonOption = False) -> None:
    """The applications this hub has recorded."""
    with open_service() as service, consortium_errors():
        found = service.applications()
    columns = ("id", "organisationName", "nodeAddress", "nodeType", "state", "memberProposalId",
               "nodeProposalId")  # fmt: skip
    _show(found, columns, as_json, "applications")


@consortium_app.command("advance")
def advance(as_json: JsonOption = False) -> None:
    """Follow votes cast elsewhere: propose admitted members' nodes, close decided applications."""
    with open_service() as service, consortium_errors():
        moved = service.advance()
    columns = ("id", "organisationName", "state", "nodeProposalId", "lastError")
    _show(moved, columns, as_json, "applications")


@consortium_app.command("proposals")
def proposals(
    open_only: Annotated[bool, flag("--open", help="Only open proposals.")] = False,
    as_json: JsonOption = False,
) -> None:
    """The consortium's proposals, read from the chain."""
    with open_service() as service, consortium_errors():
        found = service.proposals(open_only=open_only)
    columns = ("id", "kind", "target", "name", "yesVotes", "noVotes", "state")
    _show(found, columns, as_json, "proposals")


@consortium_app.command("vote")
def vote(
    proposal_id: Annotated[int, typer.Argument(help="Proposal id.")],
    support: Annotated[bool, typer.Option("--yes/--no", help="For or against.", metavar="")],
    as_json: JsonOption = False,
) -> None:
    """Vote on a proposal as the hub's member account (through the hub, while it serves)."""
    path = f"/consortium/proposals/{proposal_id}/votes"
    outcome = ask_serving_hub(hub_settings(), path, {"support": support})
    if outcome is None:
        with open_service() as service, consortium_errors():
            outcome = to_json(service.vote(proposal_id, support))
    if as_json:
        sys.stdout.write(json.dumps(outcome, indent=2) + "\n")
        return
    result = "executed" if outcome["executed"] else "rejected" if outcome["rejected"] else "open"
    console.print(
        f"voted {'yes' if support else 'no'} on proposal {proposal_id}: "
        f"{outcome['yesVotes']} yes, {outcome['noVotes']} no, {result}",
        markup=False,
        highlight=False,
    )


@consortium_app.command("members")
def members(as_json: JsonOption = False) -> None:
    """Current members and their nodes."""
    with open_service() as service, consortium_errors():
        found = service.members()
    _show(found, ("address", "name", "role", "joinedAt", "nodes"), as_json, "members")


@consortium_app.command("nodes")
def nodes(as_json: JsonOption = False) -> None:
    """Current nodes, their owners and types."""
    with open_service() as service, consortium_errors():
        found = service.nodes()
    _show(found, ("address", "owner", "nodeType", "addedAt"), as_json, "nodes")


@consortium_app.command("remove")
def remove(
    member: Annotated[str, typer.Argument(help="Address of the member to remove.")],
    reason: Annotated[str | None, typer.Option(help="Why (hashed into the proposal).")] = None,
) -> None:
    """Propose removing a member and all its nodes (through the hub, while it serves)."""
    answer = ask_serving_hub(hub_settings(), f"/consortium/members/{member}/removal",
                             {"reason": reason})  # fmt: skip
    if answer is not None:
        proposal = answer["proposal"]
    else:
        with open_service() as service, consortium_errors():
            proposal = to_json(service.propose_removal(member, reason))
    console.print(
        f"proposal {proposal['id']}: remove member {proposal['target']}",
        markup=False,
        highlight=False,
    )
