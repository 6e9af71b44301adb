"""RDF Dataset Canonicalization (RDFC-1.0) over quads of N-Quads term strings.

W3C RDF Dataset Canonicalization (https://www.w3.org/TR/rdf-canon/): §4.4
"Canonicalization Algorithm", §4.4.3 step 5's bound on "Hash N-Degree Quads"
(§6.1 "Dataset Poisoning"), §4.6 "Hash First Degree Quads", §4.7 "Hash Related
Blank Node", §4.8 "Hash N-Degree Quads", §4.5 "Issue Identifier" and §4.3
canonical N-Quads. pyld's ``URDNA2015`` is the same algorithm on dictionaries;
this one works on tuples of already serialized terms (a quad's N-Quads line is
one format call) and visits permutations in pyld's order
(``pyld.canon.permutations``, Steinhaus-Johnson-Trotter), so that it makes exactly
the Hash N-Degree Quads calls pyld makes and so gives up exactly where
:class:`credentials.jsonld.rdfc.PyldCanonicalizer` does.

Terms: ``<iri>``, ``_:label``, a serialized literal; the default graph is ``""``.
"""

from __future__ import annotations

from hashlib import sha256

from pyld.canon import permutations

from credentials.jsonld.rdfc import MAX_WORK_FACTOR

Quad = tuple[str, str, str, str]


class WorkLimitExceeded(Exception):
    """More Hash N-Degree Quads calls than the work factor allows (possible poisoning)."""


class _Issuer:
    """§4.5 Issue Identifier: identifiers issued in order, with the order remembered."""

    __slots__ = ("existing", "order", "prefix")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.existing: dict[str, str] = {}
        self.order: list[str] = []

    def issue(self, old: str) -> str:
        new = self.existing.get(old)
        if new is None:
            new = self.existing[old] = f"{self.prefix}{len(self.order)}"
            self.order.append(old)
        return new

    def copy(self) -> _Issuer:
        other = _Issuer(self.prefix)
        other.existing = dict(self.existing)
        other.order = list(self.order)
        return other


def _line(s: str, p: str, o: str, g: str) -> str:
    return f"{s} {p} {o} {g} .\n" if g else f"{s} {p} {o} .\n"


def canonicalize(quads: list[Quad], max_work_factor: int = MAX_WORK_FACTOR) -> str:
    """The canonical N-Quads document of ``quads`` (§4.4), lines sorted and joined."""
    return _Canonicalizer(quads, max_work_factor).run()


class _Canonicalizer:
    def __init__(self, quads: list[Quad], max_work_factor: int) -> None:
        self.quads = quads
        self.factor = max_work_factor
        self.remaining: int | None = None
        self.canonical = _Issuer("_:c14n")
        self.first_degree: dict[str, str] = {}
        # §4.4.3 step 2: blank node -> its quads, once per position it occupies (as pyld)
        self.blank_quads: dict[str, list[Quad]] = {}
        blank_quads = self.blank_quads
        for quad in quads:
            s, _p, o, g = quad
            # terms: "<iri>", '"literal"...', "_:blank"; the default graph is ""
            if s[0] == "_":
                blank_quads.setdefault(s, []).append(quad)
            if o[0] == "_":
                blank_quads.setdefault(o, []).append(quad)
            if g[:1] == "_":
                blank_quads.setdefault(g, []).append(quad)

    def run(self) -> str:
        canonical = self.canonical
        non_normalized = set(self.blank_quads)
        hash_to_blanks: dict[str, list[str]] = {}
        simple = True
        while simple:  # step 5
            simple = False
            hash_to_blanks = {}
            for blank in non_normalized:
                hash_to_blanks.setdefault(self.hash_first_degree(blank), []).append(blank)
            for hash_, blanks in sorted(hash_to_blanks.items()):
                if len(blanks) > 1:
                    continue
                canonical.issue(blanks[0])
                non_normalized.discard(blanks[0])
                del hash_to_blanks[hash_]
                simple = True
        # step 6: blank nodes sharing a first-degree hash
        non_unique = sum(len(blanks) for blanks in hash_to_blanks.values())
        self.remaining = non_unique**self.factor
        for _hash, blanks in sorted(hash_to_blanks.items()):
            paths: list[tuple[str, _Issuer]] = []
            for blank in blanks:
                if blank in canonical.existing:
                    continue
                issuer = _Issuer("_:b")
                issuer.issue(blank)
                paths.append(self.hash_n_degree(blank, issuer))
            for _path_hash, issuer in sorted(paths, key=lambda result: result[0]):
                for existing in issuer.order:
                    canonical.issue(existing)
        # step 7: relabel and serialize
        labels = canonical.existing
        lines = [
            _line(
                labels[s] if s.startswith("_:") else s,
                p,
                labels[o] if o.startswith("_:") else o,
                labels[g] if g.startswith("_:") else g,
            )
            for s, p, o, g in self.quads
        ]
        lines.sort()
        return "".join(lines)

    def hash_first_degree(self, blank: str) -> str:
        """§4.6: the hash of the blank node's quads, itself as ``_:a``, others as ``_:z``."""
        found = self.first_degree.get(blank)
        if found is not None:
            return found
        lines = []
        for s, p, o, g in self.blank_quads[blank]:
            if s.startswith("_:"):
                s = "_:a" if s == blank else "_:z"
            if o.startswith("_:"):
                o = "_:a" if o == blank else "_:z"
            if g.startswith("_:"):
                g = "_:a" if g == blank else "_:z"
            lines.append(_line(s, p, o, g))
        lines.sort()
        found = self.first_degree[blank] = sha256("".join(lines).encode("utf-8")).hexdigest()
        return found

    def hash_related(self, related: str, predicate: str, issuer: _Issuer, position: str) -> str:
        """§4.7 Hash Related Blank Node."""
        identifier = self.canonical.existing.get(related) or issuer.existing.get(related)
        if identifier is None:
            identifier = self.hash_first_degree(related)
        data = position + (predicate if position != "g" else "") + identifier
        return sha256(data.encode("utf-8")).hexdigest()

    def hash_n_degree(self, blank: str, issuer: _Issuer) -> tuple[str, _Issuer]:
        """§4.8 Hash N-Degree Quads: ``(hash, issuer)``."""
        assert self.remaining is not None
        if self.remaining <= 0:
            raise WorkLimitExceeded("too many indistinguishable blank nodes")
        self.remaining -= 1
        hash_to_related: dict[str, list[str]] = {}
        for _s, p, _o, _g in self.blank_quads[blank]:
            for term, position in ((_s, "s"), (_o, "o"), (_g, "g")):
                if term.startswith("_:") and term != blank:
                    related_hash = self.hash_related(term, p, issuer, position)
                    hash_to_related.setdefault(related_hash, []).append(term)
        canonical = self.canonical.existing
        data = sha256()
        for related_hash, related_blanks in sorted(hash_to_related.items()):
            data.update(related_hash.encode("utf-8"))
            chosen_path = ""
            chosen_issuer: _Issuer | None = None
            for permutation in permutations(related_blanks):
                issuer_copy = issuer.copy()
                path = ""
                recursion: list[str] = []
                skip = False
                for related in permutation:
                    if related in canonical:
                        path += canonical[related]
                    else:
                        if related not in issuer_copy.existing:
                            recursion.append(related)
                        path += issuer_copy.issue(related)
                    if chosen_path and len(path) >= len(chosen_path) and path > chosen_path:
                        skip = True
                        break
                if skip:
                    continue
                for related in recursion:
                    result_hash, issuer_copy = self.hash_n_degree(related, issuer_copy)
                    path += issuer_copy.issue(related) + "<" + result_hash + ">"
                    if chosen_path and len(path) >= len(chosen_path) and path > chosen_path:
                        skip = True
                        break
                if skip:
                    continue
                if not chosen_path or path < chosen_path:
                    chosen_path, chosen_issuer = path, issuer_copy
            data.update(chosen_path.encode("utf-8"))
            assert chosen_issuer is not None
            issuer = chosen_issuer
        return data.hexdigest(), issuer
