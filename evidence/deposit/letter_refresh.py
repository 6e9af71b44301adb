"""``GET /evidence/deposits/{id}/credential?refresh=1``: the letter with the receipts now there.

Under the ``issue`` policy (issue 16) a letter is issued with the anchor receipts that
exist when the deposit is certified: an extra chain that is down delays only its own
receipt. Once it is anchored there too, a refresh issues the letter again, the primary
receipt and every extra receipt now available in it, and stores it in place of the old.

What that means for a signed credential: the refreshed letter is a new credential,
signed anew (a new proof, a new ``validFrom``), with the same ``id`` and the same status
entry (the letter issuer derives both from the deposit, :mod:`evidence.letter_issuer`).
The old letter is not withdrawn: its proof still verifies and its evidence still holds,
so whoever kept it keeps a valid letter; revoking the deposit's letter revokes both,
since they share the status entry. Nothing is re-issued when no chain has a receipt the
stored letter lacks; two refreshes at once store one of their two, equally valid, letters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.anchoring.extra_receipts import ExtraReceipts
from chain_adapter.anchoring.queue import AnchorQueue
from evidence.deposit.letter import ANCHOR_EVIDENCE_TYPE, DepositLetters
from evidence.deposit.models import Deposit, DepositRecord, DepositState
from evidence.deposit.tokens import stored_token


def anchored_chains(letter: Mapping[str, Any]) -> set[int]:
    """The chain ids of ``letter``'s ``ChainAnchorEvidence`` entries."""
    evidence = letter.get("evidence")
    entries = evidence if isinstance(evidence, list) else []
    chains = set()
    for entry in entries:
        kinds = entry.get("type") if isinstance(entry, Mapping) else None
        if isinstance(kinds, list) and ANCHOR_EVIDENCE_TYPE in kinds:
            chain_id = entry.get("chainId")
            if isinstance(chain_id, int):
                chains.add(chain_id)
    return chains


class LetterRefresher:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        queue: AnchorQueue,
        letters: DepositLetters,
        extra_receipts: ExtraReceipts,
    ) -> None:
        self._sessions = sessions
        self._queue = queue
        self._letters = letters
        self._extra = extra_receipts

    def refresh(self, record: DepositRecord, letter: dict[str, Any]) -> dict[str, Any]:
        """``letter`` re-issued if an extra chain has anchored its root since; else as is."""
        if record.anchor_item_id is None or not self._extra.chain_ids:
            return letter
        primary = self._queue.receipts([record.anchor_item_id]).get(record.anchor_item_id)
        if primary is None:
            return letter
        extras = self._extra.receipts([primary])[0]
        if {receipt.chain_id for receipt in extras} <= anchored_chains(letter):
            return letter
        with self._sessions() as session:
            row = session.get(Deposit, record.id)
            assert row is not None
            token = stored_token(row)
        renewed = self._letters([(record, token, primary)])[0]
        with self._sessions() as session, session.begin():
            session.execute(
                update(Deposit)
                .where(Deposit.id == record.id, Deposit.state == DepositState.CERTIFIED)
                .values(letter=renewed)
            )
        return renewed
