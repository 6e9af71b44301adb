"""Test support for did:ethr interop: the reference resolver in node, a served embedded chain,
and registry operations sent by the identities themselves.

- :func:`npm_resolve` runs ``tests/interop/ethr_resolve.mjs`` (the ``ethr-did-resolver``
  npm package pinned in ``package-lock.json``) once for a batch of DIDs;
- :func:`serve_rpc` (from :mod:`testkit.serving`) serves an :class:`EmbeddedChain` at
  ``POST /rpc`` with uvicorn in a thread, as the hub does, so node reaches it over HTTP;
- :class:`Registry` sends ERC-1056 changes, each signed by the identity's current owner.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from chain_adapter.artifacts import load_artifact
from chain_adapter.contract import BoundContract
from chain_adapter.deploy import DID_REGISTRY
from chain_adapter.protocol import Chain, Receipt
from chain_adapter.transactor import Transactor
from did_registry.errors import DidError
from did_registry.resolution import ResolutionOptions
from testkit.npm import NODE, REPO, npm_available
from testkit.serving import serve_rpc

__all__ = [
    "DAY",
    "NODE",
    "ZERO",
    "Registry",
    "account",
    "bytes32",
    "error_result",
    "npm_available",
    "npm_resolve",
    "serve_rpc",
    "versioned",
    "without_message",
]

SCRIPT = REPO / "tests" / "interop" / "ethr_resolve.mjs"
ZERO = "0x" + "00" * 20
DAY = 86_400


def npm_resolve(
    rpc_url: str,
    chain_id: int,
    registry: str,
    dids: Sequence[str],
    *,
    versions: Sequence[int] = (),
    accept: str | None = None,
    now: int | None = None,
) -> dict[str, dict[str, Any]]:
    """Resolve every DID URL with the npm resolver: ``{did URL: DIDResolutionResult}``.

    With ``versions``, each DID is also resolved at ``?versionId=<v>`` (keyed so).
    ``now`` pins the instant the resolver judges the latest version's expiries at.
    """
    request: dict[str, Any] = {
        "rpcUrl": rpc_url,
        "chainId": chain_id,
        "registry": registry,
        "dids": list(dids),
        "versions": list(versions),
    }
    if accept is not None:
        request["accept"] = accept
    if now is not None:
        request["now"] = now
    done = subprocess.run(
        [NODE, str(SCRIPT)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"ethr_resolve.mjs failed ({done.returncode}):\n{done.stderr}")
    answer = json.loads(done.stdout)
    return {item["didUrl"]: item["result"] for item in answer["results"]}


def versioned(did: str, options: ResolutionOptions) -> str:
    """The DID URL the npm resolver is asked for to get ``options``' version."""
    return did if options.version_id is None else f"{did}?versionId={options.version_id}"


def error_result(error: DidError) -> dict[str, Any]:
    """Our exception, shaped like the npm resolver's error result (without its message)."""
    return {
        "didDocument": None,
        "didResolutionMetadata": {"error": error.code},
        "didDocumentMetadata": {},
    }


def without_message(result: dict[str, Any]) -> dict[str, Any]:
    """An npm error result without its free-text ``message`` (wording is not behaviour)."""
    metadata = {k: v for k, v in result["didResolutionMetadata"].items() if k != "message"}
    return {**result, "didResolutionMetadata": metadata}


def account(label: str) -> LocalAccount:
    """A deterministic test key, so failures are reproducible."""
    acct: LocalAccount = Account.from_key(keccak(text=f"ethr-interop:{label}"))
    return acct


def bytes32(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    assert len(raw) <= 32
    return raw.ljust(32, b"\x00")


class Registry:
    """An ``EthereumDIDRegistry`` and the transactors of the identities that change it.

    Every change is sent by the identity's current owner, which must be one of the
    accounts passed to :meth:`signer` (funded by ``funder`` when first used).
    """

    def __init__(self, chain: Chain, funder: Transactor, contract: BoundContract) -> None:
        self.chain = chain
        self.contract = contract
        self._funder = funder
        self._transactors: dict[str, Transactor] = {}

    @classmethod
    def deploy(cls, funder: Transactor) -> Registry:
        artifact = load_artifact(DID_REGISTRY)
        receipt = funder.deploy(artifact.bytecode)
        assert receipt.contract_address is not None
        return cls(
            funder.chain,
            funder,
            BoundContract(funder.chain, artifact.abi, receipt.contract_address),
        )

    @property
    def address(self) -> str:
        return self.contract.address

    def signer(self, acct: LocalAccount) -> Transactor:
        transactor = self._transactors.get(acct.address)
        if transactor is None:
            if self.chain.get_balance(acct.address) < 10**17:
                self._funder.transact(acct.address, b"", value=10**18)
            transactor = Transactor(self.chain, acct, receipt_timeout=30.0, poll_interval=0.01)
            self._transactors[acct.address] = transactor
        return transactor

    def _send(self, owner: LocalAccount, fn: str, *args: Any) -> Receipt:
        return self.contract.transact(self.signer(owner), fn, *args)

    def change_owner(self, owner: LocalAccount, identity: str, new_owner: str) -> Receipt:
        return self._send(owner, "changeOwner", identity, new_owner)

    def add_delegate(
        self, owner: LocalAccount, identity: str, kind: str, delegate: str, validity: int
    ) -> Receipt:
        return self._send(owner, "addDelegate", identity, bytes32(kind), delegate, validity)

    def revoke_delegate(
        self, owner: LocalAccount, identity: str, kind: str, delegate: str
    ) -> Receipt:
        return self._send(owner, "revokeDelegate", identity, bytes32(kind), delegate)

    def set_attribute(
        self, owner: LocalAccount, identity: str, name: str | bytes, value: bytes, validity: int
    ) -> Receipt:
        return self._send(owner, "setAttribute", identity, bytes32(name), value, validity)

    def revoke_attribute(
        self, owner: LocalAccount, identity: str, name: str | bytes, value: bytes
    ) -> Receipt:
        return self._send(owner, "revokeAttribute", identity, bytes32(name), value)

    def tick(self) -> Receipt:
        """One more block (an empty transfer), e.g. to let a short validity pass."""
        return self._funder.transact(self._funder.address, b"", value=0)
