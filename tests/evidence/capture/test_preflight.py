"""The pre-flight report on this machine's real inputs, and the refusals: a used profile,
a clock off the TSA's, a hosts file that redirects, a TSA that does not answer, another
egress, and a browser whose own account (version, flags, proxy) is not what was asked."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import socket
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import rfc8785

from evidence.capture.browser import CaptureBrowser
from evidence.capture.browser_errors import PreflightFailed
from evidence.capture.launch import BrowserSettings, browser_flags, make_profile
from evidence.capture.preflight import (
    PreflightReport,
    browser_checks,
    host_checks,
    tsa_clock,
)
from evidence.timestamping import EmbeddedTimestampAuthority, HttpTimestampAuthority
from tests.evidence.capture.browser_support import (
    direct_settings,
    preflight_inputs,
    sign_in_site,
)
from tests.evidence.timestamping_support import hub_tsa

CHROMIUM = Path("/usr/bin/chromium")


def sha256sum(path: Path) -> str:
    return (
        subprocess.run(["sha256sum", path], capture_output=True, check=True)
        .stdout.split()[0]
        .decode()
    )


def refused(checks: list[Any]) -> dict[str, str]:
    with pytest.raises(PreflightFailed) as failure:
        PreflightReport(tuple(checks)).raise_if_failed()
    report = failure.value.report
    assert isinstance(report, PreflightReport)
    for check in report.failed:
        assert f"{check.name}: {check.reason}" in failure.value.message
    assert failure.value.code == "preflight_failed"
    return {check.name: check.reason for check in report.failed}


def test_the_host_passes_and_the_report_is_canonical(tmp_path: Path) -> None:
    profile = make_profile(tmp_path)
    with sign_in_site() as origin:
        checks = host_checks(preflight_inputs(tmp_path, origin), CHROMIUM, profile)
    report = PreflightReport(tuple(checks))
    assert [check.name for check in report.failed] == []
    binary = checks[0].value
    # Debian's launcher script and the ELF it execs, each hashed (sha256sum, independently).
    assert binary["elf"] == "/usr/lib/chromium/chromium"
    assert binary["configured_sha256"] == sha256sum(CHROMIUM)
    assert binary["elf_sha256"] == sha256sum(Path(binary["elf"]))
    assert binary["version"].startswith("Chromium ")
    assert checks[1].value == {"path": str(profile), "entries": [], "mode": "0o700"}
    assert checks[5].value == {"address": "127.0.0.1"}
    versions = checks[6].value
    assert versions["ffmpeg"].startswith("ffmpeg version") and versions["proxy"]
    canonical = report.canonical()
    assert rfc8785.dumps(json.loads(canonical)) == canonical
    assert report.sha256() == hashlib.sha256(canonical).hexdigest()


def test_a_used_profile_is_refused(tmp_path: Path) -> None:
    profile = make_profile(tmp_path)
    (profile / "Cookies").write_bytes(b"a previous session's cookies")
    with sign_in_site() as origin:
        failed = refused(host_checks(preflight_inputs(tmp_path, origin), CHROMIUM, profile))
    assert failed == {"profile_empty": "the profile is not empty: ['Cookies']"}


def test_a_clock_off_the_tsa_is_refused(tmp_path: Path) -> None:
    """The hub's own TSA, whose clock runs ten minutes ahead of this host's."""
    material_tsa, material = hub_tsa(tmp_path)
    ahead = EmbeddedTimestampAuthority(
        material, clock=lambda: datetime.now(UTC) + timedelta(minutes=10)
    )
    assert material_tsa.certificates == ahead.certificates
    with sign_in_site() as origin:
        inputs = preflight_inputs(tmp_path / "unused", origin, tsa_time=tsa_clock(ahead))
        failed = refused(host_checks(inputs, CHROMIUM, make_profile(tmp_path)))
    assert list(failed) == ["clock_offset"]
    # genTime has whole seconds: 599 s and some.
    found = re.fullmatch(
        r"the TSA's time is ([0-9.]+) s ahead of this host's \(limit 2.0 s\)",
        failed["clock_offset"],
    )
    assert found and 599 <= float(found[1]) <= 601


def test_an_unreachable_tsa_is_refused(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/tsa"  # bound, never listening
        with HttpTimestampAuthority(url, timeout=2) as tsa, sign_in_site() as origin:
            inputs = preflight_inputs(tmp_path, origin, tsa_time=tsa_clock(tsa))
            failed = refused(host_checks(inputs, CHROMIUM, make_profile(tmp_path)))
    assert list(failed) == ["clock_offset"] and "no TSA time" in failed["clock_offset"]


def test_a_hosts_file_that_redirects_a_name_is_refused(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text(
        "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n"
        "127.0.0.1 runner  # a single label on loopback sends nothing away\n"
        "203.0.113.7 www.bank.example\n127.0.0.1 courts.example.org\n"
    )
    with sign_in_site() as origin:
        inputs = preflight_inputs(tmp_path, origin, hosts_path=hosts)
        checks = host_checks(inputs, CHROMIUM, make_profile(tmp_path))
    failed = refused(checks)
    assert list(failed) == ["hosts_file"]
    hosts_check = next(check for check in checks if check.name == "hosts_file")
    assert hosts_check.value["redirecting_entries"] == [
        "203.0.113.7 www.bank.example",
        "127.0.0.1 courts.example.org",
    ]
    assert hosts_check.value["sha256"] == hashlib.sha256(hosts.read_bytes()).hexdigest()


def test_another_egress_than_expected_is_refused(tmp_path: Path) -> None:
    with sign_in_site() as origin:
        inputs = preflight_inputs(tmp_path, origin, expected_egress="198.51.100.1")
        failed = refused(host_checks(inputs, CHROMIUM, make_profile(tmp_path)))
    assert failed == {"egress_address": "egress is 127.0.0.1, expected 198.51.100.1"}


def _browser_answers(
    tmp_path: Path, proxy: str | None
) -> tuple[dict[str, str], list[str], tuple[str, ...]]:
    settings = (
        BrowserSettings(proxy=proxy, session_ca_spki="c3BraQ==")
        if proxy
        else BrowserSettings(direct_for_tests=True)
    )
    flags = browser_flags(settings, tmp_path)
    version = {"product": "Chrome/156.0.8078.114", "userAgent": "HeadlessChrome/156"}
    return version, ["/usr/lib/chromium/chromium", *flags, "--remote-debugging-pipe"], flags


def test_a_browser_that_does_not_run_as_asked_is_refused(tmp_path: Path) -> None:
    """Forged answers to Browser.getVersion and Browser.getBrowserCommandLine."""
    inputs = preflight_inputs(tmp_path, "http://127.0.0.1:1", allow_no_sandbox=True)
    cli = "Chromium 156.0.8078.114 built on Debian GNU/Linux 12 (bookworm)"
    proxy = "http://127.0.0.1:8080"
    version, arguments, flags = _browser_answers(tmp_path, proxy)
    assert not PreflightReport(
        tuple(browser_checks(inputs, version, cli, arguments, flags, proxy))
    ).failed
    # An extension slipped in, and the proxy flag dropped.
    tampered = [arg for arg in arguments if not arg.startswith("--proxy-server")]
    tampered.append("--load-extension=/tmp/evil")
    failed = refused(browser_checks(inputs, version, cli, tampered, flags, proxy))
    assert list(failed) == ["browser_flags", "browser_proxy"]
    assert "--load-extension=/tmp/evil" in failed["browser_flags"]
    # Another binary than the one hashed answers.
    other = {**version, "product": "Chrome/120.0.0.0"}
    assert list(refused(browser_checks(inputs, other, cli, arguments, flags, proxy))) == [
        "browser_version"
    ]
    # Without the sandbox, refused unless explicitly allowed.
    strict = preflight_inputs(tmp_path / "strict", "http://127.0.0.1:1", allow_no_sandbox=False)
    unsandboxed = [*arguments, "--no-sandbox"]
    assert list(refused(browser_checks(strict, version, cli, unsandboxed, flags, proxy))) == [
        "browser_sandbox"
    ]


def test_a_refused_session_leaves_nothing_behind(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("203.0.113.7 www.bank.example\n")
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    with sign_in_site() as origin:
        inputs = preflight_inputs(tmp_path / "tsa", origin, hosts_path=hosts)
        with pytest.raises(PreflightFailed, match="hosts_file: it maps names elsewhere"):
            asyncio.run(CaptureBrowser.launch(direct_settings(profiles), inputs))
    assert list(profiles.iterdir()) == []
