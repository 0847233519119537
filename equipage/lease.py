"""A renewable lease on a Redis key: one worker at a time handles a given agent thread."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator

import redis.asyncio as aioredis

from equipage.errors import BusError

__all__ = ["lease"]

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@contextlib.asynccontextmanager
async def lease(
    redis: aioredis.Redis, key: str, *, ttl: float = 30.0, wait: float = 600.0
) -> AsyncIterator[None]:
    """Hold ``key`` for the block; renewed every ttl/3, so a dead holder frees it in ``ttl``."""
    token = uuid.uuid4().hex
    ttl_ms = int(ttl * 1000)
    deadline = time.monotonic() + wait
    delay = 0.005
    while not await redis.set(key, token, nx=True, px=ttl_ms):
        if time.monotonic() > deadline:
            raise BusError(f"{key} stayed locked for {wait:.0f}s; is a worker stuck?")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.2)

    released = asyncio.Event()

    async def renew() -> None:
        # Stopped by the event, not by cancel(): redis-py on Python 3.11 can swallow a
        # cancellation that lands mid-command, and a renewer that survived would hold
        # the thread's lease forever.
        while not released.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(released.wait(), timeout=ttl / 3)
            if not released.is_set():
                await redis.eval(_RENEW, 1, key, token, ttl_ms)

    renewer = asyncio.create_task(renew())
    try:
        yield
    finally:
        released.set()
        await renewer
        await redis.eval(_RELEASE, 1, key, token)
