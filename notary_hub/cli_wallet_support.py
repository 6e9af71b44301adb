"""What the ``notary-hub wallet`` commands share: the wallet directory, the passphrase,
the opened wallet, its hub (with the dev API token, or signed in as the wallet's DID) and
chain, and the custody letter's full check.

The passphrase comes from ``NOTARY_HUB_WALLET_PASSPHRASE`` or a hidden prompt, never
from an option (it would sit in the shell history and the process list). A wallet is
opened for one command and closed after it: while open, it holds the wallet's lock, so
a second process is refused (``wallet_busy``). The CLI layer adds what the ``wallet``
package may not import: the custody letter's timestamp, anchor and file checks
(:class:`evidence.deposit.letter_verification.LetterVerifier`).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from credentials.verification import VerificationResult
from evidence.deposit.letter_verification import FILE_CHUNK, LetterVerifier
from evidence.draw.letter_verification import DrawLetterVerifier, is_draw_letter
from notary_hub.cli_support import cli_errors, out
from notary_hub.verify_report import is_letter
from wallet.chain_view import ChainView
from wallet.holder_keys import did_presenter
from wallet.hub_client import HubClient, NoHub
from wallet.hub_session import HubSession
from wallet.paths import wallet_dir
from wallet.receiving import ExtraCheck
from wallet.wallet import Wallet

# Names of environment variables, not secrets.
PASSPHRASE_ENV = "NOTARY_HUB_WALLET_PASSPHRASE"  # noqa: S105
KEYSTORE_PASSWORD_ENV = "NOTARY_HUB_KEYSTORE_PASSWORD"  # noqa: S105


@dataclass
class WalletOptions:
    """The ``wallet`` group's options, handed to its commands in ``ctx.obj``."""

    directory: Path | None = None


def directory(ctx: typer.Context) -> Path:
    options = ctx.find_object(WalletOptions)
    return wallet_dir(options.directory if options is not None else None)


def passphrase(*, confirm: bool = False, what: str = "Wallet passphrase") -> str:
    """The wallet passphrase: the environment's, else asked without echo."""
    from_env = os.environ.get(PASSPHRASE_ENV)
    if from_env:
        return from_env
    answer: str = typer.prompt(what, hide_input=True, confirmation_prompt=confirm, err=True)
    return answer


def secret_input(env: str, what: str, *, confirm: bool = False) -> str:
    """A secret from ``env`` or a hidden prompt (a keystore password, a recovery phrase)."""
    from_env = os.environ.get(env)
    if from_env:
        return from_env
    answer: str = typer.prompt(what, hide_input=True, confirmation_prompt=confirm, err=True)
    return answer


def recovery_phrase() -> str:
    """The recovery phrase: one line of stdin when it is not a terminal, else a hidden prompt."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().strip()
    answer: str = typer.prompt("Recovery phrase", hide_input=True, err=True)
    return answer.strip()


@contextmanager
def opened(ctx: typer.Context) -> Iterator[Wallet]:
    """The wallet, unlocked and locked against other processes until the command ends."""
    where = directory(ctx)
    secret = passphrase()
    with cli_errors():
        wallet = Wallet.open(where, secret)
    try:
        with cli_errors():
            yield wallet
    finally:
        wallet.close()


@contextmanager
def hub_of(wallet: Wallet) -> Iterator[HubClient]:
    with cli_errors(), HubClient(wallet.config.hub_url, wallet.config.api_token) as hub:
        yield hub


def hub_session(wallet: Wallet) -> HubSession:
    """The wallet's session with its hub, signing in as its default DID when needed (its
    document read over the wallet's own chain node to pick the authentication key)."""
    if not wallet.config.hub_url:
        raise NoHub("the wallet has no hub URL: `notary-hub wallet config --hub URL`")
    record = wallet.did()

    def document_of(did: str) -> dict[str, Any]:
        with ChainView.connect(wallet.config.rpc_url) as chain:
            return chain.document(did)

    present = did_presenter(wallet, record, document_of)
    return HubSession(wallet, wallet.config.hub_url, record.did, present)


@contextmanager
def signed_in(wallet: Wallet) -> Iterator[HubClient]:
    """The hub, each call carrying the wallet's own access token (signed in on first use)."""
    with cli_errors():
        session = hub_session(wallet)
        with HubClient(wallet.config.hub_url, None, auth=session.auth()) as hub:
            yield hub


@contextmanager
def relay_of(wallet: Wallet) -> Iterator[HubClient]:
    """The hub relaying the wallet's DID operations: with the configured API token (a dev
    hub's bootstrap), else signed in as the wallet's own DID (``registrar:relay``)."""
    if wallet.config.api_token:
        with hub_of(wallet) as hub:
            yield hub
    else:
        with signed_in(wallet) as hub:
            yield hub


@contextmanager
def chain_of(wallet: Wallet) -> Iterator[ChainView]:
    with cli_errors(), ChainView.connect(wallet.config.rpc_url) as chain:
        yield chain


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(FILE_CHUNK):
            yield chunk


def letter_verifier(chain: ChainView) -> LetterVerifier:
    """The custody letter's checks over the holder's chain, the issuer trusted from it."""
    return LetterVerifier(chain.verifier(), chain.chain, trust=chain.trust())


def letter_check(chain: ChainView, file: Path | None = None) -> ExtraCheck:
    """The custody letter's full check (and, given the file, its digests), a draw letter's
    against the draw registry on chain; None for other credentials, which the wallet's
    own check covers."""
    letters = letter_verifier(chain)
    draws = DrawLetterVerifier(chain.verifier(), chain.chain, trust=chain.trust())

    def check(document: Any) -> VerificationResult | None:
        if is_draw_letter(document):
            return draws.verify(document)  # issuer trust required there too
        if not is_letter(document):
            return None
        content = _chunks(file) if file is not None else None
        return letters.verify(document, content=content)  # issuer trust required there

    return check


def print_json(document: Any) -> None:
    """A document on stdout as JSON (a JWT as its compact string), verbatim."""
    text = document if isinstance(document, str) else json.dumps(document, indent=2)
    out.print(text, markup=False, highlight=False, soft_wrap=True)


def write_new(path: Path, text: str) -> None:
    """``text`` into a new file readable by its owner only (never over an existing one)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
