"""Data Integrity proofs and the cryptosuites the hub accepts.

W3C "Verifiable Credential Data Integrity 1.0" (https://www.w3.org/TR/vc-data-integrity/)
and "Data Integrity EdDSA Cryptosuites v1.0" (https://www.w3.org/TR/vc-di-eddsa/):
:mod:`.proofs` (adding and verifying proofs whatever the suite, and ``SUITES``, the
registry of accepted cryptosuites), :mod:`.eddsa_rdfc_2022` (the one suite) and
:mod:`.proof_sets` (rules around every suite: each proof once, the signed ``@context``).
"""
