"""A farm crew's own bots: which platforms it has one on, and its secrets' names.

A crew whose company.yaml has a ``channels:`` section for a platform gets its own bot
there, served by the farm's process beside the farm's shared bots (``farm.yaml``). Its
variables come from the environment under names of its own, so two crews never share one:
``EQUIPAGE_CREW_<CREW>_<VARIABLE>``, the crew's id upper-cased with each ``-`` as ``_``::

    crew bob       EQUIPAGE_CREW_BOB_TELEGRAM_BOT_TOKEN
    crew my-team   EQUIPAGE_CREW_MY_TEAM_TELEGRAM_BOT_TOKEN

Why this and not an escape for ``-``: the names read as the crew's, and they are what a
person types. The price: ``my-team`` and ``my_team`` would read the same names, so a farm
refuses a name two crews would share (``shared_names``): neither crew gets its own bot, and
the warning says why.

Which platforms a crew has its own bot on is in its registry record (``Crew.bots``),
written when the crew is created or imported, so ``farm up`` finds them without loading
every crew.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import yaml

from equipage.company import CompanyConfig
from equipage.keys import validate_company_id
from equipage.registry import platforms

__all__ = ["CREW_ENV", "bots_in", "crew_env_name", "crew_env_prefix", "own_bots", "shared_names"]

#: What every variable of a crew's own bot starts with.
CREW_ENV = "EQUIPAGE_CREW_"


def crew_env_prefix(crew: str) -> str:
    """What the names of crew ``crew``'s variables start with: ``EQUIPAGE_CREW_BOB_``."""
    return f"{CREW_ENV}{validate_company_id(crew).upper().replace('-', '_')}_"


def crew_env_name(crew: str, variable: str) -> str:
    """The name crew ``crew`` reads ``variable`` under: ``EQUIPAGE_CREW_BOB_TELEGRAM_BOT_TOKEN``."""
    return crew_env_prefix(crew) + variable


def own_bots(config: CompanyConfig) -> tuple[str, ...]:
    """The platforms a crew's config gives it its own bot on: its ``channels:`` sections."""
    return tuple(sorted(config.channels.sections))


def bots_in(text: str | None) -> tuple[str, ...]:
    """``own_bots`` of a company.yaml text not loaded (an archive's): its known sections.

    The text was a loaded crew's config when it was exported; what it cannot say is no bot.
    """
    try:
        data = yaml.safe_load(text or "")
    except yaml.YAMLError:
        return ()
    channels = data.get("channels") if isinstance(data, dict) else None
    if not isinstance(channels, dict):
        return ()
    with_sections = {name for name, declared in platforms().items() if declared.config}
    return tuple(sorted(name for name in channels if name in with_sections))


def shared_names(bots: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    """Crews (of ``bots``: crew -> its platforms) that would read a variable another reads.

    Returns each such crew with the crews it collides with.
    """
    declared = platforms()
    readers: dict[str, set[str]] = {}
    for crew, names in bots.items():
        for name in names:
            platform = declared.get(name)
            for variable in platform.env if platform is not None else ():
                readers.setdefault(crew_env_name(crew, variable), set()).add(crew)
    clashes: dict[str, set[str]] = {}
    for crews in readers.values():
        if len(crews) > 1:
            for crew in crews:
                clashes.setdefault(crew, set()).update(crews - {crew})
    return clashes
