"""Find roles, channels and workflows by name; the one place ``equipage`` imports them.

Dependencies point one way (DESIGN.md): agents, channels and workflows import
``equipage``, and ``equipage`` reaches them only through these lookups.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any, cast

from equipage.errors import ConfigError

__all__ = ["CHANNEL_CLASSES", "DEFAULT_TOOLS", "channel_factory", "gateway_class", "role_tools"]

#: channel name -> class in ``channels.<name>``.
CHANNEL_CLASSES = {
    "console": "ConsoleChannel",
    "telegram": "TelegramChannel",
    "slack": "SlackChannel",
    "whatsapp": "WhatsAppChannel",
}

#: Tools of a role that has no module in ``agents`` and no ``tools:`` in company.yaml.
DEFAULT_TOOLS = ("reply", "remember", "recall", "ask_human")


def _optional(module: str) -> ModuleType | None:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name != module:
            raise  # the module exists but one of its own imports is missing
        return None


def role_tools(role: str) -> tuple[str, ...]:
    """Default tool policy of ``role``: ``agents.<role>.TOOLS``, else DEFAULT_TOOLS."""
    module = _optional(f"agents.{role}")
    tools = getattr(module, "TOOLS", None) if module else None
    return tuple(tools) if tools else DEFAULT_TOOLS


def channel_factory(name: str) -> Callable[..., Any]:
    """The class of the channel adapter ``name`` (``channels.<name>``)."""
    module = _optional(f"channels.{name}")
    factory = getattr(module, CHANNEL_CLASSES.get(name, ""), None) if module else None
    if factory is None:
        raise ConfigError(f"no channel {name!r}; known channels: {', '.join(CHANNEL_CLASSES)}")
    return cast(Callable[..., Any], factory)


def gateway_class() -> Any:
    """The gateway class (``channels.gateway.Gateway``)."""
    return importlib.import_module("channels.gateway").Gateway
