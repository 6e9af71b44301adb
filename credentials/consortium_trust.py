"""Trust in issuers from the consortium registry on chain: notaries the members admitted.

A notary's DID is the did:ethr of its service node (or of its organisation). The
issuer is trusted when, at the newest block no later than the proof's time, the
consortium registry lists that address as a member or as a service node
(``isMember`` / ``isServiceNode`` of ``ConsortiumRegistry.sol``, read with
``eth_call`` at that block). A key that was trusted when it signed stays trusted
for that letter; one removed by vote signs nothing trustworthy afterwards.

Which registry: the one the verifier names (``--consortium``), the hub's own, or
else the chain's *founding* consortium, the first contract with the registry's
exact code to have emitted its constructor's ``ThresholdChanged(0, ·)``. On a
permissioned consortium chain that is the genesis deployment; a copy deployed
later by anyone else, with themselves as founder, is never chosen.
"""

from __future__ import annotations

from datetime import datetime

from eth_utils.abi import event_abi_to_log_topic
from eth_utils.address import to_checksum_address
from eth_utils.hexadecimal import encode_hex

from chain_adapter.artifacts import load_artifact
from chain_adapter.contract import BoundContract
from chain_adapter.deploy import CONSORTIUM
from chain_adapter.errors import ChainError
from chain_adapter.protocol import Chain, LogFilter
from credentials.errors import CredentialError
from credentials.issuer_trust import TrustDecision
from did_registry.errors import DidError
from did_registry.ethr.chain_walker import ChainWalkerSource
from did_registry.ethr.did import parse_ethr_did


class NoConsortium(CredentialError):
    code = "NO_CONSORTIUM"
    status_code = 404


def founding_consortium(chain: Chain) -> str:
    """The address of the chain's founding consortium registry (see the module doc)."""
    artifact = load_artifact(CONSORTIUM)
    topic = encode_hex(event_abi_to_log_topic(artifact.event_abi("ThresholdChanged")))  # type: ignore[arg-type]
    logs = chain.get_logs(LogFilter(from_block=0, to_block="latest", topics=(topic,)))
    seen: set[str] = set()
    for log in sorted(logs, key=lambda entry: (entry.block_number, entry.log_index)):
        address = to_checksum_address(log.address)
        founded = int.from_bytes(log.data[:32], "big") == 0  # previousBps == 0: a constructor
        if address in seen or not founded:
            continue
        seen.add(address)
        if chain.get_code(address) == artifact.deployed_bytecode:
            return address
    raise NoConsortium(f"chain {chain.chain_id} has no consortium registry")


class ConsortiumTrust:
    """:class:`~credentials.issuer_trust.IssuerTrust` over one consortium registry."""

    def __init__(self, chain: Chain, registry: str) -> None:
        artifact = load_artifact(CONSORTIUM)
        self._chain = chain
        self._code = artifact.deployed_bytecode
        self._registry = BoundContract.attach(chain, artifact.abi, registry, self._code)
        self._clock = ChainWalkerSource(chain, self._registry.address)

    @property
    def registry(self) -> str:
        return self._registry.address

    def decide(self, issuer: str, at: datetime) -> TrustDecision:
        try:
            did = parse_ethr_did(issuer, networks={self._chain.chain_id: self._chain.chain_id})
        except DidError:
            return TrustDecision(False, f"not a did:ethr of chain {self._chain.chain_id}")
        try:
            block = self._clock.block_at_time(int(at.timestamp()))
            if block is None:
                return TrustDecision(False, "signed before the chain's first block")
            number = block.block_number
            if self._chain.get_code(self._registry.address, number) != self._code:
                return TrustDecision(False, f"no consortium registry yet at block {number}")
            if self._registry.call("isServiceNode", did.address, block=number):
                return TrustDecision(True, f"consortium service node at block {number}")
            if self._registry.call("isMember", did.address, block=number):
                return TrustDecision(True, f"consortium member at block {number}")
        except ChainError as exc:
            return TrustDecision(False, f"the consortium registry could not be read: {exc}")
        return TrustDecision(
            False, f"not a consortium member or service node at block {number} ({at.isoformat()})"
        )
