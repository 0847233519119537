"""The farm's index of people: who belongs to which crew, whom each picked, who runs the farm.

A person is an identity, ``<platform>:<user id>``. The index maps it to the crews that let
it in (``FarmKeys.people``, a JSON list per identity), keeps the crew a person in several
picked with ``/crew use`` (``FarmKeys.choices``) and, per crew, the identities listed under
it (``FarmKeys.people_of``), so removing a crew from everyone is one pass over its own
people, never a scan of the whole index. Every change is one Lua script on the farm's hash
tag alone: no script touches a crew's keys.

The lifecycle keeps it right (``Farm``): a new crew adds its owner, an imported one its
members, a deleted one leaves everyone's list; a paused crew keeps its people.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import redis.asyncio as aioredis

from equipage.config import load_config
from equipage.errors import ConfigError
from equipage.keys import FarmKeys, Keys

if TYPE_CHECKING:
    from equipage.farm.crews import Crew

__all__ = ["People", "identities_of", "identity"]


def identity(platform: str, user: str) -> str:
    """How the index names a person: ``<platform>:<user id>``."""
    return f"{platform}:{user}"


async def identities_of(redis: aioredis.Redis, keys: Keys, crew: Crew, config: Path) -> set[str]:
    """Everyone who may reach ``crew``: its owner, its config's members, those paired in chat."""
    found = {identity(crew.owner.platform, crew.owner.id)}
    try:
        company = await asyncio.to_thread(load_config, config)
    except ConfigError:
        company = None  # the crew's gateway cannot start either; its owner is enough here
    if company is not None:
        for member in company.members:
            found.update(identity(p, user) for p, user in member.identities.items())
    found.update(_text(raw) for raw in await redis.hkeys(keys.identities))
    return found


# KEYS: people, people_of(crew). ARGV: identity, crew. Returns 1 if added, 0 if already in.
_ADD = """
redis.call('SADD', KEYS[2], ARGV[1])
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local crews = {}
if raw then crews = cjson.decode(raw) end
for _, crew in ipairs(crews) do
  if crew == ARGV[2] then return 0 end
end
table.insert(crews, ARGV[2])
table.sort(crews)
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(crews))
return 1
"""

# KEYS: people, choices, people_of(crew). ARGV: identity, crew. Returns 1 if it was there.
_REMOVE = """
redis.call('SREM', KEYS[3], ARGV[1])
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[2], ARGV[1])
end
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local kept = {}
local found = 0
for _, crew in ipairs(cjson.decode(raw)) do
  if crew == ARGV[2] then found = 1 else table.insert(kept, crew) end
end
if #kept == 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(kept))
end
return found
"""

# KEYS: people, choices. ARGV: identity, crew. Picks the crew only among the person's own.
_USE = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
for _, crew in ipairs(cjson.decode(raw)) do
  if crew == ARGV[2] then
    redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
    return 1
  end
end
return 0
"""


class People:
    """The people index of one farm (one namespace on one Redis)."""

    def __init__(self, redis: aioredis.Redis, namespace: str = "eq") -> None:
        self.redis = redis
        self.keys = FarmKeys(namespace)
        self._add = redis.register_script(_ADD)
        self._remove = redis.register_script(_REMOVE)
        self._use = redis.register_script(_USE)

    async def add(self, person: str, crew: str) -> bool:
        """Let ``person`` into ``crew`` in the index; False if they were in already."""
        keys = [self.keys.people, self.keys.people_of(crew)]
        return bool(await self._add(keys=keys, args=[person, crew]))

    async def add_all(self, people: Iterable[str], crew: str) -> None:
        """Let each of ``people`` into ``crew`` (an imported crew's members)."""
        for person in people:
            await self.add(person, crew)

    async def remove(self, person: str, crew: str) -> bool:
        """Take ``crew`` off ``person``'s list (and their pick, if it was that crew)."""
        keys = [self.keys.people, self.keys.choices, self.keys.people_of(crew)]
        return bool(await self._remove(keys=keys, args=[person, crew]))

    async def forget_crew(self, crew: str) -> int:
        """Take ``crew`` off everyone's list; return how many people had it.

        Resumable: each person leaves the crew's own set in the script that edits their
        list, so running this again after a crash finishes the people left.
        """
        removed = 0
        while members := await self.redis.srandmember(self.keys.people_of(crew), 100):
            for raw in members:
                removed += await self.remove(_text(raw), crew)
        return removed

    async def crews_of(self, person: str) -> list[str]:
        """The crews ``person`` belongs to, by name; empty for a stranger."""
        raw = await self.redis.hget(self.keys.people, person)
        if not raw:
            return []
        found = json.loads(raw)
        return [str(crew) for crew in found] if isinstance(found, list) else []

    async def people_of(self, crew: str) -> list[str]:
        """The identities the index lists under ``crew``."""
        return sorted(_text(raw) for raw in await self.redis.smembers(self.keys.people_of(crew)))

    async def use(self, person: str, crew: str) -> bool:
        """Make ``crew`` the pick of ``person``; False (nothing changed) if not one of theirs."""
        keys = [self.keys.people, self.keys.choices]
        return bool(await self._use(keys=keys, args=[person, crew]))

    async def choice(self, person: str) -> str | None:
        """The crew ``person`` picked with ``/crew use``, if any."""
        raw = await self.redis.hget(self.keys.choices, person)
        return _text(raw) if raw else None

    # -- the farm's admins ------------------------------------------------------------------
    async def add_admin(self, person: str) -> bool:
        """Make ``person`` a farm admin; False if they were one."""
        return bool(await self.redis.sadd(self.keys.admins, person))

    async def remove_admin(self, person: str) -> bool:
        """Take ``person`` off the farm's admins; False if they were none."""
        return bool(await self.redis.srem(self.keys.admins, person))

    async def admins(self) -> list[str]:
        """The farm's admins, sorted."""
        return sorted(_text(raw) for raw in await self.redis.smembers(self.keys.admins))

    async def is_admin(self, person: str) -> bool:
        return bool(await self.redis.sismember(self.keys.admins, person))


def _text(raw: object) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)
