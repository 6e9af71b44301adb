"""What an outside caller may ask the notary to sign through the VC API.

The trust boundary of ``POST /credentials/issue`` (VC API §3.2.1,
https://w3c-ccg.github.io/vc-api/#issue-credential): the notary signs only what its
own services witnessed. A caller holding a token can have it sign an ordinary
credential, never one that looks like the services' output:

- no type or property of the hub's own vocabulary (``https://w3id.org/notary-hub#``:
  custody letters, captures, draws, timestamp and anchor evidence, and any term
  the context gains later), whether written as a term of the hub's context or
  spelled as a bare string under another context's ``@vocab``;
- no ``evidence`` that claims an RFC 3161 timestamp or a chain anchor: those come
  only from the services that obtained them;
- no ``validFrom`` the notary did not witness: not in the past (backdating), and
  not more than :data:`MAX_FUTURE` ahead (VC Data Model 2.0 §4.9).

Letters come only from the deposit pipeline (and later captures and draws), which
issue through :class:`credentials.issuer.CredentialIssuer` directly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib.resources import files
from typing import Any

from credentials.errors import CredentialError, MalformedCredential
from credentials.jsonld.contexts import CONTEXT_FILES, NOTARY_HUB_CONTEXTS
from credentials.vc_data_model import parse_date_time

HUB_VOCABULARY = "https://w3id.org/notary-hub#"
MAX_FUTURE = timedelta(minutes=5)
# A caller's clock may trail the hub's by this much: "now" on its side is not backdating.
CLOCK_SKEW = timedelta(seconds=60)


class ReservedCredential(CredentialError):
    """A request for something only the hub's own services issue."""

    code = "reserved_credential"
    status_code = 400


class CallerValidFrom(CredentialError):
    code = "invalid_valid_from"
    status_code = 400


class CallerEvidence(CredentialError):
    code = "reserved_evidence"
    status_code = 400


@cache
def reserved_terms() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(type names, property names, evidence member names) the hub's contexts define."""
    context: dict[str, Any] = {}
    for url in NOTARY_HUB_CONTEXTS:
        resource = files("credentials.jsonld.contexts").joinpath(CONTEXT_FILES[url])
        context.update(json.loads(resource.read_text("utf-8"))["@context"])
    types: set[str] = set()
    properties: set[str] = set()
    evidence: set[str] = set()
    for term, definition in context.items():
        iri = definition.get("@id") if isinstance(definition, dict) else definition
        if term.startswith("@") or not isinstance(iri, str) or not iri.startswith(HUB_VOCABULARY):
            continue
        if not term[:1].isupper():
            properties.add(term)
            continue
        types.add(term)
        scoped = definition.get("@context", {}) if isinstance(definition, dict) else {}
        if term.endswith("Evidence"):
            evidence.update(k for k in scoped if not k.startswith("@") and k not in ("id", "type"))
    return frozenset(types), frozenset(properties), frozenset(evidence)


def check_caller_credential(credential: Mapping[str, Any], *, now: datetime | None = None) -> None:
    """Refuse what a VC API caller may not have the notary sign (see the module doc)."""
    types, properties, evidence_members = reserved_terms()
    for where, value, is_type in _terms(credential, "credential"):
        hub_iri = value.startswith((HUB_VOCABULARY, "nh:"))
        if hub_iri or (value in types if is_type else value in properties):
            raise ReservedCredential(
                f"{where} uses {value!r}: the hub's own credential types, terms and evidence "
                "are issued only by its services"
            )
    _check_evidence(credential.get("evidence"), evidence_members)
    _check_valid_from(credential.get("validFrom"), now or datetime.now(UTC))


def _check_evidence(evidence: Any, members: frozenset[str]) -> None:
    items = evidence if isinstance(evidence, list) else [evidence] if evidence else []
    for index, item in enumerate(items):
        claimed = sorted(members.intersection(item)) if isinstance(item, Mapping) else []
        if claimed:
            raise CallerEvidence(
                f"evidence[{index}] claims {', '.join(claimed)}: timestamps and anchors are "
                "added only by the services that obtained them"
            )


def _check_valid_from(value: Any, now: datetime) -> None:
    if value is None:
        return  # the issuer sets it to the time of signing
    if not isinstance(value, str):
        raise MalformedCredential("validFrom must be a dateTimeStamp string")
    valid_from = parse_date_time(value, "validFrom")
    if valid_from < now - CLOCK_SKEW:
        raise CallerValidFrom(
            f"validFrom {value} is in the past: the notary dates what it signs at the time "
            "of signing (leave validFrom out)"
        )
    if valid_from > now + MAX_FUTURE:
        raise CallerValidFrom(
            f"validFrom {value} is more than {int(MAX_FUTURE.total_seconds() // 60)} minutes ahead"
        )


def _terms(value: Any, where: str) -> Iterator[tuple[str, str, bool]]:
    """Every member name and ``type`` / ``@type`` string in ``value``: (path, term, is_type)."""
    if isinstance(value, Mapping):
        for key, member in value.items():
            path = f"{where}.{key}"
            if not isinstance(key, str):
                continue
            yield path, key, False
            if key in ("type", "@type"):
                kinds = member if isinstance(member, list) else [member]
                yield from ((path, kind, True) for kind in kinds if isinstance(kind, str))
            else:
                yield from _terms(member, path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _terms(item, f"{where}[{index}]")
