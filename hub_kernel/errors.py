"""The one error base of Notary Hub: every component's errors derive from :class:`HubError`.

An error carries a stable machine-readable ``code`` and the HTTP ``status_code`` the
hub answers with (both class attributes), and a human-readable ``message``. They become
responses in exactly one place (``notary_hub.errors``: ``{"error": code, "message":
message}``) and CLI lines in another (``notary_hub.cli``: ``error: <code>: <message>``).

Error-code casing, the one rule for every component:

- a code a specification gives keeps the specification's spelling: W3C DID Resolution
  (``invalidDid``, ``notFound``, ``methodNotSupported``), the W3C VC Data Model's
  verification problems (``PARSING_ERROR``, ``CRYPTOGRAPHIC_SECURITY_ERROR``), OAuth 2.0
  (RFC 6749 §5.2: ``invalid_grant``), JSON-RPC 2.0's numbers (``-32600``);
- our codes in a family a specification starts follow that family's spelling: the DID
  registry's errors (``DidError``) are camelCase like DID Resolution's
  (``certificateRejected``, ``unknownNetwork``), the credentials' (``CredentialError``)
  upper snake case like the VC ones (``DOCUMENT_TOO_LARGE``, ``STATUS_LIST_FULL``),
  except the issuing policy's three refusals, published in snake_case
  (``reserved_credential``, ``reserved_evidence``, ``invalid_valid_from``);
- every other code is ours and is snake_case (``chain_unavailable``, ``key_not_found``,
  ``invalid_deposit``).

``tests/notary_hub/test_errors.py`` checks every error class against this rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

__all__ = ["HubError"]


class HubError(Exception):
    """Base class of every error a component raises on purpose (not of bugs).

    Subclasses set ``code`` and ``status_code``; a component's base class gives its
    defaults (``chain_error``/503, ``internalError``/500, ...).
    """

    code: ClassVar[str] = "hub_error"
    status_code: ClassVar[int] = 500

    def __init__(self, message: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        # Response headers the error implies (e.g. Retry-After), set where it is raised.
        self.headers: dict[str, str] = dict(headers or {})
