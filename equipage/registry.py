"""Find platforms, the gateway and role tools by name: where ``equipage`` reaches out.

Dependencies point one way (DESIGN.md): agents, channels and workflows import
``equipage``, and ``equipage`` reaches them only through these lookups. Chat platforms
come from the ``channels`` package, whose ``PLATFORMS`` lists the ones it ships (console,
telegram, slack, whatsapp); ``register_platform`` adds another one. A role's default
tools come from its module in ``agents``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from equipage.errors import ConfigError
from equipage.platform import Platform, PlatformSetup
from equipage.roletools import DEFAULT_TOOLS

__all__ = [
    "channel_factory",
    "gateway_class",
    "platform",
    "platforms",
    "register_platform",
    "role_tools",
    "unregister_platform",
]

#: Platforms added with ``register_platform``, after the ones ``channels`` ships.
_ADDED: dict[str, Platform] = {}


def role_tools(role: str) -> tuple[str, ...]:
    """Default tool policy of ``role``: ``agents.<role>.TOOLS``, else ``DEFAULT_TOOLS``."""
    try:
        module = importlib.import_module(f"agents.{role}")
    except ModuleNotFoundError as err:
        if err.name != f"agents.{role}":
            raise  # the module exists but one of its own imports is missing
        return DEFAULT_TOOLS
    tools = getattr(module, "TOOLS", None)
    return tuple(tools) if tools else DEFAULT_TOOLS


def platforms() -> dict[str, Platform]:
    """Every known platform by name: those ``channels`` ships, then the registered ones."""
    shipped: tuple[Platform, ...] = importlib.import_module("channels").PLATFORMS
    return {p.name: p for p in shipped} | _ADDED


def register_platform(declared: Platform) -> None:
    """Make ``declared`` known to company.yaml, the environment and ``equipage up``."""
    known = platforms().get(declared.name)
    if known is not None and known is not declared:
        raise ConfigError(f"a platform named {declared.name!r} is already registered")
    _ADDED[declared.name] = declared


def unregister_platform(name: str) -> None:
    """Forget a platform added with ``register_platform`` (tests, reloaded plugins)."""
    _ADDED.pop(name, None)


def platform(name: str) -> Platform:
    """The platform ``name``; a ConfigError listing the known ones otherwise."""
    known = platforms()
    found = known.get(name)
    if found is None:
        raise ConfigError(f"no channel {name!r}; known channels: {', '.join(known)}")
    return found


def channel_factory(name: str) -> Callable[..., Any]:
    """The constructor of an always-on channel (the console): called with no argument."""
    declared = platform(name)
    if declared.config is not None:
        raise ConfigError(
            f"the {name} channel starts from its section in company.yaml: add "
            f"`channels: {{{name}: ...}}` there instead of naming it"
        )
    return lambda: declared.build(PlatformSetup(declared, section=None))


def gateway_class() -> Any:
    """The gateway class (``channels.gateway.Gateway``)."""
    return importlib.import_module("channels.gateway").Gateway


def farm_gateway_class() -> Any:
    """The farm's front gateway (``channels.farm_gateway.FarmGateway``): one per farm, it
    routes each person to their own crew's gateway."""
    return importlib.import_module("channels.farm_gateway").FarmGateway


def crew_bot_class() -> Any:
    """What a crew's own bot hands messages to (``channels.crew_bot.CrewBot``): that crew."""
    return importlib.import_module("channels.crew_bot").CrewBot
