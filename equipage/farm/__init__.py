"""The farm: many crews on one Redis, each created from a template, paused and deleted at run time.

This slice holds crews as data (templates, the registry, their lifecycle, an archive to
move one between farms: ``archive``); serving them from one pool of workers comes later.
A folder with one company.yaml stays a farm of one.
"""

from __future__ import annotations

from equipage.farm.crews import Crew, CrewState, Owner, Quotas
from equipage.farm.folder import DEFAULT_TEMPLATE, Farm, crew_config, init_folder, open_farm
from equipage.farm.registry import CrewRefused, Registry
from equipage.farm.template import PLACEHOLDERS, CrewValues, default_template, render

__all__ = [
    "DEFAULT_TEMPLATE",
    "PLACEHOLDERS",
    "Crew",
    "CrewRefused",
    "CrewState",
    "CrewValues",
    "Farm",
    "Owner",
    "Quotas",
    "Registry",
    "crew_config",
    "default_template",
    "init_folder",
    "open_farm",
    "render",
]
