"""Wait on observable state with a deadline, instead of sleeping a guessed time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

import redis.asyncio as aioredis

__all__ = ["StreamEntry", "stream_entries", "wait_for_stream", "wait_until"]

T = TypeVar("T")
StreamEntry = tuple[bytes, dict[bytes, bytes]]  # (id, fields) of a stream entry


async def wait_until(
    probe: Callable[[], Awaitable[T | None]],
    *,
    timeout: float = 10.0,
    interval: float = 0.02,
    what: str = "the condition",
) -> T:
    """Return the first truthy result of ``probe``; raise TimeoutError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:.1f}s")
        await asyncio.sleep(interval)


async def stream_entries(
    redis: aioredis.Redis, stream: str, start: str = "-", end: str = "+"
) -> list[StreamEntry]:
    """XRANGE ``stream`` from ``start`` to ``end`` on a client without decode_responses."""
    # redis-py types entries for both decode modes (str or bytes, each part optional).
    return cast(list[StreamEntry], await redis.xrange(stream, min=start, max=end) or [])


async def wait_for_stream(
    redis: aioredis.Redis, stream: str, count: int, *, timeout: float = 10.0
) -> list[StreamEntry]:
    """Block on XREAD until ``stream`` holds at least ``count`` entries; return them all."""
    deadline = time.monotonic() + timeout
    while True:
        entries = await stream_entries(redis, stream)
        if len(entries) >= count:
            return entries
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"{stream} held {len(entries)} of {count} entries after {timeout}s")
        last = entries[-1][0] if entries else b"0-0"
        # Blocks server-side until a new entry arrives: no polling interval to guess. A second
        # at most, within the client's socket timeout (equipage.connection.SOCKET_TIMEOUT).
        block = max(int(min(left, 1.0) * 1000), 1)
        await redis.xread({stream: last}, block=block, count=count)
