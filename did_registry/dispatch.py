"""One resolver for several DID methods, chosen by an explicit table.

W3C DID Core §3.1 "DID Syntax" (``did:<method-name>:<method-specific-id>``, a
method name of lowercase letters and digits) and W3C DID Resolution §4 "DID
Resolution" (``methodNotSupported`` for a method the resolver does not serve).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from did_registry.errors import InvalidDid, MethodNotSupported
from did_registry.resolution import DidResolver, ResolutionOptions, ResolutionResult

_METHOD = re.compile(r"did:([a-z0-9]+):.+", re.DOTALL)


class DispatchingResolver:
    """Hands each DID to the resolver of its method, e.g. ``{"ethr": ..., "key": ...}``."""

    def __init__(self, methods: Mapping[str, DidResolver]) -> None:
        for name in methods:
            if not re.fullmatch(r"[a-z0-9]+", name):
                raise ValueError(f"{name!r} is not a DID method name")
        self._methods = dict(methods)

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(self._methods)

    def resolve(self, did: str, options: ResolutionOptions | None = None) -> ResolutionResult:
        match = _METHOD.fullmatch(did)
        if match is None:
            raise InvalidDid(f"{did[:80]!r} is not a DID (did:<method>:<method-specific-id>)")
        resolver = self._methods.get(match[1])
        if resolver is None:
            raise MethodNotSupported(
                f"did:{match[1]} is not supported here (methods: {', '.join(self._methods)})"
            )
        return resolver.resolve(did, options)
