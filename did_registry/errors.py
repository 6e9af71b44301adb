"""Errors of the DID registry, named after W3C DID Resolution errors where one exists.

https://w3c.github.io/did-resolution/#errors — each class carries the error
``code`` of the resolution metadata and the HTTP status of the Universal
Resolver binding (https://w3c.github.io/did-resolution/#bindings-https).
"""

from __future__ import annotations

from hub_kernel.errors import HubError


class DidError(HubError):
    code = "internalError"
    status_code = 500


class InvalidDid(DidError):
    code = "invalidDid"
    status_code = 400


class NotFound(DidError):
    code = "notFound"
    status_code = 404


class MethodNotSupported(DidError):
    code = "methodNotSupported"
    status_code = 501


class RepresentationNotSupported(DidError):
    code = "representationNotSupported"
    status_code = 406


class Deactivated(DidError):
    """Not raised by resolution (a deactivated DID resolves, with metadata saying so);
    the HTTP binding answers 410 for it."""

    code = "deactivated"
    status_code = 410


class UnknownNetwork(MethodNotSupported):
    """A did:ethr network (chain id or name) this hub does not serve."""

    code = "unknownNetwork"
    status_code = 501


class InvalidOperation(DidError):
    """A registrar operation that is malformed or not allowed (bad signature, nonce, size)."""

    code = "invalidOperation"
    status_code = 422


class InvalidOptions(DidError):
    """Resolution options that make no sense (e.g. an unparseable versionTime)."""

    code = "invalidOptions"
    status_code = 400


# -- consortium membership (issue 3, section 8) ------------------------------------------


class CertificateRejected(DidError):
    """An organisation's X.509 certificate chain failed a check; nothing was sent on chain.

    The subclasses name the RFC 5280 check that failed; ``message`` is the reason
    (which certificate, what was expected).
    """

    code = "certificateRejected"
    status_code = 422


class MalformedCertificate(CertificateRejected):
    code = "certificateMalformed"


class CertificateExpired(CertificateRejected):
    code = "certificateExpired"


class CertificateNotYetValid(CertificateRejected):
    code = "certificateNotYetValid"


class UntrustedCertificate(CertificateRejected):
    """No path from the certificate to a configured trusted root."""

    code = "certificateUntrusted"


class SelfSignedCertificate(CertificateRejected):
    code = "certificateSelfSigned"


class CertificateSignatureInvalid(CertificateRejected):
    code = "certificateBadSignature"


class WrongKeyUsage(CertificateRejected):
    code = "certificateWrongKeyUsage"


class CaCertificateAsLeaf(CertificateRejected):
    code = "certificateCaAsLeaf"


class IssuerNotCa(CertificateRejected):
    """An issuing certificate without ``basicConstraints`` cA=TRUE (RFC 5280 §4.2.1.9)."""

    code = "certificateIssuerNotCa"


class PathLengthExceeded(CertificateRejected):
    code = "certificatePathTooLong"


class CertificateRevoked(CertificateRejected):
    code = "certificateRevoked"


class InvalidCrl(CertificateRejected):
    """A configured CRL that cannot be relied on (wrong signer, stale, unsupported kind)."""

    code = "crlInvalid"


class UnsupportedCertificate(CertificateRejected):
    """An algorithm, key size or critical extension outside the accepted profile."""

    code = "certificateUnsupported"


class CertificatePathInvalid(CertificateRejected):
    """The independent path validator (``cryptography.x509.verification``) refused the chain."""

    code = "certificatePathInvalid"


class ConsortiumError(DidError):
    """A consortium request that conflicts with the chain state (checked before sending)."""

    code = "consortiumConflict"
    status_code = 409


class NotAMember(ConsortiumError):
    """The account is not a consortium member, so the contract would refuse it."""

    code = "notMember"
    status_code = 403


class UnknownProposal(ConsortiumError):
    code = "unknownProposal"
    status_code = 404


class InvalidApplication(ConsortiumError):
    """A membership application whose fields (DID, addresses, node type) are not acceptable."""

    code = "invalidApplication"
    status_code = 422


# Registrar refusals: each is an InvalidOperation (422) with its own machine-readable code,
# raised before any transaction is sent.


class InvalidAttribute(InvalidOperation):
    """An attribute name, value or delegate type the registry or did:ethr cannot carry."""

    code = "invalidAttribute"


class InvalidSignature(InvalidOperation):
    """A meta-transaction signature that is malformed or not by the identity's owner."""

    code = "invalidSignature"


class InvalidNonce(InvalidOperation):
    """A meta-transaction signed over another nonce than the owner's current one (replay)."""

    code = "invalidNonce"


class NotOwner(InvalidOperation):
    """A direct operation on an identity that the hub's node account does not own."""

    code = "notOwner"


class ConsortiumMisconfigured(DidError):
    """The configured trusted CA bundle or a CRL file cannot be read or parsed."""

    code = "consortiumMisconfigured"
    status_code = 503
