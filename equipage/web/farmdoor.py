"""A farm's one console: each crew's console built from the farm's folder and registry.

Every link and cookie of a farm names its crew before its secret (``login.farm_token``),
and the door looks for the secret in that crew's keys alone: a session of crew A opens
nothing of crew B, whose keys hold no hash of A's secret. A crew being deleted, unknown,
or whose company.yaml is gone or broken is no one's crew: its pages ask to log in.

A crew's ``CrewConsole`` is built on its first request and kept: its company.yaml from
``crews/<name>/`` (read again once the file changed), its keys under the farm's
namespace, its threadbook, and one live ``Hub``, so however many browsers follow a crew
one reader reads its events, from the first browser until the last one leaves. At most
``keep`` crews are kept; the least recently used that no browser follows goes first.

The members of the crew whose identities are farm admins (``FarmKeys.admins``, read at
each request, as ``/crew`` does) get the farm page.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from equipage.chat import Incoming, Outgoing
from equipage.config import CompanyConfig, load_config
from equipage.errors import ConfigError, CrewRefused
from equipage.farm import CrewState, Registry, crew_config, identity
from equipage.keys import FarmKeys, Keys, validate_company_id
from equipage.language import Language, choose
from equipage.web.context import Console, FarmView
from equipage.web.door import CrewConsole, Receive
from equipage.web.live import Hub
from equipage.web.login import (
    WebSession,
    end_session,
    farm_token,
    find_session,
    redeem,
    split_token,
    start_session,
)
from equipage.web.threadbook import Threadbook

__all__ = ["FarmDoor", "GatewayFor"]

#: A crew's ready gateway by its name (the farm's, as ``equipage.app.farming`` keeps them).
GatewayFor = Callable[[str], Awaitable[Any]]

#: Seconds a crew's company.yaml is trusted before its file is looked at again.
_RECHECK = 5.0


@dataclass
class _Kept:
    crew: CrewConsole
    stamp: float  # the company.yaml's modification time it was read at
    checked: float  # monotonic time the file was last looked at


class FarmDoor:
    """The door of a farm's console: the crew each cookie or link names, built once."""

    def __init__(
        self,
        redis: aioredis.Redis,
        namespace: str,
        folder: Path,
        home: Path,
        *,
        language: str = "en",
        shards: int = 4,
        gateway_for: GatewayFor | None = None,
        keep: int = 256,
    ) -> None:
        self.redis = redis
        self.namespace = namespace
        self.folder = folder  # the farm's folder
        self.home = home  # the farm's home (audit key), each crew's home in the farm
        self.registry = Registry(redis, namespace)
        self.shards = shards
        self.gateway_for = gateway_for
        self.keep = keep
        self._language = choose(language)
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._building = asyncio.Lock()

    def language(self) -> Language:
        return self._language

    def watched(self) -> list[str]:
        """The crews whose events are being read now (someone follows them live)."""
        return sorted(name for name, kept in self._kept.items() if kept.crew.hub.reading)

    async def crew(self, name: str) -> CrewConsole | None:
        """Crew ``name``'s console, built or kept; None when no such crew is served."""
        try:
            validate_company_id(name)
            record = await self.registry.get(name)
        except (ValueError, CrewRefused):
            return None
        if record.state is CrewState.DELETING:
            return None
        async with self._building:  # two first requests of a crew build one console
            found = await self._kept_crew(name)
            self._forget_unused(name)
            return found

    async def _kept_crew(self, name: str) -> CrewConsole | None:
        kept = self._kept.get(name)
        now = time.monotonic()
        if kept is not None and now - kept.checked < _RECHECK:
            self._kept.move_to_end(name)
            return kept.crew
        path = crew_config(self.folder, name)
        stamp = await asyncio.to_thread(_modified, path)
        if stamp is None:
            self._kept.pop(name, None)
            return None
        if kept is None or kept.stamp != stamp:
            try:
                config = await asyncio.to_thread(load_config, path)
            except ConfigError:
                return None
            # The same live reader through a new config: still one per crew.
            hub = kept.crew.hub if kept is not None else None
            kept = _Kept(self._build(name, config, hub), stamp, now)
            self._kept[name] = kept
        kept.checked = now
        self._kept.move_to_end(name)
        return kept.crew

    def _build(self, name: str, config: CompanyConfig, hub: Hub | None) -> CrewConsole:
        keys = Keys(name, self.namespace)
        farm = FarmView(self.redis, self.namespace, self.folder, frozenset(), self.shards)
        console = Console(self.redis, keys, config, self.home, farm=farm)
        hub = hub or Hub(self.redis, keys.events, keys=keys)
        return CrewConsole(console, hub, Threadbook(console), self._answer(name))

    def _answer(self, name: str) -> Receive | None:
        gateway_for = self.gateway_for
        if gateway_for is None:
            return None

        async def answer(incoming: Incoming) -> list[Outgoing]:
            gateway = await gateway_for(name)
            replies: list[Outgoing] = await gateway.receive(incoming)
            return replies

        return answer

    def _forget_unused(self, using: str) -> None:
        """Keep at most ``keep`` crews: drop the least recently used no browser follows.

        A followed crew is never dropped (a new console would start a second reader of
        its events), nor the one being asked for: then more than ``keep`` stay, for a while.
        """
        for name in list(self._kept):
            if len(self._kept) <= self.keep:
                return
            if name != using and not self._kept[name].crew.hub.subscribers:
                del self._kept[name]

    async def _seen_by(self, crew: CrewConsole) -> CrewConsole:
        """``crew`` for one request: its farm view naming the members who are farm admins."""
        console = crew.console
        admins = {_text(raw) for raw in await self.redis.smembers(FarmKeys(self.namespace).admins)}
        if not admins:
            return crew
        ids = {
            m.id
            for m in console.config.members
            if any(identity(platform, user) in admins for platform, user in m.identities.items())
        }
        paired: Any = await self.redis.hgetall(console.keys.identities)
        ids |= {_text(member) for who, member in paired.items() if _text(who) in admins}
        ids &= {m.id for m in console.config.members}
        if not ids or console.farm is None:
            return crew
        farm = replace(console.farm, admins=frozenset(ids))
        return replace(crew, console=replace(console, farm=farm))

    async def enter(self, cookie: str) -> tuple[CrewConsole, WebSession] | None:
        named = split_token(cookie)
        crew = await self.crew(named[0]) if named else None
        if named is None or crew is None:
            return None
        session = await find_session(self.redis, crew.console.keys, named[1])
        return (await self._seen_by(crew), session) if session is not None else None

    async def link(self, token: str, *, take: bool) -> tuple[CrewConsole, str] | None:
        named = split_token(token)
        crew = await self.crew(named[0]) if named else None
        if named is None or crew is None:
            return None
        member = await redeem(self.redis, crew.console.keys, named[1], take=take)
        return (crew, member) if member is not None else None

    async def open(self, crew: CrewConsole, member: str) -> str:
        keys = crew.console.keys
        session_id, _ = await start_session(self.redis, keys, member)
        return farm_token(keys.company, session_id)

    async def leave(self, cookie: str) -> None:
        named = split_token(cookie)
        if named is None:
            return
        try:
            keys = Keys(named[0], self.namespace)
        except ValueError:
            return
        await end_session(self.redis, keys, named[1])

    async def aclose(self) -> None:
        for kept in self._kept.values():
            await kept.crew.hub.aclose()


def _modified(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _text(raw: object) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)
