"""Equipage core: bus, state, checkpointer, models, runtime, config and CLI.

May import: the standard library and third-party packages. Imports ``agents``,
``channels`` and ``workflows`` only through the registries in ``equipage.registry``.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
