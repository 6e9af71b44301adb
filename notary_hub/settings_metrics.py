"""Who may read ``/metrics`` and how fresh its figures are: ``NOTARY_HUB_METRICS_*``.

``/metrics`` tells traffic volumes, queue depths and error rates: what an attacker
timing an outage or a competitor counting deposits would like. So a scraper presents a
static bearer (``NOTARY_HUB_METRICS_TOKEN``; Prometheus' ``authorization.credentials``
or ``credentials_file``), or the operator says in so many words that it is public
(``NOTARY_HUB_METRICS_PUBLIC=true``: e.g. the port is reachable from the scraper's
network alone). Dev mode with neither serves it openly, for the quickstart; production
with neither answers 401 to everyone.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr

MIN_TOKEN_LENGTH = 32


class MetricsSettings(BaseModel):
    enabled: bool = Field(default=True, description="Serve GET /metrics.")
    token: SecretStr | None = Field(
        default=None, description="The bearer a scraper presents to GET /metrics."
    )
    public: bool = Field(
        default=False, description="Serve /metrics without a bearer, even in production."
    )
    cache_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="How long queue depths and the indexer lag read at a scrape are reused.",
    )
    index_unready_blocks: int = Field(
        default=1000,
        ge=1,
        le=10_000_000,
        description="/readyz is 503 while the DID indexer is this many blocks behind the chain.",
    )


def metrics_problems(metrics: MetricsSettings) -> list[str]:
    """What production mode refuses of the metrics settings."""
    token = metrics.token.get_secret_value() if metrics.token is not None else None
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        return [f"the /metrics bearer must be at least {MIN_TOKEN_LENGTH} characters"]
    return []
