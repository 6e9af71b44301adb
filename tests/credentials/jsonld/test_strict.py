"""check_terms: what JSON-LD would drop or alter is refused, with the path to it."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credentials.errors import ContextError, DocumentTooLarge, MalformedCredential
from credentials.jsonld.contexts import CREDENTIALS_EXAMPLES_V2, CREDENTIALS_V2, NOTARY_HUB_V1
from credentials.jsonld.rdfc import PyldCanonicalizer
from credentials.jsonld.strict import MAX_DEPTH, check_terms
from testkit.custody_sample import custody_credential, custody_proof_configuration
from tests.credentials.jsonld.test_rdf_fast import (
    _WILD_VALUE,
    EX,
    FIXED,
    credentials,
    presentation,
    presentations,
    signed_custody,
)

XSD = "http://www.w3.org/2001/XMLSchema#"
PYLD = PyldCanonicalizer()


def custody(**changes: Any) -> dict[str, Any]:
    document = custody_credential()
    document["credentialSubject"].update(changes)
    return document


@pytest.mark.parametrize(
    "document",
    [custody_credential(), custody_proof_configuration(), signed_custody(), presentation()],
    ids=["credential", "proof-config", "signed", "presentation"],
)
def test_hub_documents_pass_without_warnings(document: dict[str, Any]) -> None:
    assert check_terms(document) == []


def _without_subject_type() -> dict[str, Any]:
    document = custody_credential()
    del document["credentialSubject"]["type"]
    return document


def _presentation_with(member: str, value: Any) -> dict[str, Any]:
    document = presentation()
    document["verifiableCredential"][0]["credentialSubject"][member] = value
    return document


def _with_context(context: Any) -> dict[str, Any]:
    document = custody_credential()
    document["@context"] = context
    return document


def _evidence(index: int = 0, **changes: Any) -> dict[str, Any]:
    document = custody_credential()
    document["evidence"][index].update(changes)
    return document


REFUSED = {
    "undefined-term": (custody(foo=1), r"^credentialSubject\.foo: 'foo' is not defined"),
    "scoped-term-without-type": (_without_subject_type(), r"^credentialSubject\.depositId:"),
    "in-presentation": (
        _presentation_with("bar", "x"),
        r"^verifiableCredential\[0\]\.credentialSubject\.bar:",
    ),
    "unknown-keyword": (custody(**{"@foo": 1}), r"credentialSubject\.@foo: unknown keyword"),
    "reverse-keyword": (custody(**{"@reverse": {}}), r"keyword @reverse is not accepted"),
    "index-keyword": (_evidence(0, **{"@index": "a"}), r"^evidence\[0\]\.@index: keyword @index"),
    "null-member": (custody(title=None), r"^credentialSubject\.title is null"),
    "null-in-array": (custody(tags=["a", None]), r"^credentialSubject\.tags\[1\] is null"),
    "null-json": (_evidence(1, anchorReceipt=None), r"^evidence\[1\]\.anchorReceipt is null"),
    "relative-id": (custody(id="subject/1"), r"^credentialSubject\.id: 'subject/1' is a relative"),
    "relative-coerced-iri": (
        custody(depositor="alice"),
        r"^credentialSubject\.depositor: 'alice' is a relative IRI",
    ),
    "iri-with-space": (custody(id="did:ex:a b"), r"'did:ex:a b' is not a valid absolute IRI"),
    "undefined-type": (custody(type=["DataDeposit", "Mystery"]), r"type\[1\]: type 'Mystery'"),
    "blank-property": (custody(**{"_:p": 1}), r"blank node property"),
    "nested-array": (custody(tags=[["a"]]), r"tags\[0\]: JSON-LD flattens nested arrays"),
    "big-integer": (custody(size=10**21), r"^credentialSubject\.size: .*2\^53"),
    "unsafe-integer": (custody(size=2**53 + 1), r"^credentialSubject\.size: .*2\^53"),
    "imprecise-float": (custody(size=0.1 + 0.2), r"xsd:double canonical form"),
    "nan": (custody(size=float("nan")), r"not a finite number"),
    "control-character": (custody(title="bell\x07"), r"^credentialSubject\.title: a control"),
    "control-in-json": (
        _evidence(1, anchorReceipt={"k": ["\x0c"]}),
        r"^evidence\[1\]\.anchorReceipt\.k\[0\]: a control",
    ),
    "json-big-integer": (
        _evidence(1, anchorReceipt={"n": 2**60}),
        r"^evidence\[1\]\.anchorReceipt\.n: JSON canonicalization \(RFC 8785\)",
    ),
    "lone-surrogate": (custody(title="\ud800"), r"lone surrogate"),
    "language-and-type": (
        custody(title={"@value": "x", "@language": "en", "@type": XSD + "string"}),
        r"@type or @language, not both",
    ),
    "bad-language": (
        custody(title={"@value": "x", "@language": "en US"}),
        r"^credentialSubject\.title\.@language is not a BCP 47",
    ),
    "null-value": (custody(title={"@value": None}), r"@value is null"),
    "value-with-property": (custody(title={"@value": "x", "fileName": "y"}), r"value object"),
    "relative-datatype": (custody(title={"@value": "x", "@type": "text"}), r"not an absolute IRI"),
    "inline-context": (
        _with_context([CREDENTIALS_V2, {"title": "urn:t"}]),
        r"^@context\[1\] is an inline context: only the hub's bundled",
    ),
    "context-string": (_with_context(CREDENTIALS_V2), r"must be a non-empty list"),
    "context-not-v2-first": (_with_context([NOTARY_HUB_V1, CREDENTIALS_V2]), r"@context\[0\]"),
    "context-twice": (_with_context([CREDENTIALS_V2, CREDENTIALS_V2]), r"lists a context twice"),
    "unbundled-context": (
        _with_context([CREDENTIALS_V2, "https://evil.example/ctx"]),
        r"not a bundled context",
    ),
    "nested-inline-context": (
        _presentation_with("@context", [CREDENTIALS_V2, {"x": "urn:x"}]),
        r"^verifiableCredential\[0\]\.credentialSubject\.@context\[1\] is an inline",
    ),
    "no-context": ({"type": "VerifiableCredential"}, r"no @context"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_with_path(name: str) -> None:
    document, message = REFUSED[name]
    with pytest.raises(ContextError, match=message):
        check_terms(document)


def test_embedded_credentials_carry_their_own_contexts() -> None:
    document = presentation()
    document["verifiableCredential"][1]["@context"] = [CREDENTIALS_V2, NOTARY_HUB_V1]
    assert check_terms(document) == []
    document["verifiableCredential"][1]["@context"] = [NOTARY_HUB_V1]
    with pytest.raises(ContextError, match=r"^verifiableCredential\[1\]\.@context\[0\] must be"):
        check_terms(document)


def test_vocab_terms_and_empty_arrays_are_warnings() -> None:
    document = {
        "@context": EX,
        "type": ["VerifiableCredential", "AlumniCredential"],
        "issuer": "did:example:issuer",
        "credentialSubject": {"id": "did:example:s", "alumniOf": "School", "awards": []},
    }
    assert check_terms(document) == [
        "type[1]: type 'AlumniCredential' is not defined by the contexts; "
        "@vocab makes it <https://www.w3.org/ns/credentials/examples#AlumniCredential>",
        "credentialSubject.alumniOf: 'alumniOf' is not defined by the contexts; "
        "@vocab makes it <https://www.w3.org/ns/credentials/examples#alumniOf>",
        "credentialSubject.awards: 'awards' is not defined by the contexts; "
        "@vocab makes it <https://www.w3.org/ns/credentials/examples#awards>",
        "credentialSubject.awards is an empty array, which is not in the signed RDF",
    ]


def test_value_objects_lists_and_json_pass() -> None:
    document = {
        "@context": [CREDENTIALS_V2, NOTARY_HUB_V1, CREDENTIALS_EXAMPLES_V2],
        "type": ["VerifiableCredential", "EvidenceCaptureCredential"],
        "credentialSubject": {
            "type": "EvidenceCapture",
            "capturedAt": {"@value": "2026-01-01T00:00:00Z", "@type": XSD + "dateTime"},
            "environment": {"nested": [[1, 2], None, {"x": 0.30000000000000004}]},
        },
        "statusListAnchor": {"chainId": 1337},
        "name": [{"@value": "Dépôt", "@language": "fr"}],
        "description": {"@list": ["a", 1.5, True]},
    }
    assert check_terms(document) == []


def test_limits() -> None:
    deep: dict[str, Any] = custody_credential()
    node = deep["credentialSubject"]
    for _ in range(MAX_DEPTH):
        node["title"] = {}
        node = node["title"]
    with pytest.raises(DocumentTooLarge, match=r"credentialSubject(\.title)+ is nested deeper"):
        check_terms(deep)
    wide = custody(tags=["t"] * 10_000)
    with pytest.raises(DocumentTooLarge, match="more than 10000 JSON values"):
        check_terms(wide)
    assert check_terms(custody(tags=["t"] * 100), max_values=200) == []
    with pytest.raises(DocumentTooLarge):
        check_terms(custody_credential(), max_depth=2)


def test_not_a_document() -> None:
    with pytest.raises(MalformedCredential, match="JSON object"):
        check_terms(["x"])
    with pytest.raises(MalformedCredential, match="not a JSON value"):
        check_terms(custody(title=b"bytes"))


@pytest.mark.parametrize("name", sorted(FIXED))
def test_fixed_documents_accepted_are_canonicalizable(name: str) -> None:
    try:
        check_terms(FIXED[name])
    except ContextError:
        return
    PYLD.canonize(FIXED[name])


STRICT_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _accepted_implies_canonicalizable(document: dict[str, Any]) -> None:
    try:
        check_terms(document)
    except (ContextError, DocumentTooLarge):
        return
    try:
        PYLD.canonize(document)
    except MalformedCredential as error:
        # Indistinguishable blank nodes are a property of the graph, not of terms.
        assert "dataset poisoning" in error.message


@STRICT_SETTINGS
@given(credentials() | presentations())
def test_property_accepted_credentials_canonicalize(document: dict[str, Any]) -> None:
    _accepted_implies_canonicalizable(copy.deepcopy(document))


@STRICT_SETTINGS
@given(
    st.sampled_from([EX, [CREDENTIALS_V2], [CREDENTIALS_V2, NOTARY_HUB_V1]]),
    st.dictionaries(
        st.sampled_from(["credentialSubject", "evidence", "name", "proof", "alpha", "type", "id"]),
        _WILD_VALUE,
        max_size=4,
    ),
)
def test_property_accepted_odd_documents_canonicalize(
    context: list[str], members: dict[str, Any]
) -> None:
    _accepted_implies_canonicalizable({"@context": context, **members})


def test_an_envelope_inside_a_presentation_may_name_its_context_as_one_url() -> None:
    """VC-JOSE-COSE §3.1.1 writes the enveloped credential's ``@context`` as a string."""
    envelope = {
        "@context": CREDENTIALS_V2,
        "id": "data:application/vc+jwt,eyJ.eyJ.sig",
        "type": "EnvelopedVerifiableCredential",
    }
    presentation = {
        "@context": [CREDENTIALS_V2],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [envelope],
    }
    assert check_terms(presentation) == []
    with pytest.raises(ContextError):
        check_terms({**presentation, "@context": CREDENTIALS_V2})  # the top level is a list
    with pytest.raises(ContextError):
        check_terms({**presentation, "verifiableCredential": [{**envelope, "@context": "x:y"}]})
