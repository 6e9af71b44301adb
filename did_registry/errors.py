"""Errors of the DID registry, named after W3C DID Resolution errors where one exists.

https://w3c.github.io/did-resolution/#errors — each class carries the error
``code`` of the resolution metadata and the HTTP status of the Universal
Resolver binding (https://w3c.github.io/did-resolution/#bindings-https).
"""

from __future__ import annotations


class DidError(Exception):
    code = "internalError"
    status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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
