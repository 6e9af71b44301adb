"""``DrawEntryReceiptCredential``: an entrant's entry receipt, signed by the notary on demand.

Issue 14 item 3 ("each entrant gets an entry receipt … which their wallet can store as a
credential"). A draw of ten million entrants cannot have every receipt signed up front,
so an entrant (or their wallet) hands in the receipt the organiser gave them
(:mod:`evidence.draw.entry_receipts`, ``docs/draw-algorithm.md`` §2.4) to
``POST /draws/{id}/receipt-credential`` and gets it back as a W3C VC Data Model 2.0
credential (https://www.w3.org/TR/vc-data-model-2.0/), signed by the notary's DID through
:class:`~evidence.letter_issuer.LetterIssuer` like the winners' credentials. Its terms
are the hub's context ``v2`` (``DrawEntryReceiptCredential``, subject ``DrawEntry``).

Trust boundary: the notary signs only what it witnessed. The receipt is checked
(:func:`evidence.draw.receipt.check_receipt`) against the candidate root and count the
hub itself computed from the uploaded list and committed on chain, never against a
root the receipt carries: the leaf is recomputed from ``drawId``, ``entrantId`` and
``salt``, and the RFC 9162 §2.1.3 inclusion proof must put that entry (leaf, weight,
category) at its index under the *committed* root, which the chain's record must hold
too. So only once the draw is committed (409 ``draw_state_conflict`` before: the list
may still be replaced), and only for an entrant known by a DID (422 ``entrant_not_did``
otherwise: the DID is the credential's subject, and a credential to a bare identifier
would be anyone's). What the notary attests is "the entry of this DID is in this
committed list", nothing about the outcome (that is the ``DrawWinnerCredential``).

The route is public like ``/check``: possession of a valid receipt (its secret salt) is
what entitles one to the credential; signing costs work, so each address is rate
limited like the other public checks (:mod:`evidence.public_limits`). Asking again
(a replay) yields an equivalent credential for the same entry, with the same id (a
:meth:`~evidence.letter_issuer.LetterIssuer.letter_id` of the entry, so it reuses its
status entry): it tells nobody anything new, names no one but the receipt's DID, and
costs the asker one call of their rate budget.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from credentials.vc_data_model import format_date_time
from evidence.digests import SHA256, digest_multibase
from evidence.draw.draw_signing import DrawSigner, v2_contexts
from evidence.draw.errors import DrawStateConflict, EntrantNotDid
from evidence.draw.letters import commitment_evidence
from evidence.draw.models import DrawRecord, DrawState
from evidence.draw.receipt import EntryReceipt, check_receipt
from evidence.draw.registry import DrawRecord as ChainDrawRecord
from evidence.draw.winner_letters import is_did

CREDENTIAL_TYPE = "DrawEntryReceiptCredential"
SUBJECT_TYPE = "DrawEntry"


def entry_subject(record: DrawRecord, receipt: EntryReceipt) -> dict[str, Any]:
    """The ``DrawEntry`` of a checked receipt. The salt is left out: the leaf alone links
    the credential to the published list (``entries.bin``, the result), while the salt
    is what lets anyone recompute the leaf from the identifier, so a holder presenting
    the credential would hand a verifier the means to claim the receipt credential
    themselves and to link the DID to the leaf without the credential."""
    assert record.candidate_root is not None and record.entry_count is not None
    return {
        "id": receipt.entrant_id,
        "type": SUBJECT_TYPE,
        "drawId": record.id,
        "drawTitle": record.config["title"],
        "entryIndex": receipt.index,
        "entryLeaf": receipt.leaf.hex(),
        "entryWeight": receipt.weight,
        "entryCategory": receipt.category,
        "entrantCount": record.entry_count,
        "entrantsDigestMultibase": digest_multibase(SHA256, record.candidate_root),
    }


def build_receipt_credential(
    record: DrawRecord,
    receipt: EntryReceipt,
    on_chain: ChainDrawRecord,
    *,
    issuer: str,
    credential_id: str,
    context_url: str | None = None,
) -> dict[str, Any]:
    """The unsigned ``DrawEntryReceiptCredential`` of a checked ``receipt``, the draw's
    commitment on chain as evidence."""
    contexts, related = v2_contexts(context_url)
    return {
        "@context": contexts,
        "id": credential_id,
        "type": ["VerifiableCredential", CREDENTIAL_TYPE],
        "issuer": issuer,
        "validFrom": format_date_time(datetime.now(UTC)),
        "credentialSubject": entry_subject(record, receipt),
        "evidence": [commitment_evidence(record, on_chain)],
        "relatedResource": related,
    }


class ReceiptCredentials(DrawSigner):
    def issue(self, draw_id: str, body: object) -> dict[str, Any]:
        """The signed credential of the receipt ``body`` (see the module doc for what is
        refused: nothing is signed unless every check passes)."""
        record = self._service.record(draw_id)
        if record.state not in (DrawState.COMMITTED, DrawState.DRAWN):
            raise DrawStateConflict(f"draw {draw_id} is {record.state.value}: not committed yet")
        root, count = record.candidate_root, record.entry_count
        assert root is not None and count is not None
        receipt = EntryReceipt.from_json(body if isinstance(body, dict) else {})
        check_receipt(receipt, draw_id=draw_id, candidate_root=root, count=count)
        if not is_did(receipt.entrant_id):
            raise EntrantNotDid(
                "the receipt's entrantId is no DID: a receipt credential is issued to the "
                "entrant's DID (the receipt itself checks at /check)"
            )
        on_chain = self._on_chain(draw_id, drawn=False)
        committed = on_chain.commitment
        if (committed.candidate_root, committed.count) != (root, count):
            raise DrawStateConflict(f"draw {draw_id}'s commitment on chain is another list")
        unsigned = build_receipt_credential(
            record,
            receipt,
            on_chain,
            issuer=self._letters.did,
            credential_id=self._letters.letter_id(f"{record.id}/entry/{receipt.index}"),
            context_url=self._context_url,
        )
        return self._letters.issue([unsigned])[0]
