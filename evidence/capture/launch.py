"""How a capture browser is started (issue 15): the binary, the flags, the environment and
the fresh profile, all fixed so the pre-flight report can name them.

Chromium's switches: https://peter.sh/experiments/chromium-command-line-switches/ and
``man chromium``. Debian's ``/usr/bin/chromium`` is a shell script that sources
``/etc/chromium.d/*`` — which add flags of their own, ``--enable-remote-extensions`` and
``--load-extension=…`` among them — and then execs ``/usr/lib/chromium/chromium``. The
capture browser therefore runs the ELF itself with exactly the flags below; the
pre-flight report hashes both the script and the ELF.

Trust of the session CA (``--ignore-certificate-errors-spki-list``): the browser reaches
nothing but the recording proxy (``--proxy-server`` with ``<-loopback>`` so not even
loopback bypasses it, QUIC off, WebRTC limited to proxied UDP). The proxy makes the
upstream TLS connections and validates them against the system's roots; the browser
never sees an upstream certificate, only the leaves the proxy signs with the session's
own CA, whose key is born and dies with the session. Pinning that CA's SPKI therefore
decides only the loopback hop browser → proxy and does not relax upstream validation: a
site with a bad certificate is refused by the proxy, not accepted by the browser.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from evidence.capture.browser_errors import CaptureBrowserError, InvalidCaptureSettings

__all__ = [
    "BrowserSettings",
    "ResolvedBinary",
    "browser_environment",
    "browser_flags",
    "make_profile",
    "remove_profile",
    "resolve_binary",
]

_ELF_MAGIC = b"\x7fELF"
_ASSIGNMENT = re.compile(r"^(APPNAME|LIBDIR)=(\S+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class BrowserSettings:
    """One capture browser's fixed configuration."""

    chromium: Path = Path("/usr/bin/chromium")
    #: ``http://127.0.0.1:PORT`` of the session's recording proxy.
    proxy: str | None = None
    #: base64 SHA-256 of the session CA's SubjectPublicKeyInfo (the proxy's leaves' issuer).
    session_ca_spki: str | None = None
    #: PEM file of the session CA, for :meth:`CaptureBrowser.save_resource` through the proxy.
    session_ca_file: Path | None = None
    width: int = 1280
    height: int = 800
    lang: str = "en-US"
    timezone: str = "UTC"
    idle_timeout: float = 300.0
    max_duration: float = 1800.0
    load_timeout: float = 30.0
    screencast_quality: int = 70
    #: Frames a second at most: a page redrawing at 60 Hz would otherwise cost a JPEG
    #: each time; 15 is smooth on the live page and in the video (held frames are free).
    screencast_max_fps: float = 15.0
    #: Where profiles are made (the system's temporary directory when None).
    profile_parent: Path | None = None
    #: Tests only: no proxy at all. A session without a proxy is not a capture session.
    direct_for_tests: bool = False

    def __post_init__(self) -> None:
        if self.proxy is None and not self.direct_for_tests:
            raise InvalidCaptureSettings("a capture browser runs through its recording proxy")
        if self.proxy is not None and self.session_ca_spki is None:
            raise InvalidCaptureSettings("a proxied capture browser needs the session CA's SPKI")
        if not re.fullmatch(r"[a-z]{2,3}(-[A-Z]{2})?", self.lang):
            raise InvalidCaptureSettings(f"not a language tag: {self.lang!r}")
        if not 1 <= self.screencast_max_fps <= 60:
            raise InvalidCaptureSettings("the screencast runs at 1 to 60 frames a second")


@dataclass(frozen=True)
class ResolvedBinary:
    """The configured path and the ELF it runs (the same path when it is the ELF)."""

    configured: Path
    elf: Path


def resolve_binary(path: Path) -> ResolvedBinary:
    """The ELF behind ``path``: itself, or the ``$LIBDIR/$APPNAME`` a Debian launcher execs."""
    real = path.resolve()
    with real.open("rb") as file:
        head = file.read(4)
    if head == _ELF_MAGIC:
        return ResolvedBinary(path, real)
    values = dict(_ASSIGNMENT.findall(real.read_text(errors="replace")))
    app = values.get("APPNAME")
    libdir = values.get("LIBDIR", "").replace("$APPNAME", app or "")
    elf = Path(libdir) / (app or "")
    if not app or not elf.is_absolute() or not elf.is_file():
        raise CaptureBrowserError(f"{path} is neither an ELF nor a launcher naming one")
    with elf.open("rb") as file:
        if file.read(4) != _ELF_MAGIC:
            raise CaptureBrowserError(f"{elf}, which {path} launches, is not an ELF")
    return ResolvedBinary(path, elf)


def browser_flags(settings: BrowserSettings, profile: Path) -> tuple[str, ...]:
    """Every flag the browser runs with (the pipe flag is added by :mod:`cdp`)."""
    flags = [
        "--headless",
        f"--user-data-dir={profile}",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-component-extensions-with-background-pages",
        "--disable-default-apps",
        "--disable-sync",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-domain-reliability",
        "--disable-client-side-phishing-detection",
        "--disable-breakpad",
        "--disable-crash-reporter",
        "--no-pings",
        "--metrics-recording-only",
        "--password-store=basic",
        "--use-mock-keychain",
        "--disable-dev-shm-usage",
        "--mute-audio",
        # Browser.getBrowserCommandLine answers only with it: the pre-flight reads the flags
        # back from the browser. Pages see navigator.webdriver: the capture is automated.
        "--enable-automation",
        f"--lang={settings.lang}",
        f"--accept-lang={settings.lang}",
        f"--window-size={settings.width},{settings.height}",
        "--disable-quic",
        "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    ]
    if os.geteuid() == 0:
        # Chromium refuses to run as root with its sandbox; the pre-flight reports it.
        flags.append("--no-sandbox")
    if settings.proxy is None:
        flags.append("--no-proxy-server")
    else:
        flags += [
            f"--proxy-server={settings.proxy}",
            "--proxy-bypass-list=<-loopback>",
            f"--ignore-certificate-errors-spki-list={settings.session_ca_spki}",
        ]
    return tuple(flags)


def browser_environment(settings: BrowserSettings, profile: Path) -> dict[str, str]:
    """A fixed environment: nothing of the host's (no proxy variables, no real HOME)."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(profile),
        "TZ": settings.timezone,
        "LANG": "C.UTF-8",
        "LANGUAGE": settings.lang.replace("-", "_"),
    }


def make_profile(parent: Path | None) -> Path:
    """A new empty directory, mode 0700 (``mkdtemp``'s own)."""
    return Path(tempfile.mkdtemp(prefix="capture-profile-", dir=parent))


def remove_profile(profile: Path) -> None:
    """Delete the profile and check that it is gone."""
    shutil.rmtree(profile, ignore_errors=True)
    if profile.exists():
        raise CaptureBrowserError(f"the profile {profile} could not be deleted")
