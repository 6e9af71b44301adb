"""Entry receipts (``docs/draw-algorithm.md`` §2): what one entrant keeps, and its check.

A receipt gives an entrant their identifier, salt, index, weight and category, their
leaf, and the RFC 9162 §2.1.3 inclusion proof of their entry under ``candidateRoot``.
Checking it recomputes the leaf and the proof against the *published* root and count
(a receipt carrying its own root proves nothing), then looks the entry up in the
published result: a rank and tier, or not drawn.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from chain_adapter.merkle import leaf_hash, verify_inclusion
from evidence.draw.candidates import CHUNK, CandidateTree, decode_entry, encode_entry, entrant_leaf
from evidence.draw.errors import InvalidReceipt
from evidence.draw.result import ResultEntry

__all__ = ["EntryReceipt", "Outcome", "build_receipts", "check_receipt", "receipt_outcome"]

_HEX = re.compile(r"[0-9a-f]*")
_MEMBERS = frozenset(
    {"drawId", "entrantId", "salt", "index", "weight", "category", "leaf", "proof"}
    | {"candidateRoot", "count"}
)


@dataclass(frozen=True)
class EntryReceipt:
    draw_id: str
    entrant_id: str
    salt: bytes
    index: int
    weight: int
    category: int
    leaf: bytes
    proof: tuple[bytes, ...]
    candidate_root: bytes
    count: int

    def to_json(self) -> dict[str, Any]:
        """The receipt as JSON (hex bytes), as a wallet stores it."""
        return {
            "drawId": self.draw_id,
            "entrantId": self.entrant_id,
            "salt": self.salt.hex(),
            "index": self.index,
            "weight": self.weight,
            "category": self.category,
            "leaf": self.leaf.hex(),
            "proof": [p.hex() for p in self.proof],
            "candidateRoot": self.candidate_root.hex(),
            "count": self.count,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> EntryReceipt:
        """Parse a receipt; raises :class:`InvalidReceipt` on a malformed one."""
        if not isinstance(obj, Mapping) or set(obj) != _MEMBERS:
            raise InvalidReceipt(f"a receipt has exactly the members {sorted(_MEMBERS)}")
        try:
            return cls(
                draw_id=_string(obj["drawId"]),
                entrant_id=_string(obj["entrantId"]),
                salt=_hex(obj["salt"], 16),
                index=_natural(obj["index"]),
                weight=_natural(obj["weight"]),
                category=_natural(obj["category"]),
                leaf=_hex(obj["leaf"], 32),
                proof=tuple(_hex(p, 32) for p in _list(obj["proof"])),
                candidate_root=_hex(obj["candidateRoot"], 32),
                count=_natural(obj["count"]),
            )
        except (TypeError, ValueError) as exc:
            raise InvalidReceipt(f"malformed receipt: {exc}") from None


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("drawId and entrantId are strings")
    return value


def _natural(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError("index, weight, category and count are non-negative integers")
    return value


def _hex(value: object, size: int) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * size or not _HEX.fullmatch(value):
        raise ValueError(f"expected {size} bytes of lowercase hex")
    return bytes.fromhex(value)


def _list(value: object) -> list[object]:
    if not isinstance(value, list):
        raise TypeError("proof is an array")
    return value


def build_receipts(
    draw_id: str, mapping: Iterable[tuple[int, str, bytes]], tree: CandidateTree
) -> Iterator[EntryReceipt]:
    """A receipt for each ``(index, id, salt)`` of the mapping (in index order: each
    chunk's proofs are computed once)."""
    chunk, proofs = -1, {}
    for index, entrant_id, salt in mapping:
        if index // CHUNK != chunk:
            chunk = index // CHUNK
            proofs = dict(tree.proofs(chunk))
        leaf, weight, category = decode_entry(tree.entry(index))
        if entrant_leaf(draw_id, entrant_id, salt) != leaf:
            raise ValueError(f"the mapping's row {index} does not give entry {index}'s leaf")
        yield EntryReceipt(
            draw_id,
            entrant_id,
            salt,
            index,
            weight,
            category,
            leaf,
            tuple(proofs[index]),
            tree.root,
            tree.count,
        )


def check_receipt(
    receipt: EntryReceipt, *, draw_id: str, candidate_root: bytes, count: int
) -> None:
    """Check the receipt proves its entry in the published list, else :class:`InvalidReceipt`."""
    if receipt.draw_id != draw_id:
        raise InvalidReceipt(f"the receipt is for draw {receipt.draw_id!r}, not {draw_id!r}")
    if receipt.candidate_root != candidate_root or receipt.count != count:
        raise InvalidReceipt("the receipt names another candidate list (root or count)")
    try:
        leaf = entrant_leaf(receipt.draw_id, receipt.entrant_id, receipt.salt)
        entry = encode_entry(receipt.leaf, receipt.weight, receipt.category)
    except ValueError as exc:
        raise InvalidReceipt(f"malformed receipt: {exc}") from None
    if leaf != receipt.leaf:
        raise InvalidReceipt("the leaf is not H(drawId, entrantId, salt): wrong identifier or salt")
    if not verify_inclusion(leaf_hash(entry), receipt.index, count, receipt.proof, candidate_root):
        raise InvalidReceipt(
            "the inclusion proof does not put this entry at this index under the root "
            "(wrong index, proof, weight or category)"
        )


@dataclass(frozen=True)
class Outcome:
    """An entrant's outcome: ``rank`` and ``tier`` (0: waiting list), or not drawn."""

    drawn: bool
    rank: int | None = None
    tier: int | None = None


def receipt_outcome(receipt: EntryReceipt, result_by_index: Mapping[int, ResultEntry]) -> Outcome:
    """Look a (checked) receipt's entry up in the published result (by entry index)."""
    entry = result_by_index.get(receipt.index)
    if entry is None:
        return Outcome(drawn=False)
    if entry.leaf != receipt.leaf:
        raise InvalidReceipt("the result lists another leaf at this receipt's index")
    return Outcome(drawn=True, rank=entry.rank, tier=entry.tier)
