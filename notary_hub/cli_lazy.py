"""Sub-commands loaded when named, so ``notary-hub verify`` does not import the hub.

Importing every command module (the hub, the chain, the draw and wallet code) costs
seconds before anything runs; a court's ``verify`` or an entrant's ``draw check`` needs
a fraction of it. The root group's ``commands`` is a :class:`LazyCommands` mapping:
names are known up front (for ``--help`` and typo suggestions), each command is built
the first time it is looked up. The loaders are explicit functions that import their
module, listed in one registry in :mod:`notary_hub.cli`: nothing is discovered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

import typer
from typer.core import TyperGroup

from notary_hub.cli_support import PlainFlagsGroup

Loader = Callable[[], "typer.Typer | Callable[..., Any]"]


def as_command(name: str, loaded: typer.Typer | Callable[..., Any]) -> Any:
    """A Typer sub-app as its group, a function as a command, either named ``name``."""
    if isinstance(loaded, typer.Typer):
        group = typer.main.get_group(loaded)
        group.name = name
        return group
    single = typer.Typer(cls=PlainFlagsGroup, add_completion=False)
    single.command(name)(loaded)
    return typer.main.get_command(single)


class LazyCommands(MutableMapping[str, Any]):
    """A group's commands, built from their loaders on first lookup."""

    def __init__(self, built: MutableMapping[str, Any], loaders: Mapping[str, Loader]) -> None:
        self._built = dict(built)
        self._loaders = dict(loaders)

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            loader = self._loaders[name]  # KeyError: no such command
            self._built[name] = as_command(name, loader())
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        self._built.pop(name, None)
        self._loaders.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        yield from self._built
        yield from (name for name in self._loaders if name not in self._built)

    def __len__(self) -> int:
        return len(set(self._built) | set(self._loaders))


def lazy_group(loaders: Mapping[str, Loader]) -> type[TyperGroup]:
    """A root group class whose commands are ``loaders``' (plus any registered eagerly)."""

    class LazyGroup(PlainFlagsGroup):
        def __init__(self, **attrs: Any) -> None:
            super().__init__(**attrs)
            self.commands = LazyCommands(self.commands, loaders)

        def list_commands(self, ctx: Any) -> list[str]:
            return list(self.commands)  # names only: listing builds nothing

    return LazyGroup
