"""The hub's one typed configuration, read from ``NOTARY_HUB_*`` environment variables.

Nested sections map to ``NOTARY_HUB_<SECTION>_<FIELD>``: ``NOTARY_HUB_DATABASE_URL``,
``NOTARY_HUB_CHAIN_RPC_URL``, ``NOTARY_HUB_ANCHORING_BATCH_MAX_ITEMS`` ... (the
section name is split off once, so field names keep their underscores).

``mode=dev`` (the default, for the one-machine quickstart) lets the hub create
its own master key file and use the embedded chain's conveniences; in
``production`` mode :meth:`Settings.check_production` refuses anything insecure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from notary_hub.settings_anchoring import (
    AnchoringSettings as AnchoringSettings,
)
from notary_hub.settings_anchoring import (
    anchoring_problems,
    insecure_anchoring,
)
from notary_hub.settings_capture import CaptureSettings, capture_problems
from notary_hub.settings_metrics import MetricsSettings, metrics_problems

DEFAULT_CHAIN_ID = 0x539  # 1337: the conventional id of a local development chain


class InsecureSettings(ValueError):
    """A value that is only acceptable in dev mode."""


class DatabaseSettings(BaseModel):
    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: SQLite file hub.sqlite3 in the data directory.",
    )
    echo: bool = False
    pool_size: int = Field(default=10, ge=1, le=200)


class ChainSettings(BaseModel):
    rpc_url: SecretStr | None = Field(
        default=None,
        description="Ethereum JSON-RPC URL of a consortium node; unset: the embedded chain.",
    )
    chain_id: int = Field(default=DEFAULT_CHAIN_ID, ge=1, le=2**53 - 1)
    confirmations: int = Field(default=0, ge=0, le=1000)
    receipt_timeout: float = Field(default=120.0, gt=0)
    poll_interval: float = Field(default=0.5, gt=0)
    request_timeout: float = Field(default=10.0, gt=0)
    retries: int = Field(default=5, ge=0, le=100)
    did_registry_address: str | None = None
    anchor_registry_address: str | None = None
    consortium_address: str | None = None
    status_list_registry_address: str | None = None
    draw_registry_address: str | None = None  # DrawRegistry; deployed at start when unset
    consortium_threshold_bps: int = Field(default=5001, ge=1, le=10_000)
    rpc_allow_send_raw: bool = Field(
        default=False, description="Serve eth_sendRawTransaction on the embedded chain's /rpc."
    )
    # Limits of the embedded chain's unauthenticated /rpc (chain_adapter.rpc_execution,
    # rpc_limits). Flat rpc_* fields, as the env names split off one section only.
    rpc_call_gas_cap: int = Field(
        default=10_000_000,
        ge=100_000,
        le=1_000_000_000,
        description="Gas of an eth_call/eth_estimateGas on /rpc; more is clamped to this.",
    )
    rpc_call_timeout: float = Field(
        default=3.0, gt=0, le=300, description="Seconds a /rpc request may execute the EVM."
    )
    rpc_rate_limit: float = Field(
        default=20.0, gt=0, le=100_000, description="/rpc requests a second per client IP."
    )
    rpc_rate_burst: int = Field(
        default=100, ge=1, le=1_000_000, description="/rpc requests a client IP may burst."
    )
    rpc_max_concurrent: int = Field(
        default=4, ge=1, le=64, description="/rpc requests executing at once."
    )
    organisation_name: str = Field(default="Notary Office", min_length=1, max_length=64)

    @property
    def embedded(self) -> bool:
        return self.rpc_url is None

    @field_validator("did_registry_address", "anchor_registry_address", "consortium_address")
    @classmethod
    def _checksum(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from eth_utils.address import is_address, to_checksum_address

        if not is_address(value):
            raise ValueError(f"not an Ethereum address: {value!r}")
        return str(to_checksum_address(value))


class KeySettings(BaseModel):
    master_key: SecretStr | None = Field(
        default=None,
        description="32-byte master key, hex or base64url (NOTARY_HUB_KEYS_MASTER_KEY).",
    )
    master_key_file: Path | None = Field(
        default=None, description="File holding the master key; dev mode creates one."
    )


class DidSettings(BaseModel):
    index_poll_seconds: float = Field(default=1.0, gt=0, le=3600)
    resolution_cache_entries: int = Field(
        default=8192,
        ge=1,
        le=10_000_000,
        description="did:ethr results each process keeps (LRU; also capped at 64 MiB).",
    )
    resolution_head_max_age_ms: float = Field(
        default=2.0,
        ge=0,
        le=1000,
        description="How old the index height a resolution uses may be (0: read each time).",
    )
    network_names: dict[str, int] = Field(
        default_factory=dict,
        description='did:ethr network names besides hex chain ids, e.g. {"notary": 1337}.',
    )


class ConsortiumSettings(BaseModel):
    trusted_ca_file: Path | None = Field(
        default=None, description="PEM file of the CA roots that vouch for member organisations."
    )
    crl_files: list[Path] = Field(default_factory=list, description="CRL files (PEM or DER).")


class CredentialSettings(BaseModel):
    public_url: str | None = Field(
        default=None,
        description="Base URL credentials name for status lists; default http://HOST:PORT.",
    )
    context_url: str | None = Field(
        default=None,
        description=(
            "Where the hub's JSON-LD context (https://w3id.org/notary-hub/v1) can be fetched, "
            "recorded in letters' relatedResource; default PUBLIC_URL/contexts/notary-hub/v1."
        ),
    )
    status_list_size: int = Field(default=131_072, ge=131_072, le=2**24)
    status_publish_seconds: float = Field(default=1.0, gt=0, le=86_400)
    default_validity_days: int | None = Field(default=None, ge=1, le=365_000)
    trusted_issuers: list[str] = Field(
        default_factory=list,
        description="Issuer DIDs trusted besides the consortium's admitted notaries.",
    )
    challenge_seconds: int = Field(
        default=600,
        ge=10,
        le=86_400,
        description="How long a presentation challenge from POST /presentations/challenges lasts.",
    )
    challenge_rate: float = Field(
        default=1.0, gt=0, le=1000, description="Challenges a second per client IP, sustained."
    )
    challenge_burst: int = Field(
        default=20, ge=1, le=10_000, description="Challenges a client IP may ask for at once."
    )


class SigninSettings(BaseModel):
    """Issue 13: sign-in with the DID wallet (OpenID4VP)."""

    request_seconds: int = Field(
        default=300, ge=5, le=1800, description="How long a wallet sign-in request lasts."
    )
    session_seconds: int = Field(
        default=8 * 3600, ge=60, le=30 * 86_400, description="How long a browser session lasts."
    )
    rate: float = Field(
        default=1.0, gt=0, le=1000, description="Sign-ins (and responses) a second per client IP."
    )
    burst: int = Field(default=20, ge=1, le=10_000, description="Sign-ins a client IP may start.")


class TimestampSettings(BaseModel):
    urls: list[str] = Field(
        default_factory=list,
        description="External RFC 3161 authorities, tried in order; empty: the embedded one.",
    )
    embedded: bool = Field(default=True, description="Run the embedded TSA (and serve /tsa).")
    trust_roots_file: Path | None = Field(
        default=None, description="PEM roots that external authorities' chains must end in."
    )
    timeout: float = Field(default=10.0, gt=0)
    retries: int = Field(default=2, ge=0, le=20)


class EvidenceSettings(BaseModel):
    blob_store: Literal["local", "s3"] = "local"
    blob_dir: Path | None = Field(default=None, description="Default: DATA_DIR/blobs.")
    s3_endpoint_url: str | None = None
    s3_bucket: str | None = None
    s3_prefix: str = "blobs/"
    s3_region: str = "us-east-1"
    max_upload_bytes: int = Field(default=4 * 1024**3, ge=1, le=1024**4)
    poll_seconds: float = Field(default=0.5, gt=0, le=3600)
    lease_seconds: float = Field(
        default=60.0, ge=1, le=3600, description="How long a stage holds deposits it claimed."
    )
    # Issue 16: deposits a pipeline stage claims per pass (status allocation, receipts and
    # the writes are per pass, so larger passes cost less per deposit).
    pipeline_batch_size: int = Field(default=100, ge=1, le=10_000)
    # Issue 11: /readyz is 503 while a stage fails this many passes running, or this long.
    unready_after_failures: int = Field(default=5, ge=1, le=1_000_000)
    unready_after_seconds: float = Field(default=120.0, gt=0, le=86_400)
    # The public checks (POST /evidence/verify, a letter's QR status, a draw's receipt
    # credential): calls a second per IP.
    public_rate: float = Field(default=20.0, gt=0, le=100_000)
    public_burst: int = Field(default=60, ge=1, le=1_000_000)


class BeaconNetworkSettings(BaseModel):
    """A beacon chain draws may name besides drand quicknet (built in): a test beacon."""

    network: str = Field(min_length=1, max_length=64)
    chain_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    public_key: str = Field(pattern=r"^[0-9a-f]{192}$")
    genesis: int = Field(ge=0)
    period: int = Field(ge=1)


class DrawSettings(BaseModel):
    """Public draws (issue 14, ``evidence.draw``)."""

    relays: list[str] = Field(
        default_factory=lambda: ["https://api.drand.sh", "https://drand.cloudflare.com"],
        description="drand HTTP relays the beacon round is fetched from, tried in order.",
    )
    relay_timeout: float = Field(default=5.0, gt=0, le=120)
    min_commit_lead_seconds: int = Field(
        default=60,
        ge=60,
        le=30 * 86_400,
        description="How long before its beacon round a draw must be committed (at least 60 s).",
    )
    beacons: list[BeaconNetworkSettings] = Field(
        default_factory=list,
        description="Further beacon networks (JSON); drand quicknet is always known.",
    )
    max_chunk_bytes: int = Field(default=64 << 20, ge=1 << 16, le=1 << 30)


class OAuthSettings(BaseModel):
    """The authorisation server (``oauth_server``, issue 13)."""

    issuer: str | None = Field(
        default=None, description="The OAuth issuer URL; default the public URL (PUBLIC_URL)."
    )
    audience: str | None = Field(
        default=None, description="The `aud` of access tokens (the hub's APIs); default the issuer."
    )
    access_token_seconds: int = Field(default=600, ge=60, le=86_400)
    refresh_token_seconds: int = Field(default=30 * 86_400, ge=3600, le=365 * 86_400)
    code_seconds: int = Field(default=60, ge=10, le=600)
    par_seconds: int = Field(default=60, ge=10, le=90, description="RFC 9126: short-lived.")
    token_rate: float = Field(
        default=50.0, gt=0, le=100_000, description="Token/PAR/registration calls a second per IP."
    )
    token_burst: int = Field(default=100, ge=1, le=1_000_000)
    revocation_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        le=60,
        description="How long a token's revocation state and a client are cached.",
    )
    # RFC 8628: the device grant (``notary-hub login``) and its verification page.
    device_code_seconds: int = Field(default=600, ge=60, le=3600)
    device_interval: int = Field(default=5, ge=1, le=60, description="Seconds between polls.")
    device_attempt_rate: float = Field(
        default=0.2, gt=0, le=100, description="User codes tried a second per session and per IP."
    )
    device_attempt_burst: int = Field(default=10, ge=1, le=1000)


class CliSettings(BaseModel):
    """The ``notary-hub`` command on a staff member's machine."""

    token_file: Path | None = Field(
        default=None,
        description="Where `notary-hub login` keeps its tokens (mode 0600); default "
        "tokens.json in the user's notary-hub config directory.",
    )


class ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65_535)
    api_tokens: list[SecretStr] = Field(
        default_factory=list,
        description="Dev-mode bootstrap bearer tokens (every scope); refused in production.",
    )
    docs: bool | None = Field(
        default=None,
        description="Serve /docs, /redoc and /openapi.json (default: in dev mode only).",
    )

    def docs_enabled(self, dev: bool) -> bool:
        return dev if self.docs is None else self.docs


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NOTARY_HUB_",
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="ignore",
    )

    mode: Literal["dev", "production"] = "dev"
    data_dir: Path = Path(".notary-hub")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "console"
    database: DatabaseSettings = DatabaseSettings()
    chain: ChainSettings = ChainSettings()
    anchoring: AnchoringSettings = AnchoringSettings()
    keys: KeySettings = KeySettings()
    did: DidSettings = DidSettings()
    consortium: ConsortiumSettings = ConsortiumSettings()
    credentials: CredentialSettings = CredentialSettings()
    evidence: EvidenceSettings = EvidenceSettings()
    draws: DrawSettings = DrawSettings()
    captures: CaptureSettings = CaptureSettings()
    timestamps: TimestampSettings = TimestampSettings()
    server: ServerSettings = ServerSettings()
    signin: SigninSettings = SigninSettings()
    oauth: OAuthSettings = OAuthSettings()
    cli: CliSettings = CliSettings()
    metrics: MetricsSettings = MetricsSettings()  # issue 16: /metrics, readiness thresholds

    @property
    def dev(self) -> bool:
        return self.mode == "dev"

    @property
    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite:///{(self.data_dir / 'hub.sqlite3').resolve()}"

    @property
    def master_key_path(self) -> Path:
        return self.keys.master_key_file or self.data_dir / "master.key"

    @model_validator(mode="after")
    def _refuse_insecure(self) -> Self:
        # Incomplete in any mode: an S3 store with no bucket cannot start at all.
        if self.evidence.blob_store == "s3" and not self.evidence.s3_bucket:
            raise ValueError("the S3 blob store needs a bucket (NOTARY_HUB_EVIDENCE_S3_BUCKET)")
        if problems := anchoring_problems(self.anchoring, self.chain.chain_id):
            raise ValueError("; ".join(problems))
        if not self.dev:
            self.check_production()
        return self

    def check_production(self) -> None:
        """Refuse values that are only acceptable on a developer's machine."""
        problems = []
        if self.keys.master_key is None and self.keys.master_key_file is None:
            problems.append(
                "a master key is required (NOTARY_HUB_KEYS_MASTER_KEY or _MASTER_KEY_FILE); "
                "production mode never creates one"
            )
        if self.chain.rpc_allow_send_raw:
            problems.append("the embedded chain's /rpc must stay read-only in production")
        if self.chain.rpc_url is not None:
            url = self.chain.rpc_url.get_secret_value()
            if url.startswith("http://") and not url.startswith(
                ("http://127.0.0.1", "http://localhost", "http://[::1]")
            ):
                problems.append("the chain RPC URL must use https unless it is on loopback")
        if self.server.api_tokens:
            # Issue 13 §8: a static token is an identity no one holds; production callers
            # carry OAuth access tokens with scopes (notary_hub.identity).
            problems.append(
                "static API tokens are a dev-mode bootstrap only: production takes OAuth "
                "access tokens (unset NOTARY_HUB_SERVER_API_TOKENS)"
            )
        public = self.credentials.public_url
        if public is not None and public.startswith("http://"):
            problems.append("the public URL credentials point at must use https")
        # The issuer defaults to the public URL, then to http://HOST:PORT (hub.public_url).
        issuer = self.oauth.issuer or public or f"http://{self.server.host}:{self.server.port}"
        for name, oauth_url in (("issuer", issuer), ("audience", self.oauth.audience)):
            if oauth_url is not None and not _https_or_loopback(oauth_url):
                problems.append(
                    f"the OAuth {name} must use https unless it is on loopback "
                    "(NOTARY_HUB_OAUTH_ISSUER, _AUDIENCE or CREDENTIALS_PUBLIC_URL)"
                )
        problems += capture_problems(self.captures) + metrics_problems(self.metrics)
        problems += insecure_anchoring(self.anchoring)
        if problems:
            raise InsecureSettings("; ".join(problems))


def _https_or_loopback(url: str) -> bool:
    parts = urlsplit(url)
    loopback = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
    return parts.scheme == "https" or loopback
