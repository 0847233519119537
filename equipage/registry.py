"""Find roles, channels and workflows by name; the one place ``equipage`` imports them.

Dependencies point one way (DESIGN.md): agents, channels and workflows import
``equipage``, and ``equipage`` reaches them only through these lookups.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["DEFAULT_TOOLS", "role_tools"]

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
