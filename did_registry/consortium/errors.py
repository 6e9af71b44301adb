"""Refusals of a consortium application that fails to prove what it claims.

Issue 9 item 10; the signed format is :mod:`did_registry.consortium.application`.
Each is raised before anything is recorded or sent on chain, and carries a
machine-readable ``code`` and an HTTP ``status_code`` like every
:class:`~did_registry.errors.DidError` (the hub's error handlers and the CLI's
``error: <code>: <message>`` line use both).
"""

from __future__ import annotations

from did_registry.errors import ConsortiumError, DidError, InvalidApplication


class ApplicationUnsigned(InvalidApplication):
    """The application lacks the DID key's or the node key's signature."""

    code = "applicationUnsigned"
    status_code = 400


class MalformedApplication(InvalidApplication):
    """The signed application document does not have the documented shape."""

    code = "applicationMalformed"
    status_code = 400


class ApplicationSignatureInvalid(InvalidApplication):
    """A signature that does not verify, or was made by a key that does not speak for the
    DID or is not the node's."""

    code = "applicationSignatureInvalid"


class ApplicationExpired(InvalidApplication):
    """Signed with an expiry that has passed (or lies too far ahead to be accepted)."""

    code = "applicationExpired"


class ApplicationWrongDomain(InvalidApplication):
    """Signed for another chain or another consortium registry (EIP-712 domain)."""

    code = "applicationWrongDomain"


class CertificateChainMismatch(InvalidApplication):
    """The signed certificate chain digest is not that of the chain sent with it."""

    code = "certificateChainMismatch"


class OrganisationMismatch(InvalidApplication):
    """The certificate names another organisation than the application (subject O, SANs)."""

    code = "organisationMismatch"


class ApplicationReplayed(ConsortiumError):
    """This registry has already received an application with the same nonce."""

    code = "applicationReplayed"
    status_code = 409


class DidResolutionUnavailable(DidError):
    """The applicant's DID could not be resolved for a reason of the hub's (index not caught
    up, database or chain away): not a verdict on the application, try again."""

    code = "didResolutionUnavailable"
    status_code = 503
