"""The farm: many crews on one Redis, each created from a template, paused and deleted at run time.

It holds crews as data (templates, the registry, their lifecycle, an archive to move one
between farms: ``archive``), the index of who belongs to which crew (``people``), the
farm's pairing codes for strangers (``pairing``) and a new owner's welcome (``welcome``).
A folder with one company.yaml stays a farm of one.
"""

from __future__ import annotations

from equipage.farm.crews import Crew, CrewState, Owner, Quotas
from equipage.farm.folder import (
    DEFAULT_TEMPLATE,
    Deleted,
    Farm,
    crew_config,
    export_path,
    init_folder,
    open_farm,
)
from equipage.farm.people import People, identity
from equipage.farm.registry import CrewRefused, Registry
from equipage.farm.template import PLACEHOLDERS, CrewValues, default_template, render

__all__ = [
    "DEFAULT_TEMPLATE",
    "PLACEHOLDERS",
    "Crew",
    "CrewRefused",
    "CrewState",
    "CrewValues",
    "Deleted",
    "Farm",
    "Owner",
    "People",
    "Quotas",
    "Registry",
    "crew_config",
    "default_template",
    "export_path",
    "identity",
    "init_folder",
    "open_farm",
    "render",
]
