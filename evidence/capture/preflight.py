"""The pre-flight cleanliness report of a capture session (issue 15, "Pre-flight
cleanliness checks, recorded and hashed before the user sees anything").

Each :class:`Check` names what was looked at, what was found and whether it passes; the
report's canonical bytes are RFC 8785 JSON (https://www.rfc-editor.org/rfc/rfc8785) and
its digest their SHA-256. :func:`host_checks` runs before the browser starts (binary,
profile, hosts file, resolver, clock against the TSA, egress, versions);
:func:`browser_checks` once it answers (its version and its own command line, hence its
flags and proxy). A failed check refuses the session: :class:`PreflightFailed` names each.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import ipaddress
import os
import platform
import socket
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import rfc8785

from evidence.capture.browser_errors import PreflightFailed
from evidence.capture.launch import resolve_binary
from evidence.timestamping.protocol import TimestampAuthority

__all__ = [
    "Check",
    "PreflightInputs",
    "PreflightReport",
    "browser_checks",
    "host_checks",
    "tsa_clock",
]

# Names a hosts file may map without redirecting anything a page could ask for.
_LOCAL_NAMES = frozenset(
    {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", "ip6-localnet"}
    | {"ip6-mcastprefix", "ip6-allnodes", "ip6-allrouters", "ip6-allhosts"}
)


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    reason: str
    #: What was found (JSON: strings, numbers, booleans, lists, objects).
    value: Any


@dataclass(frozen=True)
class PreflightReport:
    checks: tuple[Check, ...]

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if not check.passed)

    def as_json(self) -> dict[str, Any]:
        return {"checks": [asdict(check) for check in self.checks]}

    def canonical(self) -> bytes:
        """RFC 8785 bytes: what is hashed, stored and sealed with the session."""
        return rfc8785.dumps(self.as_json())

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()

    def raise_if_failed(self) -> None:
        if self.failed:
            reasons = "; ".join(f"{check.name}: {check.reason}" for check in self.failed)
            raise PreflightFailed(f"the capture session is refused: {reasons}", report=self)


@dataclass(frozen=True)
class PreflightInputs:
    #: The TSA's genTime for a fresh token (:func:`tsa_clock` makes one from an authority).
    tsa_time: Callable[[], datetime]
    #: The address the outside world sees this host's traffic come from.
    egress_probe: Callable[[], str]
    #: The recording proxy's name and version, as it reports them.
    proxy_version: str
    #: genTime often has whole seconds (RFC 3161 §2.4.2 leaves accuracy to the TSA): the
    #: limit allows for that second.
    max_clock_offset: timedelta = timedelta(seconds=2)
    #: When set, the egress address must be this one.
    expected_egress: str | None = None
    hosts_path: Path = Path("/etc/hosts")
    resolv_path: Path = Path("/etc/resolv.conf")
    ffmpeg: Path = Path("/usr/bin/ffmpeg")
    #: Chromium runs without its sandbox as root; a deployment must not run as root.
    allow_no_sandbox: bool = False


def tsa_clock(authority: TimestampAuthority) -> Callable[[], datetime]:
    """The genTime of a token the authority issues over a random digest (with a nonce)."""

    def gen_time() -> datetime:
        return authority.timestamp(hashlib.sha256(os.urandom(32)).digest()).gen_time

    return gen_time


def _check(name: str, passed: bool, reason: str, value: Any) -> Check:
    return Check(name, passed, "ok" if passed and not reason else reason, value)


@cache
def _sha256_of(path: Path, identity: tuple[int, ...]) -> str:
    # ``identity`` (device, inode, size, mtime, ctime) keys the cache: a replaced or
    # modified binary is hashed again; a 300 MB ELF is not hashed at every session.
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _file_sha256(path: Path) -> str:
    st = path.stat()
    return _sha256_of(path, (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))


def _run_version(*command: str) -> str:
    done = subprocess.run(  # noqa: S603 (fixed argv, no shell)
        command, capture_output=True, timeout=20, check=False, env={"PATH": "/usr/bin:/bin"}
    )
    lines = done.stdout.decode(errors="replace").strip().splitlines()
    if done.returncode != 0 or not lines:
        raise OSError(f"{command[0]} exited with {done.returncode}")
    return lines[0]


def _binary_check(chromium: Path) -> Check:
    try:
        binary = resolve_binary(chromium)
        value = {
            "configured": str(binary.configured),
            "configured_sha256": _file_sha256(binary.configured),
            "elf": str(binary.elf),
            "elf_sha256": _file_sha256(binary.elf),
            "version": _run_version(str(binary.elf), "--version"),
        }
    except Exception as error:  # any failure refuses the session, with its reason
        return _check("browser_binary", False, f"{type(error).__name__}: {error}", None)
    return _check("browser_binary", True, "", value)


def _profile_check(profile: Path) -> Check:
    entries = sorted(entry.name for entry in profile.iterdir()) if profile.is_dir() else None
    mode = profile.stat().st_mode & 0o777 if profile.is_dir() else None
    value = {"path": str(profile), "entries": entries, "mode": oct(mode) if mode else None}
    if entries is None:
        return _check("profile_empty", False, "the profile directory does not exist", value)
    if entries:
        return _check("profile_empty", False, f"the profile is not empty: {entries}", value)
    if mode != 0o700:
        return _check("profile_empty", False, f"the profile's mode is {oct(mode or 0)}", value)
    return _check("profile_empty", True, "", value)


def _hosts_entries(text: str) -> list[tuple[str, str]]:
    pairs = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        pairs += [(fields[0], name) for name in fields[1:]]
    return pairs


def _is_local(address: str, name: str, hostname: str) -> bool:
    if name in _LOCAL_NAMES or name == hostname:
        return True
    try:
        loopback = ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
    # A single-label name on loopback sends nothing anywhere but back to this host.
    return loopback and "." not in name


def _hosts_check(path: Path) -> Check:
    try:
        data = path.read_bytes()
    except OSError as error:
        return _check("hosts_file", False, f"unreadable: {error}", {"path": str(path)})
    hostname = socket.gethostname()
    entries = _hosts_entries(data.decode(errors="replace"))
    beyond = [f"{a} {n}" for a, n in entries if n not in _LOCAL_NAMES]
    foreign = [f"{a} {n}" for a, n in entries if not _is_local(a, n, hostname)]
    value = {
        "path": str(path),
        "sha256": hashlib.sha256(data).hexdigest(),
        "entries_beyond_localhost": beyond,
        "redirecting_entries": foreign,
    }
    if foreign:
        return _check("hosts_file", False, f"it maps names elsewhere: {foreign}", value)
    return _check("hosts_file", True, "", value)


def _resolver_check(path: Path) -> Check:
    try:
        data = path.read_bytes()
    except OSError as error:
        return _check("resolver", False, f"unreadable: {error}", {"path": str(path)})
    servers = [
        line.split()[1]
        for line in data.decode(errors="replace").splitlines()
        if line.startswith("nameserver") and len(line.split()) > 1
    ]
    value = {"path": str(path), "sha256": hashlib.sha256(data).hexdigest(), "nameservers": servers}
    return _check("resolver", bool(servers), "" if servers else "no nameserver", value)


def _clock_check(tsa_time: Callable[[], datetime], limit: timedelta) -> Check:
    try:
        before = datetime.now(UTC)
        gen_time = tsa_time()
        after = datetime.now(UTC)
    except Exception as error:  # an unreachable TSA refuses the session, with its reason
        return _check("clock_offset", False, f"no TSA time: {type(error).__name__}: {error}", None)
    # The token was made between ``before`` and ``after``: compare with the midpoint.
    offset = (gen_time - (before + (after - before) / 2)).total_seconds()
    value = {
        "local_time": before.isoformat(),
        "tsa_gen_time": gen_time.isoformat(),
        "offset_seconds": round(offset, 3),
        "max_offset_seconds": limit.total_seconds(),
    }
    if abs(offset) > limit.total_seconds():
        side = "ahead of" if offset > 0 else "behind"
        reason = (
            f"the TSA's time is {abs(offset):.3f} s {side} this host's"
            f" (limit {limit.total_seconds()} s)"
        )
        return _check("clock_offset", False, reason, value)
    return _check("clock_offset", True, "", value)


def _egress_check(probe: Callable[[], str], expected: str | None) -> Check:
    try:
        address = str(ipaddress.ip_address(probe().strip()))
    except Exception as error:  # a failed probe refuses the session, with its reason
        return _check("egress_address", False, f"{type(error).__name__}: {error}", None)
    if expected is not None and address != expected:
        reason = f"egress is {address}, expected {expected}"
        return _check("egress_address", False, reason, {"address": address})
    return _check("egress_address", True, "", {"address": address})


def _versions_check(inputs: PreflightInputs) -> Check:
    try:
        value = {
            "python": platform.python_version(),
            "notary_hub": importlib.metadata.version("notary-hub"),
            "ffmpeg": _run_version(str(inputs.ffmpeg), "-version"),
            "proxy": inputs.proxy_version,
        }
    except Exception as error:  # a missing tool refuses the session, with its reason
        return _check("software_versions", False, f"{type(error).__name__}: {error}", None)
    return _check("software_versions", True, "", value)


def host_checks(inputs: PreflightInputs, chromium: Path, profile: Path) -> list[Check]:
    """The checks made before the browser starts (blocking: run it in a thread)."""
    return [
        _binary_check(chromium),
        _profile_check(profile),
        _hosts_check(inputs.hosts_path),
        _resolver_check(inputs.resolv_path),
        _clock_check(inputs.tsa_time, inputs.max_clock_offset),
        _egress_check(inputs.egress_probe, inputs.expected_egress),
        _versions_check(inputs),
    ]


def _flag_value(arguments: Sequence[str], name: str) -> str | None:
    found = [arg.split("=", 1)[1] for arg in arguments if arg.startswith(f"{name}=")]
    return found[-1] if found else None


def browser_checks(
    inputs: PreflightInputs,
    version: dict[str, Any],
    cli_version: str | None,
    arguments: Sequence[str],
    flags: Sequence[str],
    proxy: str | None,
) -> list[Check]:
    """The browser's own account: ``Browser.getVersion`` and ``getBrowserCommandLine``."""
    missing = [flag for flag in flags if flag not in arguments]
    extensions = [arg for arg in arguments if arg.startswith("--load-extension")]
    problems = [f"missing {missing}"] * bool(missing) + [f"loads {extensions}"] * bool(extensions)
    flags_check = _check("browser_flags", not problems, "; ".join(problems), list(arguments))
    reported = {
        "proxy_server": _flag_value(arguments, "--proxy-server"),
        "proxy_bypass_list": _flag_value(arguments, "--proxy-bypass-list"),
        "no_proxy_server": "--no-proxy-server" in arguments,
    }
    proxy_ok = reported["proxy_server"] == proxy and bool(
        proxy is not None or reported["no_proxy_server"]
    )
    proxy_reason = "" if proxy_ok else f"the browser's proxy is not {proxy}"
    sandboxed = "--no-sandbox" not in arguments
    sandbox_ok = sandboxed or inputs.allow_no_sandbox
    sandbox_reason = "" if sandboxed else "running without the sandbox (as root)"
    number = str(version.get("product", "")).rpartition("/")[2]
    same = bool(number) and cli_version is not None and number in cli_version.split()
    version_reason = "" if same else f"the browser says {number!r}, the binary {cli_version!r}"
    return [
        _check("browser_version", same, version_reason, {**version, "binary": cli_version}),
        flags_check,
        _check("browser_proxy", proxy_ok, proxy_reason, reported),
        Check("browser_sandbox", sandbox_ok, sandbox_reason or "ok", {"sandboxed": sandboxed}),
    ]
