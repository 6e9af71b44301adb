"""Keys of credentials: verification methods and the Multikey format.

W3C Controlled Identifiers v1.0 (https://www.w3.org/TR/cid-1.0/):
:mod:`.verification_methods` (§3.3, from a verification method id to the public key
it names, checked for a proof purpose) and :mod:`.multikey` (§2.2.2, public and
secret keys as multibase text).
"""
