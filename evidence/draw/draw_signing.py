"""What the draw's notary-signed credentials share: who signs, over which record, in which terms.

Issue 14 items 3 and 8. The result letter (:mod:`evidence.draw.letters`), the winners'
credentials (:mod:`evidence.draw.winner_letters`) and an entrant's receipt credential
(:mod:`evidence.draw.receipt_credentials`) are each signed by the notary through
:class:`~evidence.letter_issuer.LetterIssuer` (``service="draws"``) for a draw of the
:class:`~evidence.draw.service.DrawService`, with the draw's record in the ``DrawRegistry``
read back from the chain as evidence. The credentials whose terms the hub's context ``v1``
lacks also name ``v2`` (``v1`` is frozen: letters record its digest), each context listed in
``relatedResource`` with its SHA-384 (VC Data Model 2.0 §5.3).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any

from credentials.jsonld.context_integrity import related_context
from credentials.jsonld.contexts import CREDENTIALS_V2, NOTARY_HUB_V1, NOTARY_HUB_V2
from evidence.draw.chain_record import DrawChainRecords, draw_key
from evidence.draw.errors import DrawStateConflict
from evidence.draw.registry import DrawRecord as ChainDrawRecord
from evidence.draw.service import DrawService
from evidence.letter_issuer import LetterIssuer

log = logging.getLogger(__name__)


def v2_contexts(context_url: str | None) -> tuple[list[str], list[dict[str, Any]]]:
    """``@context`` naming the hub's ``v1`` and ``v2``, and their ``relatedResource``
    entries (``context_url``: where ``v1`` is served; ``v2`` is beside it)."""
    v2_url = context_url.replace("/v1", "/v2") if context_url else None
    related = [
        *related_context(NOTARY_HUB_V1, context_url),
        *related_context(NOTARY_HUB_V2, v2_url),
    ]
    return [CREDENTIALS_V2, NOTARY_HUB_V1, NOTARY_HUB_V2], related


class DrawSigner:
    """The draw service, its records on chain, the notary's issuer and the context URL."""

    def __init__(
        self,
        service: DrawService,
        records: DrawChainRecords,
        letters: LetterIssuer,
        *,
        context_url: str | None = None,
    ) -> None:
        self._service = service
        self._records = records
        self._letters = letters
        self._context_url = context_url

    def _on_chain(self, draw_id: str, *, drawn: bool = True) -> ChainDrawRecord:
        """The draw's record as the chain holds it (with its result when ``drawn``);
        :class:`DrawStateConflict` when the chain does not have it (yet)."""
        on_chain = self._records.registry.record(draw_key(draw_id))
        if on_chain is None:
            raise DrawStateConflict(f"draw {draw_id} has no commitment on chain")
        if drawn and on_chain.result is None:
            raise DrawStateConflict(f"draw {draw_id} has no result on chain")
        return on_chain


class AfterDrawSigner(DrawSigner, ABC):
    """A signer run once a draw is drawn (:meth:`issue_quietly`), and again on demand."""

    what = "draw credentials"  # for the log, when signing after the draw fails

    @abstractmethod
    def issue(self, draw_id: str) -> object:
        """Sign (or return, once signed) what this signer issues for ``draw_id``."""

    def issue_quietly(self, draw_id: str) -> None:
        """After the draw: a failure is logged, and they are signed when next asked for."""
        try:
            self.issue(draw_id)
        except Exception:
            log.exception("%s not issued yet", self.what, extra={"draw": draw_id})
