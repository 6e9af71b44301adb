"""RDFC-1.0 canonicalization with pyld: the specification's outputs, and strictness."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from credentials.errors import ContextError, MalformedCredential
from credentials.jsonld.contexts import CREDENTIALS_EXAMPLES_V2, CREDENTIALS_V2
from credentials.jsonld.document_loader import document_loader
from credentials.jsonld.rdfc import Canonicalizer, PyldCanonicalizer

VECTORS = Path(__file__).parents[1] / "vectors"
CONTEXT = [CREDENTIALS_V2, CREDENTIALS_EXAMPLES_V2]
V2 = [CREDENTIALS_V2]  # no @vocab: undefined terms are dropped, not mapped


def vector(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((VECTORS / name).read_text("utf-8"))
    return loaded


@pytest.fixture(scope="module")
def canonicalizer() -> PyldCanonicalizer:
    return PyldCanonicalizer()


def test_pyld_canonicalizer_is_a_canonicalizer() -> None:
    implementation: Canonicalizer = PyldCanonicalizer()
    assert callable(implementation.canonize)


def test_specification_canonical_document(canonicalizer: PyldCanonicalizer) -> None:
    b1 = vector("eddsa-rdfc-2022-rec-b1.json")
    assert canonicalizer.canonize(b1["unsecuredDocument"]) == b1["canonicalDocument"]


@pytest.mark.parametrize("name", ["eddsa-rdfc-2022-rec-b1.json", "eddsa-rdfc-2022-repo.json"])
def test_specification_canonical_proof_configuration(
    canonicalizer: PyldCanonicalizer, name: str
) -> None:
    data = vector(name)
    assert canonicalizer.canonize(data["proofOptions"]) == data["canonicalProofConfig"]


def test_canonical_form_ignores_key_order_and_whitespace(canonicalizer: PyldCanonicalizer) -> None:
    document = vector("eddsa-rdfc-2022-rec-b1.json")["unsecuredDocument"]
    shuffled = json.loads(json.dumps(dict(reversed(list(document.items()))), indent=7))
    assert canonicalizer.canonize(shuffled) == canonicalizer.canonize(document)


def test_blank_nodes_get_canonical_labels(canonicalizer: PyldCanonicalizer) -> None:
    document = {
        "@context": CONTEXT,
        "id": "urn:uuid:0b7e4a1c-5f0a-4a43-9c53-6f0e0f5b2d11",
        "knows": [{"name": "Bob"}, {"name": "Alice"}],
    }
    flipped = {**document, "knows": list(reversed(document["knows"]))}
    out = canonicalizer.canonize(document)
    assert out == canonicalizer.canonize(flipped)
    assert "_:c14n0" in out and "_:c14n1" in out
    assert out.endswith(" .\n") and out.count("\n") == 4


def test_literals_escaped_as_rdfc_1_0(canonicalizer: PyldCanonicalizer) -> None:
    document = {"@context": CONTEXT, "id": "urn:x:1", "name": 'a "quoted"\\ tab\tline\nret\r é'}
    assert canonicalizer.canonize(document) == (
        '<urn:x:1> <https://schema.org/name> "a \\"quoted\\"\\\\ tab\\tline\\nret\\r é" .\n'
    )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"@context": [CREDENTIALS_V2], "type": "VerifiableCredential", "foo": 1}, "'foo'"),
        ({"@context": [CREDENTIALS_V2], "credentialSubject": {"id": "urn:x"}}, "credentialSubject"),
    ],
    ids=["undefined-term", "term-outside-its-scope"],
)
def test_terms_expansion_would_drop_are_refused(
    canonicalizer: PyldCanonicalizer, document: dict[str, Any], message: str
) -> None:
    with pytest.raises(ContextError, match=message):
        canonicalizer.canonize(document)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"@context": CONTEXT, "id": "credentials/1", "name": "x"}, "'credentials/1'"),
        ({"@context": V2, "type": ["VerifiableCredential", "rel/T"]}, "type 'rel/T'"),
        ({"@context": CONTEXT, "type": "VerifiableCredential", "issuer": "../i"}, "'../i'"),
        (
            {"@context": [*CONTEXT, {"@base": "https://evil.example/"}], "id": "a", "name": "x"},
            "not a valid absolute IRI",
        ),
        ({"@context": [*CONTEXT, {"p": "_:p"}], "id": "urn:x", "p": "v"}, "blank node"),
        (
            {"@context": [*V2, {"v": "urn:v"}], "v": {"@value": "1", "@type": "int"}},
            "absolute IRI",
        ),
        ({"@context": CONTEXT, "id": "urn:x", "name": "bell\x07"}, "control character"),
        ({"@context": CONTEXT, "id": "urn:x", "name": "back\bspace"}, "control character"),
        ({"@context": CONTEXT, "id": "urn:x", "name": "del\x7f"}, "control character"),
        ({"@context": CONTEXT, "id": "urn:x y", "name": "x"}, "'urn:x y'"),
        ({"@context": CONTEXT, "id": "urn:x\u2003y", "name": "x"}, "not a valid absolute"),
        ({"@context": CONTEXT, "type": "VerifiableCredential", "issuer": "urn:<b>"}, "'urn:<b>'"),
        ({"@context": CONTEXT, "id": 5}, "@id"),
        ({"@context": CONTEXT, "type": 5}, "@type"),
    ],
    ids=[
        "relative-id", "relative-type", "relative-reference", "context-base", "blank-property",
        "relative-datatype", "bell", "backspace", "delete", "iri-space", "iri-em-space",
        "iri-angle", "number-id", "number-type",
    ],
)  # fmt: skip
def test_documents_that_would_not_be_signed_faithfully(
    canonicalizer: PyldCanonicalizer, document: dict[str, Any], message: str
) -> None:
    with pytest.raises(MalformedCredential, match=message):
        canonicalizer.canonize(document)


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (5, "invalid local context"),
        ([{"@version": 2}], "invalid @version value"),
        (["https://www.w3.org/2018/credentials/v1"], "only bundled contexts"),
        ([CREDENTIALS_V2, {"VerifiableCredential": "urn:evil"}], "protected term redefinition"),
    ],
    ids=["number", "bad-version", "unbundled", "protected-redefinition"],
)
def test_bad_contexts(canonicalizer: PyldCanonicalizer, context: Any, message: str) -> None:
    with pytest.raises(ContextError, match=message):
        canonicalizer.canonize({"@context": context, "id": "urn:x"})


def test_numbers_as_json_ld_maps_them(canonicalizer: PyldCanonicalizer) -> None:
    values = {"a": 5.0, "b": 1.5, "c": 2**60, "d": 1e21, "e": True, "f": -0.0}
    out = canonicalizer.canonize({"@context": CONTEXT, "id": "urn:x", **values})
    ex, xsd = "https://www.w3.org/ns/credentials/examples#", "http://www.w3.org/2001/XMLSchema#"
    assert out.splitlines() == [
        f'<urn:x> <{ex}a> "5"^^<{xsd}integer> .',
        f'<urn:x> <{ex}b> "1.5E0"^^<{xsd}double> .',
        f'<urn:x> <{ex}c> "1152921504606846976"^^<{xsd}integer> .',
        f'<urn:x> <{ex}d> "1.0E21"^^<{xsd}double> .',
        f'<urn:x> <{ex}e> "true"^^<{xsd}boolean> .',
        f'<urn:x> <{ex}f> "0"^^<{xsd}integer> .',
    ]


def test_not_an_object(canonicalizer: PyldCanonicalizer) -> None:
    with pytest.raises(MalformedCredential, match="JSON object"):
        canonicalizer.canonize(["not", "a", "map"])  # type: ignore[arg-type]


def test_too_deep(canonicalizer: PyldCanonicalizer) -> None:
    document: dict[str, Any] = {"@context": CONTEXT, "id": "urn:x"}
    node = document
    for _ in range(5000):
        node["knows"] = {}
        node = node["knows"]
    with pytest.raises(MalformedCredential, match="nested deeper than 64 levels"):
        canonicalizer.canonize(document)


def _ring(size: int) -> dict[str, Any]:
    """Blank nodes in a cycle: all alike, the RDFC-1.0 §6.1 poisoning shape."""
    nodes = [{"@id": f"_:b{i}", "next": {"@id": f"_:b{(i + 1) % size}"}} for i in range(size)]
    return {"@context": CONTEXT, "@graph": nodes}


def test_dataset_poisoning_is_refused(canonicalizer: PyldCanonicalizer) -> None:
    # rdf-canonize (jsonld.js) refuses the same inputs with its default work factor.
    for size in (2, 6):
        with pytest.raises(MalformedCredential, match="dataset poisoning"):
            canonicalizer.canonize(_ring(size))
    # With a larger budget the algorithm completes: the guard is what stopped it.
    assert "_:c14n5" in PyldCanonicalizer(max_work_factor=3).canonize(_ring(6))


def test_only_the_given_loader_is_used() -> None:
    local = "https://contexts.example/test/v1"
    served = {"@context": {"label": "https://vocab.example/#label"}}
    calls: list[str] = []

    def loader(url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        calls.append(url)
        if url == local:
            return {"contextUrl": None, "documentUrl": url, "document": served}
        return document_loader(url, dict(options or {}))

    document = {"@context": local, "@id": "urn:x", "label": "hello"}
    out = PyldCanonicalizer(loader).canonize(document)
    assert out == '<urn:x> <https://vocab.example/#label> "hello" .\n'
    assert calls == [local]
    # The hub's canonicalizer does not know that context, cached or not.
    with pytest.raises(ContextError, match="only bundled contexts"):
        PyldCanonicalizer().canonize(document)


def test_concurrent_use_gives_the_same_output(canonicalizer: PyldCanonicalizer) -> None:
    b1 = vector("eddsa-rdfc-2022-rec-b1.json")
    results: list[str] = []

    def work() -> None:
        for _ in range(5):
            results.append(canonicalizer.canonize(b1["unsecuredDocument"]))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [b1["canonicalDocument"]] * 20
