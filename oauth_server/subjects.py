"""Pairwise subject identifiers (OpenID Connect Core 1.0 §8.1): one per person and sector.

A person's ``sub`` at a client is HMAC-SHA256 over the client's sector identifier and
the person's internal account id, under a key sealed in the hub's key store, so two
platforms of different sectors see unrelated subjects and cannot correlate the person
(issue 13 item 7); nothing about the account can be read back from it.
https://openid.net/specs/openid-connect-core-1_0.html#PairwiseAlg
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from hub_kernel.keystore import KeyStore

PAIRWISE_KEY = "oauth-pairwise"


class PairwiseSubjects:
    def __init__(self, keystore: KeyStore) -> None:
        if not keystore.exists(PAIRWISE_KEY):
            keystore.put(PAIRWISE_KEY, secrets.token_bytes(32), kind="hmac-sha256")
        self._key = keystore.get(PAIRWISE_KEY)

    def subject(self, sector: str, account_id: str) -> str:
        mac = hmac.new(self._key, f"{sector}\x00{account_id}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()
