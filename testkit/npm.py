"""Where node and the npm reference packages (``npm ci`` from package-lock.json) are."""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["NODE", "REPO", "RESOLVER_PACKAGE", "npm_available", "npm_package"]

REPO = Path(__file__).resolve().parents[1]
NODE = shutil.which("node") or "/usr/bin/node"
RESOLVER_PACKAGE = REPO / "node_modules" / "ethr-did-resolver" / "package.json"


def npm_available() -> bool:
    """node is installed and so is the ``ethr-did-resolver`` package."""
    return Path(NODE).exists() and RESOLVER_PACKAGE.exists()


def npm_package(name: str) -> bool:
    """node is installed and so is the npm package ``name`` (pinned in package-lock.json)."""
    return Path(NODE).exists() and (REPO / "node_modules" / name / "package.json").exists()
