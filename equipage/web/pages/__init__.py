"""The console's pages: each module lists its own ``pages``; ``PAGES`` gathers them all.

A module of ``MODULES`` not written yet is skipped, so the console serves what exists.
Each page module may also define ``WORDS = {"fr": {...}, "en": {...}}``, the words its
templates read as ``{{ t.key }}`` (merged by ``equipage.web.i18n``).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

__all__ = ["MODULES", "PAGES", "Page", "loaded"]

Endpoint = Callable[[Any], Awaitable[Any]]


@dataclass(frozen=True)
class Page:
    """One page: its path, route name, endpoint and who may open it."""

    path: str
    name: str
    endpoint: Endpoint
    methods: tuple[str, ...] = ("GET",)
    owner_only: bool = False  # a member gets 403
    admin_only: bool = False  # in the navigation of the farm's admins only (the page checks)
    nav_label_key: str | None = None  # its key in the words, when it shows in the navigation


MODULES = ("overview", "threads", "questions", "costs", "workflows", "audit", "farm")


def loaded() -> list[ModuleType]:
    """The page modules of ``MODULES`` that exist, in that order."""
    found = []
    for name in MODULES:
        qualified = f"{__name__}.{name}"
        if importlib.util.find_spec(qualified) is not None:
            found.append(importlib.import_module(qualified))
    return found


PAGES: list[Page] = [page for module in loaded() for page in getattr(module, "pages", [])]
