"""Shared company memory: facts the crew remembers, recalled by keyword overlap.

A fact's id is a hash of its text, so remembering the same fact twice (or a redelivered
envelope doing it again) stores it once. A crew of a farm has a memory quota
(``limit_bytes``: the bytes its stored facts take); one script checks it and writes the
fact, so two workers remembering at once cannot both pass it.
"""

from __future__ import annotations

import hashlib
import time

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict

from equipage.errors import MemoryFull
from equipage.keys import Keys
from equipage.text import words

__all__ = ["Fact", "Memory"]

_STOP = frozenset(
    "a an the of to in on for and or is are was what who how do we you our le la les "
    "un une des de du et ou est sont que qui quoi comment nous vous notre".split()
)


# KEYS: memory, memory size. ARGV: fact id, record, limit in bytes (-1: none).
# Returns {1, used} once stored, {0, used} if known already, {-1, used} over the limit.
# The size is counted from the hash once when missing (facts written before it was kept).
_REMEMBER = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  return {0, tonumber(redis.call('GET', KEYS[2]) or '0')}
end
local used = tonumber(redis.call('GET', KEYS[2]) or '-1')
if used < 0 then
  used = 0
  for _, record in ipairs(redis.call('HVALS', KEYS[1])) do used = used + #record end
end
local limit = tonumber(ARGV[3])
if limit >= 0 and used + #ARGV[2] > limit then
  redis.call('SET', KEYS[2], used)
  return {-1, used}
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SET', KEYS[2], used + #ARGV[2])
return {1, used + #ARGV[2]}
"""


class Fact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    text: str
    by: str
    at: float
    untrusted: bool = False  # learned while reading content from outside


class Memory:
    """Remember and recall facts of one company."""

    def __init__(
        self, redis: aioredis.Redis, keys: Keys, *, limit_bytes: int | None = None
    ) -> None:
        self.redis = redis
        self.keys = keys
        #: Most bytes the stored facts may take (a farm crew's quota); None: no limit.
        self.limit_bytes = limit_bytes
        self._remember = redis.register_script(_REMEMBER)

    async def remember(self, text: str, *, by: str, untrusted: bool = False) -> Fact:
        """Store a fact once; MemoryFull (nothing stored) when it would pass ``limit_bytes``."""
        text = " ".join(text.split())
        fact_id = hashlib.sha256(" ".join(words(text)).encode()).hexdigest()[:16]
        fact = Fact(id=fact_id, text=text, by=by, at=time.time(), untrusted=untrusted)
        record = fact.model_dump_json()
        limit = -1 if self.limit_bytes is None else self.limit_bytes
        keys = [self.keys.memory, self.keys.memory_size]
        stored, used = await self._remember(keys=keys, args=[fact_id, record, limit])
        if int(stored) < 0:
            raise MemoryFull(
                crew=self.keys.company, limit=limit, used=int(used), adding=len(record.encode())
            )
        return fact

    async def size(self) -> int:
        """Bytes the stored facts take, as the memory quota counts them."""
        used = await self.redis.get(self.keys.memory_size)
        if used is not None:
            return int(used)
        records = await self.redis.hvals(self.keys.memory)
        return sum(len(r.encode() if isinstance(r, str) else r) for r in records)

    async def all(self) -> list[Fact]:
        raw = await self.redis.hvals(self.keys.memory)
        return sorted((Fact.model_validate_json(v) for v in raw), key=lambda f: f.at)

    async def recall(self, query: str, *, limit: int = 5) -> list[Fact]:
        """Facts sharing the most words with ``query`` (accents and case ignored)."""
        wanted = {w for w in words(query) if w not in _STOP}
        scored = []
        for fact in await self.all():
            overlap = len(wanted & set(words(fact.text)))
            if overlap:
                scored.append((overlap, fact.at, fact))
        scored.sort(key=lambda s: (-s[0], -s[1]))
        return [fact for _, _, fact in scored[:limit]]
