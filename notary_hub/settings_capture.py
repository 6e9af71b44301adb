"""The capture service's settings (issue 15, ``evidence.capture``): ``NOTARY_HUB_CAPTURES_*``."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class CaptureSettings(BaseModel):
    """Remote evidence captures: how many at once, their ceilings, how they browse."""

    enabled: bool = True
    max_sessions: int = Field(default=2, ge=1, le=64, description="Concurrent sessions.")
    # The ceilings a capture may only tighten (CaptureLimits).
    idle_seconds: int = Field(default=300, ge=10, le=86_400)
    max_duration_seconds: int = Field(default=3600, ge=10, le=86_400)
    download_cap_bytes: int = Field(default=500 * 1024**2, ge=1024, le=64 * 1024**3)
    max_package_bytes: int = Field(default=4 * 1024**3, ge=1024**2, le=1024**4)
    script_seconds: float = Field(default=300.0, gt=0, le=86_400)
    checkpoint_seconds: float = Field(
        default=60.0, gt=0, le=3600, description="How often the chain's head is stamped."
    )
    anchor_timeout: float = Field(default=120.0, gt=0, le=3600)
    recovery_seconds: float = Field(default=30.0, gt=0, le=3600)
    lease_seconds: float = Field(
        default=60.0,
        ge=3,
        le=3600,
        description="How long a session's process may go silent before it counts as dead.",
    )
    egress_probe_url: str = Field(
        default="https://api.ipify.org",
        description="Answers the caller's address as text: the pre-flight's egress check.",
    )
    expected_egress: str | None = Field(default=None, description="Refuse any other egress.")
    allow: list[str] = Field(
        default_factory=list,
        description="Local destinations a capture may reach (host:port or CIDR), JSON.",
    )
    trusted_ca_file: Path | None = Field(
        default=None, description="Dev only: a PEM CA the proxy also trusts upstream."
    )
    allow_no_sandbox: bool = Field(
        default=False, description="Dev only: run Chromium without its sandbox (as root)."
    )
    capture_venv: Path | None = Field(
        default=None, description="The recording proxy's venv (default: .venv-capture)."
    )
    max_clock_offset_seconds: float = Field(default=2.0, gt=0, le=60)


def capture_problems(captures: CaptureSettings) -> list[str]:
    """What production mode refuses of the capture settings."""
    problems = []
    if captures.trusted_ca_file is not None:
        problems.append("an extra upstream CA for captures is for dev and tests only")
    if captures.allow_no_sandbox:
        problems.append("Chromium must keep its sandbox in production (run the hub as a user)")
    if captures.enabled and not captures.egress_probe_url.startswith("https://"):
        problems.append("the capture egress probe must use https")
    return problems
