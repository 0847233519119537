"""What a chat platform declares to plug into Equipage: its section, variables, constructor.

An adapter package (``channels``) hands one ``Platform`` per platform to the registry
(``equipage.registry``); the core reads company.yaml's ``channels.<name>`` section with its
``config`` model, takes its ``env`` variables from the environment and calls its ``build``
with a ``PlatformSetup``. Nothing in the core names a platform.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from pydantic import BaseModel

from equipage.errors import ConfigError
from equipage.keys import Keys
from equipage.windows import RedisWindowStore

__all__ = ["Capabilities", "Platform", "PlatformSetup"]


@dataclass(frozen=True)
class Capabilities:
    """What a platform's adapter can do beyond sending text.

    ``typing`` means the adapter has ``typing(chat)``, ``files`` that it is a ``Downloader``;
    ``window`` is how long, in seconds, after a person's last message the platform lets the
    crew write to them freely (None: no limit).
    """

    buttons: bool = False
    edits: bool = False
    typing: bool = False
    files: bool = False
    window: int | None = None


@dataclass(frozen=True)
class Platform:
    """One chat platform, as its adapter package declares it.

    ``config`` is the model of company.yaml's ``channels.<name>`` section; None for a
    platform that is always on and has no section (the console). ``env`` maps every
    environment variable the adapter reads to where a person gets its value. ``build``
    makes the adapter; it checks the variables it needs before importing the adapter, so a
    missing one is reported first. ``identity`` is an example of a person's id there and
    what it is, for the commented starter company.yaml (``equipage init``).
    """

    name: str
    build: Callable[[PlatformSetup], Any]
    config: type[BaseModel] | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    capabilities: Capabilities = field(default_factory=Capabilities)
    identity: tuple[str, str] | None = None


@dataclass(frozen=True)
class PlatformSetup:
    """What ``Platform.build`` gets: its checked section, its variables, the crew's Redis.

    ``prefix`` is put before the name of every variable read: a farm crew's own bot reads
    ``EQUIPAGE_CREW_<CREW>_TELEGRAM_BOT_TOKEN`` where a company reads ``TELEGRAM_BOT_TOKEN``
    (``equipage.farm.bots``), so two crews never share a secret.
    """

    platform: Platform
    section: Any  # an instance of ``platform.config``, or None for an always-on platform
    env: Mapping[str, str] = field(default_factory=dict)
    redis: aioredis.Redis | None = None
    keys: Keys | None = None
    prefix: str = ""

    def get(self, name: str) -> str | None:
        """The variable ``name`` if it is set (and not empty)."""
        return self.env.get(self.prefix + name) or None

    def need(self, name: str) -> str:
        """The variable ``name``; a ConfigError that says where to get it when it is unset."""
        value = self.get(name)
        if value is None:
            variable = self.prefix + name
            raise ConfigError(
                f"the {self.platform.name} channel is on in company.yaml but {variable} is "
                f"not set: {self.platform.env.get(name, 'see its documentation')}, then "
                f"export {variable}=...",
                field=variable,
            )
        return value

    def window_store(self) -> RedisWindowStore | None:
        """Where the reply window of each person is kept: Redis when the crew has one."""
        window = self.platform.capabilities.window
        if window is None or self.redis is None or self.keys is None:
            return None
        return RedisWindowStore(self.redis, self.keys, self.platform.name, seconds=window)
