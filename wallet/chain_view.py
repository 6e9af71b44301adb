"""The wallet's own view of the chain: one JSON-RPC node, the DIDs and the trust it reads there.

The holder checks what the hub tells it against the chain, never against the hub: DID
documents are resolved from the ERC-1056 registry's events (did:ethr method
specification, "Read (Resolve)",
https://github.com/decentralized-identity/ethr-did-resolver/blob/master/doc/did-method-spec.md;
did:key offline), credentials are verified by :class:`credentials.verifier.Verifier` over
that resolver, and issuers are trusted only when the consortium registry on chain admitted
them (:mod:`credentials.consortium_trust`).
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from chain_adapter.artifacts import load_artifact
from chain_adapter.deploy import DID_REGISTRY
from chain_adapter.jsonrpc_chain import JsonRpcChain
from credentials.consortium_trust import ConsortiumTrust, NoConsortium, founding_consortium
from credentials.issuer_trust import AnyOf, IssuerTrust
from credentials.verifier import Verifier
from did_registry.did_key import DidKeyResolver
from did_registry.dispatch import DispatchingResolver
from did_registry.errors import DidError
from did_registry.ethr.registry_discovery import DiscoveringSource
from did_registry.ethr.resolver import EthrResolver
from did_registry.resolution import DidResolver
from wallet.errors import WalletError

RPC_TIMEOUT = 10.0


class NoRpc(WalletError):
    code = "no_rpc"
    status_code = 400


class ResolutionFailed(WalletError):
    code = "resolution_failed"
    status_code = 502


class ChainView:
    """A connection to ``rpc_url`` and what the wallet reads through it; close it after use."""

    def __init__(self, chain: JsonRpcChain) -> None:
        self.chain = chain
        self._resolver: DidResolver | None = None

    @classmethod
    def connect(cls, rpc_url: str | None) -> ChainView:
        if not rpc_url:
            raise NoRpc("the wallet has no chain RPC URL: `notary-hub wallet config --rpc URL`")
        chain = JsonRpcChain.connect(
            rpc_url, expected_chain_id=None, timeout=RPC_TIMEOUT, retries=1
        )
        return cls(chain)

    def close(self) -> None:
        self.chain.close()

    def __enter__(self) -> ChainView:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def chain_id(self) -> int:
        return self.chain.chain_id

    @property
    def resolver(self) -> DidResolver:
        """did:ethr from the registry that holds each identity's changes; did:key offline."""
        if self._resolver is None:
            ethr = EthrResolver({self.chain.chain_id: DiscoveringSource(self.chain)})
            self._resolver = DispatchingResolver({"ethr": ethr, "key": DidKeyResolver()})
        return self._resolver

    def document(self, did: str) -> dict[str, Any]:
        """``did``'s current DID document as the chain has it; ResolutionFailed if none."""
        try:
            result = self.resolver.resolve(did)
        except DidError as exc:
            raise ResolutionFailed(f"{did} does not resolve: {exc.code}: {exc.message}") from None
        if result.did_document is None:
            raise ResolutionFailed(f"{did} does not resolve to a document")
        return result.did_document

    def is_did_registry(self, address: str) -> bool:
        """Whether ``address`` holds exactly the ERC-1056 registry's code on this chain."""
        return self.chain.get_code(address) == load_artifact(DID_REGISTRY).deployed_bytecode

    def verifier(self) -> Verifier:
        """Credentials verified over this chain: proofs, validity and status on chain."""
        return Verifier(self.resolver, chain=self.chain)

    def trust(self) -> IssuerTrust:
        """The notaries the chain's founding consortium admitted; nobody when there is none."""
        try:
            return ConsortiumTrust(self.chain, founding_consortium(self.chain))
        except NoConsortium:
            return AnyOf([])
