"""The farm crews' own bots, built at ``farm up``: one adapter per crew and platform.

Which crews have one comes from their registry records (``Crew.bots``): only those crews'
company.yaml files are read. Each bot reads its crew's own variables (``equipage.farm.bots``
names them) and keeps its per-person state under its crew's keys.

A bot that cannot be built (a variable unset, an extra missing, a variable's name two
crews would share, a config that no longer loads) is skipped with one warning line that
says what to do; the rest of the farm serves, and that crew is still reached over the
farm's shared bots. Why not fail the start, as a company alone in its process does: one
crew's missing token must not keep a thousand others from being served.

A crew's webhooks are served under ``/crews/<crew>``: its Telegram bot's is
``/crews/<crew>/telegram/webhook``, the address to give as its ``webhook_url``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from equipage.config import Settings, load_config
from equipage.errors import ConfigError, MissingExtraError
from equipage.farm.bots import crew_env_prefix, shared_names
from equipage.farm.crews import Crew, CrewState
from equipage.farm.folder import crew_config
from equipage.keys import Keys
from equipage.platform import PlatformSetup
from equipage.registry import platforms
from equipage.supervise import Loop

__all__ = ["build_own_bots", "guarded", "mounted"]

log = logging.getLogger(__name__)

#: A crew's adapters by platform.
Adapters = dict[str, Any]


def build_own_bots(
    root: Path, crews: Iterable[Crew], settings: Settings, redis: aioredis.Redis | None = None
) -> dict[str, Adapters]:
    """The own bots of ``crews`` (those of the farm at ``root``), by crew then platform."""
    wanted = {c.name: c.bots for c in crews if c.bots and c.state is not CrewState.DELETING}
    clashes = shared_names(wanted)
    declared = platforms()
    made: dict[str, Adapters] = {}
    for name, bots in sorted(wanted.items()):
        if name in clashes:
            others = ", ".join(sorted(clashes[name]))
            log.warning(
                "crew %s gets no bot of its own: its variables (%s...) would be crew %s's too; "
                "rename one of them",
                name,
                crew_env_prefix(name),
                others,
            )
            continue
        try:
            config = load_config(crew_config(root, name))
        except ConfigError as err:
            log.warning("crew %s gets no bot of its own: its config does not load: %s", name, err)
            continue
        adapters: Adapters = {}
        for platform in bots:
            section = config.channels.section(platform)
            if platform not in declared or section is None:
                continue  # no longer in its config: served over the farm's bots
            keys = Keys(name, settings.namespace)
            env, prefix = settings.channel_env, crew_env_prefix(name)
            setup = PlatformSetup(declared[platform], section, env, redis, keys, prefix=prefix)
            try:
                adapters[platform] = declared[platform].build(setup)
            except (ConfigError, MissingExtraError) as err:
                log.warning(
                    "crew %s gets no %s bot of its own, it is reached over the farm's: %s",
                    name,
                    platform,
                    err,
                )
        if adapters:
            made[name] = adapters
    return made


def guarded(crew: str, platform: str, loop: Loop) -> Loop:
    """``loop`` of crew ``crew``'s own bot, ended rather than the farm by a user mistake.

    A token Telegram refuses is a ``ConfigError``, which stops a company's process: on a
    farm it stops this bot only, with one warning line; the crew is still reached over the
    farm's bots (what it sends still goes through its own, and waits there).
    """

    async def run(stop: asyncio.Event) -> None:
        try:
            await loop(stop)
        except (ConfigError, MissingExtraError) as err:
            log.warning("crew %s's own %s bot stopped: %s", crew, platform, err)

    return run


def mounted(crew: str, routes: list[Any]) -> Any:
    """``routes`` of crew ``crew``'s own bots, served under ``/crews/<crew>``."""
    from starlette.routing import Mount

    return Mount(f"/crews/{crew}", routes=routes)
