"""Depositing a file from the wallet: upload, wait for the custody letter, receive it.

The hub's deposit flow (``POST /evidence/deposits``, then the letter once the deposit is
``certified``), with the wallet's default DID as the depositor: the hub names it from
the wallet's own access token (:mod:`wallet.hub_session`). The ``Idempotency-Key``
(draft-ietf-httpapi-idempotency-key-header §2) is derived from what is deposited (the
depositor, the file's SHA-256, its name and title), so every retry, in this process
or after the wallet is run again, asks for the same deposit and the hub answers with
the first one: a hub that goes down mid-upload ends with one deposit, never two. The
letter is stored only after it verifies (:mod:`wallet.receiving`); until then the
wallet is unchanged.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from wallet.credential_store import StoredCredential
from wallet.errors import CredentialRejected, WalletError
from wallet.hub_client import HubClient, HubRefused, HubUnavailable, Progress
from wallet.receiving import ExtraCheck, Receiver
from wallet.wallet import Wallet

CHUNK = 1 << 20
UPLOAD_ATTEMPTS = 3
CERTIFY_TIMEOUT = 300.0
Waiting = Callable[[str], None]  # the deposit's state, each time it is read


class NotCertified(WalletError):
    code = "not_certified"
    status_code = 504


@dataclass(frozen=True)
class SyncOutcome:
    received: list[StoredCredential]  # letters new to the wallet, verified and stored
    rejected: list[tuple[str, str]]  # (deposit id, why) for letters that did not verify


@dataclass(frozen=True)
class DepositOutcome:
    deposit: dict[str, Any]  # the deposit as the hub shows it, certified
    credential: StoredCredential


def file_sha256(path: Path) -> bytes:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.digest()


def idempotency_key(depositor: str, path: Path, title: str | None) -> str:
    """The same key for the same deposit asked again; a different one for anything else."""
    what = {"depositor": depositor, "sha256": file_sha256(path).hex(), "name": path.name}
    what["title"] = title or ""
    canonical = json.dumps(what, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return "wallet-" + hashlib.sha256(canonical).hexdigest()


class Depositor:
    """Deposits for the wallet's default DID through ``hub``; letters received by ``receiver``."""

    def __init__(
        self,
        wallet: Wallet,
        hub: HubClient,
        receiver: Receiver,
        *,
        sleep: Callable[[float], None] = time.sleep,
        poll_interval: float = 0.5,
        certify_timeout: float = CERTIFY_TIMEOUT,
    ) -> None:
        self._wallet = wallet
        self._hub = hub
        self._receiver = receiver
        self._sleep = sleep
        self._poll = poll_interval
        self._timeout = certify_timeout

    @property
    def depositor(self) -> str:
        return self._wallet.did().did

    def upload(self, path: Path, *, title: str | None, progress: Progress | None) -> dict[str, Any]:
        """Upload ``path``, restarting it (same key) when the connection drops."""
        key = idempotency_key(self.depositor, path, title)
        for attempt in range(UPLOAD_ATTEMPTS):
            try:
                return self._hub.upload_deposit(
                    path, idempotency_key=key, title=title, progress=progress
                )
            except HubUnavailable:
                if attempt == UPLOAD_ATTEMPTS - 1:
                    raise
                self._sleep(2.0**attempt)
            except HubRefused as refused:
                # A token the hub no longer takes (the session renews it): once more,
                # under the same key, so still one deposit.
                if refused.hub_status != 401 or attempt == UPLOAD_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # the loop returns or raises

    def wait_certified(self, deposit_id: str, waiting: Waiting | None = None) -> dict[str, Any]:
        deadline = time.monotonic() + self._timeout
        while True:
            deposit = self._hub.deposit(deposit_id)
            state = str(deposit.get("state"))
            if waiting is not None:
                waiting(state)
            if state == "certified":
                return deposit
            if time.monotonic() > deadline:
                waited = f"{self._timeout:g} s"
                raise NotCertified(f"deposit {deposit_id} is still {state} after {waited}")
            self._sleep(self._poll)

    def receive(
        self, deposit_id: str, *, extra_check: ExtraCheck | None = None
    ) -> StoredCredential:
        """The deposit's custody letter, verified and stored."""
        try:
            letter = self._hub.deposit_credential(deposit_id)
        except HubRefused as exc:
            if exc.hub_code == "not_certified":
                raise NotCertified(f"deposit {deposit_id} is not certified yet") from None
            raise
        return self._receiver.receive(
            self._wallet, letter, source=deposit_id, extra_check=extra_check
        )

    def deposit(
        self,
        path: Path,
        *,
        title: str | None = None,
        progress: Progress | None = None,
        waiting: Waiting | None = None,
        extra_check: ExtraCheck | None = None,
    ) -> DepositOutcome:
        """Upload, wait for the letter, verify and store it."""
        created = self.upload(path, title=title, progress=progress)
        deposit = self.wait_certified(str(created["id"]), waiting)
        stored = self.receive(str(deposit["id"]), extra_check=extra_check)
        return DepositOutcome(deposit, stored)

    def sync(self, *, extra_check: ExtraCheck | None = None) -> SyncOutcome:
        """Every certified deposit of the person on the hub (any platform's: the hub shows
        the wallet all of them) whose letter the wallet does not hold yet: fetched,
        verified and stored. A letter that does not verify is reported, never stored."""
        held = {c.source for c in self._wallet.credentials.list() if c.source}
        received: list[StoredCredential] = []
        rejected: list[tuple[str, str]] = []
        cursor: str | None = None
        while True:
            page = self._hub.deposits(state="certified", cursor=cursor)
            for item in page.get("items", []):
                deposit_id = str(item.get("id"))
                if deposit_id in held or item.get("depositor") != self.depositor:
                    continue
                try:
                    received.append(self.receive(deposit_id, extra_check=extra_check))
                except CredentialRejected as exc:
                    rejected.append((deposit_id, exc.message))
                held.add(deposit_id)
            cursor = _cursor(page)
            if cursor is None:
                return SyncOutcome(received, rejected)


def _cursor(page: dict[str, Any]) -> str | None:
    """The ``cursor`` of the page's ``links.next`` (none: the last page)."""
    following = (page.get("links") or {}).get("next")
    if not isinstance(following, str):
        return None
    values = parse_qs(urlsplit(following).query).get("cursor")
    return values[0] if values else None
