"""The standing tamper matrix (issue 9, item 12): every field of every credential kind.

Each credential the hub issues (a VC API credential secured with eddsa-rdfc-2022,
the same as ``vc+jwt``, and the custody letter with every member of its evidence)
is changed one field at a time. Each change must be refused by the hub's route
and by ``notary-hub verify`` (its command run in this process for every field, and as
a subprocess, exactly as a user types it, for every ``SUBPROCESS_EVERY``-th field),
and the two must name the same reasons.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.security.conftest import CONTRACT, ServedHub, error_codes

Path = tuple[str | int, ...]
V2 = "https://www.w3.org/ns/credentials/v2"
# A subprocess costs a Python start-up: every field goes through the command in process,
# and a spread sample (the first field included) through the installed executable too.
SUBPROCESS_EVERY = 7
EXAMPLES = "https://www.w3.org/ns/credentials/examples/v2"


def leaves(value: Any, path: Path = ()) -> Iterator[Path]:
    if isinstance(value, dict):
        for key, member in value.items():
            yield from leaves(member, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    else:
        yield path


def changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str) and value:
        middle = len(value) // 2
        replacement = "3" if value[middle] != "3" else "4"  # stays base58 / hex / base64url
        return value[:middle] + replacement + value[middle + 1 :]
    return "tampered"


def tampered(document: Any, path: Path) -> Any:
    copied = copy.deepcopy(document)
    target = copied
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = changed(target[path[-1]])
    return copied


def name(path: Path) -> str:
    return ".".join(str(step) for step in path)


def assert_both_refuse(served_hub: ServedHub, http_body: dict[str, Any], cli: Any) -> None:
    code, cli_body = cli
    assert http_body["verified"] is False
    assert code == 1, cli_body
    assert error_codes(http_body), http_body
    assert error_codes(cli_body) == error_codes(http_body)


def cli_judges(served_hub: ServedHub, case: int, forged: Any, *extra: str) -> Any:
    """The command's verdict; every ``SUBPROCESS_EVERY``-th case also as a subprocess."""
    verdict = served_hub.cli_json_in_process(forged, *extra)
    if case % SUBPROCESS_EVERY == 0:
        code, body = served_hub.cli_json(forged, *extra)
        assert (code, error_codes(body)) == (verdict[0], error_codes(verdict[1]))
    return verdict


@pytest.fixture(scope="module")
def generic_di(served_hub: ServedHub) -> dict[str, Any]:
    credential: dict[str, Any] = issued(served_hub)
    return credential


@pytest.fixture(scope="module")
def generic_jwt(served_hub: ServedHub) -> str:
    enveloped = issued(served_hub, securingMechanism="vc+jwt", alg="EdDSA")
    token: str = enveloped["id"].split(",", 1)[1]
    return token


def issued(served_hub: ServedHub, **options: Any) -> Any:
    credential = {
        "@context": [V2, EXAMPLES],
        "type": ["VerifiableCredential", "MembershipCredential"],
        "credentialSubject": {"id": "did:example:holder", "memberOf": "Example Guild"},
    }
    response = served_hub.issue(credential, **options)
    assert response.status_code == 201, response.text
    return response.json()["verifiableCredential"]


def test_the_untampered_documents_verify(
    served_hub: ServedHub, generic_di: dict[str, Any], generic_jwt: str
) -> None:
    assert served_hub.http_verify_letter(served_hub.letter, CONTRACT).status_code == 200
    assert served_hub.cli_json(served_hub.letter, "--file", str(served_hub.contract))[0] == 0
    for document in (generic_di, generic_jwt):
        assert served_hub.http_verify_credential(document).status_code == 200
        assert served_hub.cli_json(document)[0] == 0


def test_every_field_of_the_custody_letter(served_hub: ServedHub) -> None:
    paths = list(leaves(served_hub.letter))
    assert any(p[0] == "evidence" for p in paths)
    for case, path in enumerate(paths):
        forged = tampered(served_hub.letter, path)
        http = served_hub.http_verify_letter(forged, CONTRACT)
        assert http.status_code in (400, 422), (name(path), http.text)
        cli = cli_judges(served_hub, case, forged, "--file", str(served_hub.contract))
        assert_both_refuse(served_hub, http.json(), cli)


def test_every_field_of_a_data_integrity_credential(
    served_hub: ServedHub, generic_di: dict[str, Any]
) -> None:
    for case, path in enumerate(leaves(generic_di)):
        forged = tampered(generic_di, path)
        http = served_hub.http_verify_credential(forged)
        assert http.status_code in (400, 422), (name(path), http.text)
        assert_both_refuse(served_hub, http.json(), cli_judges(served_hub, case, forged))


def _segment(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _encode(value: Any) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_every_field_of_a_vc_jwt(served_hub: ServedHub, generic_jwt: str) -> None:
    header, payload, signature = generic_jwt.split(".")
    cases = [
        *(
            (
                f"header.{name(p)}",
                ".".join([_encode(tampered(_segment(header), p)), payload, signature]),
            )
            for p in leaves(_segment(header))
        ),
        *(
            (
                f"payload.{name(p)}",
                ".".join([header, _encode(tampered(_segment(payload), p)), signature]),
            )
            for p in leaves(_segment(payload))
        ),
        ("signature", ".".join([header, payload, changed(signature)])),
    ]
    for case, (label, forged) in enumerate(cases):
        http = served_hub.http_verify_credential(forged)
        assert http.status_code in (400, 422), (label, http.text)
        assert_both_refuse(served_hub, http.json(), cli_judges(served_hub, case, forged))
