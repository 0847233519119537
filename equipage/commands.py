"""Chat commands that workflows add: a slash command the gateway hands to a workflow.

The gateway answers its own commands (``/approve``, ``/status``...) and looks any other up
in a table of ``Command``: a workflow package declares its own in its ``commands`` module
(``COMMANDS = (Command(...), ...)``) and ``installed()`` gathers those of every installed
workflow, so the gateway reaches a live call (``/suggest``) without naming it. Only those
modules are imported, not the workflows' graphs: a gateway starts without LangGraph, so
keep a ``commands`` module (and its package's ``__init__``) light. A handler answers in
the member's language through ``Invocation.say``: a key of the gateway's wording
(``channels.wording``) and its fields.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import logging
import pkgutil
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis

from equipage.errors import ConfigError
from equipage.keys import Keys

__all__ = ["Command", "Invocation", "Say", "installed", "table"]

log = logging.getLogger(__name__)


class Say(Protocol):
    """Words of the gateway's wording in the member's language: ``say("no_live")``."""

    def __call__(self, key: str, /, **fields: str) -> str: ...


@dataclass(frozen=True)
class Invocation:
    """One use of a command by a member: what its handler may read and use."""

    redis: aioredis.Redis
    keys: Keys
    member: str  # the member's id
    rest: str  # what follows the command on its line
    #: Names the platform message ("telegram:41"), "" when it has no id: a redelivery the
    #: gateway handles again should count once.
    producer: str
    say: Say


@dataclass(frozen=True)
class Command:
    """A slash command and its handler; ``names`` are its spellings, lower case."""

    names: tuple[str, ...]
    handler: Callable[[Invocation], Awaitable[str]]


def table(commands: Iterable[Command], *, taken: Iterable[str] = ()) -> dict[str, Command]:
    """Each name of ``commands`` to its command; ConfigError on a name given twice.

    ``taken`` are the names of the gateway's own commands, which no workflow may shadow.
    """
    own = frozenset(taken)
    found: dict[str, Command] = {}
    for command in commands:
        for name in command.names:
            if not name.startswith("/") or name != name.lower():
                raise ConfigError(f"command {name!r}: write it in lower case with a leading /")
            if name in own:
                raise ConfigError(f"command {name} is the gateway's own; rename the other one")
            if name in found:
                raise ConfigError(f"command {name} is declared twice; rename one of them")
            found[name] = command
    return found


@functools.cache
def installed() -> tuple[Command, ...]:
    """The commands declared by the workflows installed in the ``workflows`` package."""
    declared: list[Command] = []
    for name in _declaring():
        try:
            module = importlib.import_module(f"workflows.{name}.commands")
        except ImportError as err:
            # Its runs fail with the reason; the other workflows' commands still work.
            log.warning("workflow %s not loaded, so neither are its commands: %s", name, err)
            continue
        declared += getattr(module, "COMMANDS", ())
    return tuple(declared)


def _declaring() -> list[str]:
    """Installed workflow packages with a ``commands`` module, found without importing them."""
    package = importlib.import_module("workflows")
    found = []
    for info in pkgutil.iter_modules(package.__path__):
        if not info.ispkg or info.name.startswith("_"):
            continue  # a one-module workflow declares no command; ``_x`` is shared code
        # find_spec imports the parent (``workflows``), not the workflow itself.
        spec = importlib.util.find_spec(f"workflows.{info.name}")
        inside = spec.submodule_search_locations if spec is not None else None
        if inside and any(sub.name == "commands" for sub in pkgutil.iter_modules(inside)):
            found.append(info.name)
    return sorted(found)
