"""The kernel's error base, and the kernel's place at the bottom of the imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hub_kernel.errors import HubError

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = ("chain_adapter", "did_registry", "credentials", "evidence", "notary_hub")


class Refused(HubError):
    code = "refused"
    status_code = 409


def test_an_error_carries_its_code_status_and_message() -> None:
    error = Refused("no, and here is why")
    assert (error.code, error.status_code, error.message) == ("refused", 409, "no, and here is why")
    assert str(error) == "no, and here is why"
    assert isinstance(error, Exception)
    with pytest.raises(HubError, match="here is why"):
        raise error


def test_the_base_defaults() -> None:
    assert (HubError.code, HubError.status_code) == ("hub_error", 500)
    assert HubError("m").message == "m"


def test_the_kernel_imports_no_component() -> None:
    modules = [
        f"hub_kernel.{path.stem}"
        for path in sorted((ROOT / "hub_kernel").glob("*.py"))
        if path.stem != "__init__"
    ]
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"loaded = sorted({{m.split('.')[0] for m in sys.modules}} & set({COMPONENTS!r}))\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert {
        "hub_kernel.errors",
        "hub_kernel.json_guard",
        "hub_kernel.keystore",
        "hub_kernel.multiformats",
        "hub_kernel.sql",
        "hub_kernel.worker",
    } <= set(modules)
    assert result.stdout.strip() == ""
