"""Errors of the draw's randomness beacon (``docs/draw-algorithm.md`` §3.1).

They derive from :class:`evidence.errors.EvidenceError` (codes and HTTP statuses mapped
once by ``notary_hub.errors``).
"""

from __future__ import annotations

from evidence.errors import EvidenceError


class BeaconError(EvidenceError):
    code = "beacon_error"
    status_code = 422


class InvalidBeaconConfig(BeaconError):
    """A configuration's ``beacon`` member that is malformed, or a ``drand-quicknet``
    one whose chain hash, key, genesis or period are not quicknet's own."""

    code = "invalid_beacon_config"
    status_code = 422


class InvalidBeacon(BeaconError):
    """A beacon round that does not verify: a bad or malformed signature, another round
    than the expected one, or a ``randomness`` that is not ``H(signature)``."""

    code = "invalid_beacon"
    status_code = 422


class BeaconNotPublished(BeaconError):
    """The round is not published yet (its time has not come)."""

    code = "beacon_not_published"
    status_code = 409


class BeaconUnavailable(BeaconError):
    """No configured relay served a round that verifies."""

    code = "beacon_unavailable"
    status_code = 503
