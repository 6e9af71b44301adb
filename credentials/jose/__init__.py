"""Credentials and presentations secured with JOSE: ``vc+jwt`` and ``vp+jwt``.

W3C "Securing Verifiable Credentials using JOSE and COSE"
(https://www.w3.org/TR/vc-jose-cose/) over RFC 7515 JWS
(https://www.rfc-editor.org/rfc/rfc7515) and the RFC 8725 JWT BCP:
:mod:`.jws_compact` (the compact serialization, read strictly), :mod:`.algorithms`
(the allow-listed algorithms, each bound to its key type), :mod:`.envelope` (the
header rules and signer binding shared by both media types), :mod:`.key_cache`
(resolved ``kid`` keys, reused where that cannot change an answer) and
:mod:`.vc_jose` (signing and verifying credentials and presentations).
"""
