"""``notary-hub wallet login URL_OR_QR_PAYLOAD``: sign in to a hub's page with the wallet.

The wallet's side of OpenID4VP (:mod:`wallet.openid4vp_login`): the request object is
fetched from the link's own origin and verified against that hub's published key; the
requesting verifier and the short code are shown, and the holder confirms that the
page shows the same code (``--yes`` when a script has checked it); then a presentation
of the DID (or of the credentials named), bound to the request's nonce and to the
verifier, is posted. The default format is a Data Integrity presentation when the DID
has an Ed25519 authentication key, else a ``vp+jwt`` signed by its controller key.
"""

from __future__ import annotations

from typing import Annotated

import typer

from notary_hub.cli_support import cli_errors, err, fail, flag, out
from notary_hub.cli_wallet_support import chain_of, opened
from wallet.holder_keys import signing_choice
from wallet.hub_client import HubClient
from wallet.openid4vp_login import answer, fetch_request, parse_link
from wallet.presentations import FORMATS, build_presentation


def login(
    ctx: typer.Context,
    link: Annotated[
        str, typer.Argument(metavar="URL_OR_QR_PAYLOAD", help="The page's openid4vp:// link.")
    ],
    credential_ids: Annotated[
        list[str] | None,
        typer.Option("--credential", metavar="ID", help="A credential to present as well."),
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="di (eddsa-rdfc-2022) or jwt (vp+jwt).")
    ] = None,
    did: Annotated[
        str | None, typer.Option("--did", metavar="DID", help="The holder (default: the first).")
    ] = None,
    yes: Annotated[bool, flag("--yes", help="Do not ask to compare the code.")] = False,
) -> None:
    """Sign in to a hub's page: show who asks and the code, then answer with the DID."""
    if fmt is not None and fmt not in FORMATS:
        fail("invalid_option", f"--format is one of {', '.join(FORMATS)}, not {fmt!r}", 2)
    with cli_errors():
        target = parse_link(link)
    with opened(ctx) as wallet:
        record = wallet.did(did)
        documents = [wallet.credentials.get(c).document for c in credential_ids or []]
        with cli_errors(), HubClient(target.client_id, None) as hub:
            request = fetch_request(hub, target)
            out.print(f"sign in to {request.client_id}", markup=False, highlight=False)
            out.print(f"code {request.code or '(none)'}", markup=False, highlight=False)
            if not yes and not typer.confirm("Does the page show the same code?", err=True):
                fail("login_declined", "not signed in: the codes differ or you declined")
            with chain_of(wallet) as chain:
                document = chain.document(record.did)
            chosen, key, method = signing_choice(wallet, record, document, fmt)
            presentation = build_presentation(
                documents,
                holder=record.did,
                verification_method=method,
                private_key=key.private_key,
                challenge=request.nonce,
                domain=request.client_id,
                fmt=chosen,
                require_credentials=False,
            )
            answer(hub, request, chosen, presentation)
    err.print(f"signed in as {record.did}", markup=False, highlight=False)
