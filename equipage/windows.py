"""When a person last wrote on a platform that limits replies to a window (e.g. 24 hours).

Kept in Redis so every process sees it and a restart does not close the window.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from equipage.keys import Keys

__all__ = ["RedisWindowStore"]


class RedisWindowStore:
    """The last inbound time per person of one channel, expiring with the window."""

    def __init__(
        self, redis: aioredis.Redis, keys: Keys, channel: str, *, seconds: int = 24 * 3600
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.channel = channel
        self.seconds = seconds

    async def get(self, user: str) -> float | None:
        raw = await self.redis.get(self.keys.window(self.channel, user))
        return float(raw) if raw else None

    async def set(self, user: str, ts: float) -> None:
        await self.redis.set(self.keys.window(self.channel, user), repr(ts), ex=self.seconds)
