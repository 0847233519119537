"""The farm: many crews on one Redis, each created from a template, paused and deleted at run time.

It holds crews as data (templates, the registry, their lifecycle, an archive to move one
between farms: ``archive``), the index of who belongs to which crew (``people``), the
farm's pairing codes for strangers (``pairing``) and a new owner's welcome (``welcome``).
A folder with one company.yaml stays a farm of one.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from equipage.farm.crews import Crew, CrewState, Owner, Quotas
from equipage.farm.folder import (
    DEFAULT_TEMPLATE,
    Deleted,
    Farm,
    crew_config,
    export_path,
    init_folder,
    open_farm,
    seed_folder,
)
from equipage.farm.people import People, identity
from equipage.farm.registry import CrewRefused, Registry
from equipage.farm.template import PLACEHOLDERS, CrewValues, default_template, render

__all__ = [
    "DEFAULT_TEMPLATE",
    "PLACEHOLDERS",
    "POOL_GROUP",
    "WORK",
    "Crew",
    "CrewRefused",
    "CrewState",
    "CrewValues",
    "Deleted",
    "Farm",
    "Loaded",
    "Owner",
    "People",
    "Pool",
    "Quotas",
    "Registry",
    "Runtimes",
    "Waker",
    "configured_pool",
    "crew_config",
    "default_template",
    "export_path",
    "identity",
    "init_folder",
    "load_farm_config",
    "open_farm",
    "render",
    "seed_folder",
]

# Serving crews needs the crew builder (LangGraph, the models): loaded on first use, so the
# farm's CLI commands that only touch the registry stay light (PEP 562).
_SERVING = {
    "Loaded": "equipage.farm.runtimes",
    "Pool": "equipage.farm.pool",
    "Runtimes": "equipage.farm.runtimes",
    "Waker": "equipage.farm.wake",
    "POOL_GROUP": "equipage.farm.wake",
    "WORK": "equipage.farm.wake",
    "configured_pool": "equipage.farm.configured",
    "load_farm_config": "equipage.farm.config",
}


def __getattr__(name: str) -> Any:
    module = _SERVING.get(name)
    if module is None:
        raise AttributeError(f"module 'equipage.farm' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


if TYPE_CHECKING:
    from equipage.farm.config import load_farm_config
    from equipage.farm.configured import configured_pool
    from equipage.farm.pool import Pool
    from equipage.farm.runtimes import Loaded, Runtimes
    from equipage.farm.wake import POOL_GROUP, WORK, Waker
