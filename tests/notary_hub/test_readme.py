"""README.md names every HTTP route and every CLI command (issue 11, item 7).

A route or a command added without a line in README's tables fails here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import SecretStr

from notary_hub.app import create_app
from notary_hub.cli import app as cli_app
from notary_hub.hub import open_hub
from notary_hub.settings import ServerSettings, Settings

README = Path(__file__).resolve().parents[2] / "README.md"
# Routes that are not API: the docs pages' assets and the trailing-slash twin of /rpc.
NOT_LISTED = {"/docs/static", "/docs/oauth2-redirect", "/rpc/"}


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def _first_cells(section: str) -> list[str]:
    rows = (line for line in section.splitlines() if line.startswith("| `"))
    return [re.split(r"(?<!\\)\|", row)[1] for row in rows]  # `\|` inside a cell is no border


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


@pytest.fixture(scope="module")
def app_routes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[set[tuple[str, str]]]:
    settings = Settings(  # docs on (dev mode), evidence and the TSA on: every route there is
        data_dir=tmp_path_factory.mktemp("readme") / "data",
        server=ServerSettings(api_tokens=[SecretStr("r" * 40)]),
    )
    hub = open_hub(settings)
    try:
        app = create_app(hub, run_background=False)
        with TestClient(app):
            yield {
                (method, str(route.path))
                for route in iter_route_contexts(app.routes)
                for method in (route.methods or {"GET"}) - {"HEAD"}  # a mount: GET its files
                if route.path
            }
    finally:
        hub.close()


def test_every_http_route_is_in_the_readme(app_routes: set[tuple[str, str]]) -> None:
    listed = {
        (method, _shape(path))
        for cell in _first_cells(_section("HTTP"))
        for method, path in re.findall(r"(GET|POST|PUT|PATCH|DELETE) (/[^`,\s]*)", cell)
    }
    missing = sorted(
        f"{method} {path}"
        for method, path in app_routes
        if path not in NOT_LISTED and (method, _shape(path)) not in listed
    )
    assert not missing, f"README.md's HTTP table does not name {missing}"
    assert ("GET", "/evidence/deposits/{deposit_id}") in app_routes  # included routers walked


def _commands(command: object, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Leaf command paths; typer 0.29 vendors click, so a group is whatever has commands."""
    children: dict[str, object] | None = getattr(command, "commands", None)
    if children is None:
        yield prefix
        return
    for name, child in children.items():
        yield from _commands(child, (*prefix, name))


def test_every_cli_command_is_in_the_readme() -> None:
    cells = _first_cells(_section("Command line"))
    commands = list(_commands(typer.main.get_command(cli_app)))
    assert ("consortium", "sign-application") in commands

    def listed(command: tuple[str, ...]) -> bool:
        head = " ".join(("notary-hub", *command[:-1]))
        return any(
            head in cell and command[-1] in re.findall(r"[\w-]+", cell.split(head, 1)[1])
            for cell in cells
        )

    missing = [" ".join(c) for c in commands if not listed(c)]
    assert not missing, f"README.md's command table does not name {missing}"
