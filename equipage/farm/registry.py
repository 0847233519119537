"""The farm's registry of crews in Redis, and the moves of their lives, each atomic.

A crew's record and its state sit in two hashes under the farm's hash tag, so every move
is one Lua script on one slot. Deleting a crew is resumable: it is marked ``deleting``
first, its keys are removed, and only then is its entry forgotten; running it again
after a crash finishes the job.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis.asyncio as aioredis

from equipage.errors import CrewRefused
from equipage.farm.crews import Crew, CrewState, Quotas
from equipage.keys import FarmKeys

__all__ = ["CrewRefused", "Registry"]

#: Compare-and-set attempts of ``set_quotas`` before it gives up on a crew changing fast.
_TRIES = 5


# KEYS: crews, states. ARGV: name, record. Returns 1 if created, 0 if the name is taken.
_CREATE = """
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], 'active')
return 1
"""

# KEYS: states. ARGV: name, new state, states it may leave. Returns the state it found
# ('' for no such crew); the move happened if that is one of the allowed ones.
_MOVE = """
local now = redis.call('HGET', KEYS[1], ARGV[1])
if not now then return '' end
for i = 3, #ARGV do
  if ARGV[i] == now then
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
    return now
  end
end
return now
"""

# KEYS: crews, states. ARGV: name, the record read, the record to write. Writes it only
# if the record is still the one read and the crew is not being deleted; returns 1 if so,
# 0 if the record changed meanwhile (read again), -1 for no such crew, -2 if deleting.
_SWAP = """
local now = redis.call('HGET', KEYS[1], ARGV[1])
local state = redis.call('HGET', KEYS[2], ARGV[1])
if not now or not state then return -1 end
if state == 'deleting' then return -2 end
if now ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""

# KEYS: crews, states. ARGV: name. Forgets a crew only once it is being deleted.
_FORGET = """
if redis.call('HGET', KEYS[2], ARGV[1]) ~= 'deleting' then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
"""


class Registry:
    """Every crew of one farm (one namespace on one Redis)."""

    def __init__(self, redis: aioredis.Redis, namespace: str = "eq") -> None:
        self.redis = redis
        self.keys = FarmKeys(namespace)
        self._create = redis.register_script(_CREATE)
        self._move = redis.register_script(_MOVE)
        self._forget = redis.register_script(_FORGET)
        self._swap = redis.register_script(_SWAP)

    async def create(self, crew: Crew) -> Crew:
        """Record a new, active crew; refuse a name already taken."""
        active = crew.model_copy(update={"state": CrewState.ACTIVE})
        record = active.model_dump_json(exclude={"state"})
        keys = [self.keys.crews, self.keys.states]
        created = await self._create(keys=keys, args=[crew.name, record])
        if not created:
            raise CrewRefused(
                f"a crew named {crew.name!r} already exists; pick another name, "
                "or delete it first with 'equipage crew delete'"
            )
        return active

    async def get(self, name: str) -> Crew:
        """The crew named ``name``; refuse an unknown one."""
        record = await self.redis.hget(self.keys.crews, name)
        state = await self.redis.hget(self.keys.states, name)
        if record is None or state is None:
            raise CrewRefused(f"no crew is named {name!r}; 'equipage crew list' shows them")
        crew = Crew.model_validate_json(record)
        return crew.model_copy(update={"state": CrewState(_text(state))})

    async def crews(self) -> list[Crew]:
        """Every crew, by name."""
        records = await self.redis.hgetall(self.keys.crews)
        states = await self.redis.hgetall(self.keys.states)
        found = []
        for name, record in records.items():
            state = states.get(name)
            if state is not None:
                crew = Crew.model_validate_json(record)
                found.append(crew.model_copy(update={"state": CrewState(_text(state))}))
        return sorted(found, key=lambda crew: crew.name)

    async def set_quotas(self, name: str, quotas: Quotas) -> Crew:
        """Give crew ``name`` these quotas; a pool serving it takes them up once it is idle.

        The record is rewritten only if no other change came in between (compare and set,
        tried again on a race), so a quota never undoes another move of the crew.
        """
        unknown = f"no crew is named {name!r}; 'equipage crew list' shows them"
        for _ in range(_TRIES):
            read = await self.redis.hget(self.keys.crews, name)
            if read is None:
                raise CrewRefused(unknown)
            crew = Crew.model_validate_json(read).model_copy(update={"quotas": quotas})
            record = crew.model_dump_json(exclude={"state"})
            keys = [self.keys.crews, self.keys.states]
            swapped = int(await self._swap(keys=keys, args=[name, read, record]))
            if swapped == 1:
                return await self.get(name)
            if swapped == -1:
                raise CrewRefused(unknown)
            if swapped == -2:
                raise CrewRefused(_refusal(name, CrewState.DELETING, CrewState.ACTIVE))
        raise CrewRefused(f"crew {name!r} kept changing meanwhile; set its quotas again")

    async def pause(self, name: str) -> Crew:
        """Hold an active crew: it keeps its keys and gets no work until resumed."""
        await self._moved(name, CrewState.PAUSED, [CrewState.ACTIVE])
        return await self.get(name)

    async def resume(self, name: str) -> Crew:
        """Serve a paused crew again."""
        await self._moved(name, CrewState.ACTIVE, [CrewState.PAUSED])
        return await self.get(name)

    async def delete(self, name: str, *, batch: int = 500) -> int:
        """Remove every key of the crew, then its entry; return how many keys went.

        Resumable: a crew left ``deleting`` by a crash is finished by calling this again.
        """
        await self.begin_delete(name)
        removed = await self.remove_keys(name, batch=batch)
        await self.forget(name)
        return removed

    async def begin_delete(self, name: str) -> None:
        """Mark the crew ``deleting``, from any state: nothing serves it from now on."""
        await self._moved(name, CrewState.DELETING, list(CrewState))

    async def remove_keys(self, name: str, *, batch: int = 500) -> int:
        """Unlink every key under the crew's hash tag; return how many there were."""
        removed = 0
        found: list[bytes] = []
        async for key in self.redis.scan_iter(match=self.keys.crew_match(name), count=batch):
            found.append(key)
            if len(found) >= batch:
                removed += await self.redis.unlink(*found)
                found.clear()
        if found:
            removed += await self.redis.unlink(*found)
        return int(removed)

    async def forget(self, name: str) -> None:
        """Drop the entry of a crew being deleted (a crew in another state stays)."""
        await self._forget(keys=[self.keys.crews, self.keys.states], args=[name])

    async def _moved(self, name: str, to: CrewState, allowed: Iterable[CrewState]) -> None:
        allowed = list(allowed)
        found = await self._move(keys=[self.keys.states], args=[name, to.value, *allowed])
        now = _text(found)
        if not now:
            raise CrewRefused(f"no crew is named {name!r}; 'equipage crew list' shows them")
        if now not in allowed:
            raise CrewRefused(_refusal(name, CrewState(now), to))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _refusal(name: str, now: CrewState, to: CrewState) -> str:
    if now is CrewState.DELETING:
        return f"crew {name!r} is being deleted; run 'equipage crew delete {name}' to finish"
    if to is CrewState.PAUSED:
        return f"crew {name!r} is already paused; 'equipage crew resume {name}' serves it again"
    return f"crew {name!r} is already active; there is nothing to resume"
