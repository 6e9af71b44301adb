"""JSON-LD for credentials: bundled contexts, strict term checks, RDF and its canonical form.

JSON-LD 1.1 (https://www.w3.org/TR/json-ld11/) and its Processing Algorithms and
API (https://www.w3.org/TR/json-ld11-api/); RDF Dataset Canonicalization
(RDFC-1.0, https://www.w3.org/TR/rdf-canon/). :mod:`.contexts` and
:mod:`.document_loader` (bundled contexts, never the network), :mod:`.terms`
(memoised active contexts), :mod:`.strict` and :mod:`.strict_values` (what
expansion or canonical forms would drop or alter), :mod:`.to_rdf`,
:mod:`.to_rdf_plans` and :mod:`.rdf_terms` (compacted JSON-LD straight to quads),
:mod:`.rdf_canon` (RDFC-1.0 on those quads), :mod:`.rdfc` (the canonicalization
seam and pyld's reference canonicalizer) and :mod:`.rdf_fast` (the fast one).
"""
