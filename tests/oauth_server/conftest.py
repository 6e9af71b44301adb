"""The authorisation server over HTTP, on SQLite and PostgreSQL (``sessions``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from oauth_server.parts import OAuthParts
from testkit.clock import SkippingClock
from testkit.oauth import ISSUER, oauth_app, open_test_oauth


@pytest.fixture
def clock() -> SkippingClock:
    return SkippingClock()


@pytest.fixture
def oauth(sessions: sessionmaker[Session], clock: SkippingClock) -> OAuthParts:
    return open_test_oauth(sessions, clock=clock)


@pytest.fixture
def http(oauth: OAuthParts) -> Iterator[TestClient]:
    with TestClient(oauth_app(oauth), base_url=ISSUER) as client:
        yield client
