"""Hub-issued presentation challenges: fresh, bound to a domain, answered once.

The service over the real tables (SQLite and PostgreSQL), then the routes of a real
hub: issue, verify, replay, expiry, a verifier-chosen challenge, and the per-client
rate limit.
"""

from __future__ import annotations

import base64
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from credentials.challenges import ChallengeService
from credentials.errors import MalformedCredential
from credentials.verifier import Verifier
from did_registry.did_key import DidKeyResolver
from did_registry.dispatch import DispatchingResolver
from notary_hub.hub import Hub
from testkit.clock import SkippingClock
from testkit.holder import credential_for, did_key_holder
from testkit.waiting import wait_until
from wallet.presentations import build_presentation

HOLDER = did_key_holder("challenged holder")
ISSUER = did_key_holder("challenge issuer")
ORIGIN = "https://hub.example"


def presented(challenge: str, domain: str, fmt: str = "di") -> Any:
    return build_presentation(
        [credential_for(HOLDER.did, ISSUER, jwt=fmt == "jwt")],
        holder=HOLDER.did,
        verification_method=HOLDER.method,
        private_key=HOLDER.key,
        challenge=challenge,
        domain=domain,
        fmt="jwt" if fmt == "jwt" else "di",
    )


@pytest.fixture
def clock() -> SkippingClock:
    return SkippingClock()


@pytest.fixture
def service(sessions: sessionmaker[Session], clock: SkippingClock) -> ChallengeService:
    return ChallengeService(sessions, default_domain=ORIGIN, lifetime=600, clock=clock)


@pytest.fixture
def verifier(clock: SkippingClock) -> Verifier:
    return Verifier(DispatchingResolver({"key": DidKeyResolver()}), chain=None, clock=clock)


def codes(result: Any) -> list[str]:
    return [problem.code for problem in result.errors]


def test_a_challenge_is_128_random_bits_for_the_hub_origin(service: ChallengeService) -> None:
    issued = service.issue()
    assert base64.urlsafe_b64decode(issued.challenge + "==") and len(issued.challenge) == 22
    assert issued.domain == ORIGIN
    body = issued.to_json()
    expires = datetime.fromisoformat(body["expires"]).timestamp()
    assert abs(expires - (time.time() + 600)) < 5
    assert service.issue("https://court.example").domain == "https://court.example"
    assert len({service.issue().challenge for _ in range(50)}) == 50


@pytest.mark.parametrize("fmt", ["di", "jwt"])
def test_a_hub_challenge_is_answered_once(
    service: ChallengeService, verifier: Verifier, fmt: str
) -> None:
    issued = service.issue()
    vp = presented(issued.challenge, issued.domain, fmt)
    first = service.verify_presentation(verifier, vp, challenge=issued.challenge, domain=None)
    assert first.verified, first.to_json()
    assert "challenge" in first.checks
    assert first.details["challenge"] == {"issuedByHub": True, "domain": ORIGIN}
    replay = service.verify_presentation(verifier, vp, challenge=issued.challenge, domain=None)
    assert codes(replay) == ["CHALLENGE_REPLAYED_ERROR"]
    assert "replay" in replay.errors[0].message


def test_concurrent_answers_to_one_challenge_let_one_through(
    service: ChallengeService, verifier: Verifier
) -> None:
    issued = service.issue()
    vp = presented(issued.challenge, issued.domain)

    def answer(_: int) -> list[str]:
        result = service.verify_presentation(verifier, vp, challenge=issued.challenge, domain=None)
        return codes(result)

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(answer, range(6)))
    assert sorted(outcomes) == [[]] + [["CHALLENGE_REPLAYED_ERROR"]] * 5


def test_an_expired_hub_challenge_is_refused(
    service: ChallengeService, verifier: Verifier, clock: SkippingClock
) -> None:
    issued = service.issue()
    vp = presented(issued.challenge, issued.domain)
    clock.advance(601)
    result = service.verify_presentation(verifier, vp, challenge=issued.challenge, domain=None)
    assert "CHALLENGE_EXPIRED_ERROR" in codes(result)


def test_a_failing_presentation_leaves_the_challenge_answerable(
    service: ChallengeService, verifier: Verifier
) -> None:
    issued = service.issue()
    wrong_domain = presented(issued.challenge, "https://elsewhere.example")
    refused = service.verify_presentation(
        verifier, wrong_domain, challenge=issued.challenge, domain=None
    )
    assert codes(refused) == ["INVALID_DOMAIN_ERROR"]
    right = presented(issued.challenge, issued.domain)
    assert service.verify_presentation(
        verifier, right, challenge=issued.challenge, domain=None
    ).verified


def test_a_hub_challenge_answered_for_another_domain_is_refused(
    service: ChallengeService, verifier: Verifier
) -> None:
    issued = service.issue()
    vp = presented(issued.challenge, "https://elsewhere.example")
    result = service.verify_presentation(
        verifier, vp, challenge=issued.challenge, domain="https://elsewhere.example"
    )
    assert codes(result) == ["INVALID_DOMAIN_ERROR"]
    assert "issued this challenge for https://hub.example" in result.errors[0].message


def test_a_verifier_chosen_challenge_is_checked_as_given(
    service: ChallengeService, verifier: Verifier
) -> None:
    vp = presented("verifier-chosen-1", "https://court.example")
    for _ in range(2):  # the hub keeps no record of it: the verifier answers for freshness
        result = service.verify_presentation(
            verifier, vp, challenge="verifier-chosen-1", domain="https://court.example"
        )
        assert result.verified, result.to_json()
        assert result.details["challenge"] == {"issuedByHub": False}
    other = service.verify_presentation(
        verifier, vp, challenge="verifier-chosen-2", domain="https://court.example"
    )
    assert codes(other) == ["INVALID_CHALLENGE_ERROR"]


def test_a_domain_must_be_printable_and_bounded(service: ChallengeService) -> None:
    for domain in ("", "a b", "x" * 513, "line\nbreak"):
        with pytest.raises(MalformedCredential, match="printable"):
            service.issue(domain)


# -- over HTTP -------------------------------------------------------------------------


def test_the_routes_issue_consume_and_refuse_a_replay(hub_client: TestClient, hub_app: Hub) -> None:
    # The hub's resolver answers once its DID index has caught up with the chain.
    wait_until(lambda: hub_app.indexer.head(), timeout=30, message="the DID index never started")
    response = hub_client.post("/presentations/challenges")
    assert response.status_code == 201, response.text
    issued = response.json()
    assert set(issued) == {"challenge", "domain", "expires"}
    assert issued["domain"] == "http://127.0.0.1:8000"
    vp = presented(issued["challenge"], issued["domain"])
    body = {"verifiablePresentation": vp, "options": {"challenge": issued["challenge"]}}
    accepted = hub_client.post("/presentations/verify", json=body)
    assert accepted.status_code == 200, accepted.json()["errors"]
    assert accepted.json()["details"]["challenge"]["issuedByHub"] is True
    replayed = hub_client.post("/presentations/verify", json=body)
    assert replayed.status_code == 422
    assert [e["code"] for e in replayed.json()["errors"]] == ["CHALLENGE_REPLAYED_ERROR"]
    court = hub_client.post("/presentations/challenges", json={"domain": "https://court.example"})
    assert court.json()["domain"] == "https://court.example"
    assert hub_client.post("/presentations/challenges", json={"domain": ""}).status_code == 422
    huge = hub_client.post("/presentations/challenges", json={"domain": "d" * 5000})
    assert huge.status_code == 422


def test_the_challenge_route_is_rate_limited_per_client(hub_client: TestClient) -> None:
    statuses = [hub_client.post("/presentations/challenges").status_code for _ in range(30)]
    assert statuses[:15] == [201] * 15
    assert 429 in statuses
    refused = hub_client.post("/presentations/challenges")
    assert refused.status_code == 429
    assert refused.json()["error"] == "TOO_MANY_CHALLENGES"
    assert int(refused.headers["retry-after"]) >= 1
