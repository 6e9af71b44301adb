"""The verifier attacks of :mod:`tests.security.test_credential_attacks`, replayed on a served
hub: ``POST /credentials/verify`` (or ``/presentations/verify``) and ``notary-hub verify``
run as a subprocess must both refuse each, with the attack's reason, and agree."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.security.conftest import ServedHub, error_codes
from tests.security.test_credential_attacks import (
    ATTACKS,
    BASE_CREDENTIAL,
    CHALLENGE,
    DOMAIN,
    Attack,
    Materials,
)


@pytest.fixture(scope="module")
def materials(served_hub: ServedHub) -> Materials:
    issued: dict[str, Any] = {}

    def issue(mechanism: str) -> dict[str, Any]:
        if mechanism not in issued:
            response = served_hub.issue(
                copy.deepcopy(BASE_CREDENTIAL), securingMechanism=mechanism, statusPurposes=[]
            )
            assert response.status_code == 201, response.text
            issued[mechanism] = response.json()["verifiableCredential"]
        return copy.deepcopy(issued[mechanism])

    return Materials(issue)


@pytest.mark.parametrize("attack", ATTACKS, ids=[attack.name for attack in ATTACKS])
def test_the_route_and_the_cli_refuse_it_alike(
    attack: Attack, served_hub: ServedHub, materials: Materials
) -> None:
    document = attack.build(materials)
    with served_hub.client() as client:
        if attack.kind == "credential":
            response = client.post("/credentials/verify", json={"verifiableCredential": document})
        else:
            response = client.post(
                "/presentations/verify",
                json={
                    "verifiablePresentation": document,
                    "options": {"challenge": CHALLENGE, "domain": DOMAIN},
                },
            )
    assert response.status_code == 422, response.text
    http = response.json()
    assert attack.code in error_codes(http)
    bound = ("--challenge", CHALLENGE, "--domain", DOMAIN) if attack.kind == "presentation" else ()
    code, cli = served_hub.cli_json(document, *bound)
    assert code == 1, cli
    assert attack.code in error_codes(cli)
    assert error_codes(cli) == error_codes(http)
