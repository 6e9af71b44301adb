"""Verifiable credentials: W3C VC Data Model 2.0, issued and verified.

One sub-package per specification: :mod:`credentials.jsonld` (JSON-LD, bundled
contexts, RDF canonicalization), :mod:`credentials.data_integrity` (Data Integrity
proofs and cryptosuites), :mod:`credentials.jose` (VC-JOSE-COSE ``vc+jwt`` /
``vp+jwt``), :mod:`credentials.status` (Bitstring Status Lists, anchored on chain)
and :mod:`credentials.keys` (verification methods, Multikey). The cross-cutting
pieces stay here: errors, the data model (:mod:`.vc_data_model`), verification
results and their HTTP edge (:mod:`.verification`), the verifier, the issuer and
its policy, issuer trust, and the VC API router.
"""
