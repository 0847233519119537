"""Shared company memory: facts the crew remembers, recalled by keyword overlap.

A fact's id is a hash of its text, so remembering the same fact twice (or a redelivered
envelope doing it again) stores it once.
"""

from __future__ import annotations

import hashlib
import time

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict

from equipage.keys import Keys
from equipage.text import words

__all__ = ["Fact", "Memory"]

_STOP = frozenset(
    "a an the of to in on for and or is are was what who how do we you our le la les "
    "un une des de du et ou est sont que qui quoi comment nous vous notre".split()
)


class Fact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    text: str
    by: str
    at: float
    untrusted: bool = False  # learned while reading content from outside


class Memory:
    """Remember and recall facts of one company."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def remember(self, text: str, *, by: str, untrusted: bool = False) -> Fact:
        text = " ".join(text.split())
        fact_id = hashlib.sha256(" ".join(words(text)).encode()).hexdigest()[:16]
        fact = Fact(id=fact_id, text=text, by=by, at=time.time(), untrusted=untrusted)
        await self.redis.hsetnx(self.keys.memory, fact_id, fact.model_dump_json())
        return fact

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
