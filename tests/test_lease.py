"""Long work keeps its claim: the entry's visibility and the thread's lease are renewed."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence

import pytest
import redis.asyncio as aioredis

from equipage.bus import Bus
from equipage.envelope import Envelope, Kind
from equipage.errors import BusError
from equipage.keys import Keys
from equipage.lease import lease
from equipage.testing import wait_for_stream, wait_until
from equipage.worker import Worker


async def elapsed(seconds: float) -> bool:
    """A probe for wait_until: the point of these tests is time passing beyond a timeout."""
    return time.monotonic() >= seconds


async def test_handler_slower_than_the_visibility_timeout_is_not_taken_over(
    bus: Bus, keys: Keys, redis: aioredis.Redis
) -> None:
    gate = asyncio.Event()
    calls: list[str] = []

    async def slow(envelope: Envelope) -> Sequence[Envelope]:
        calls.append(envelope.id)
        await gate.wait()
        return [envelope.model_copy(update={"kind": Kind.REPLY, "to": "human", "id": "r"})]

    stop = asyncio.Event()
    workers = [
        asyncio.create_task(Worker(bus, {"ceo": slow}, name=n, block_ms=20).run(stop))
        for n in ("a", "b")
    ]
    try:
        await wait_until(lambda: redis.exists(keys.inbox("ceo")), what="groups created")
        await bus.publish(
            Envelope(kind=Kind.TASK, company="acme", to="ceo", sender="member:a", thread="t")
        )
        await wait_until(lambda: _true(bool(calls)), what="handler started")
        until = time.monotonic() + 5 * bus.visibility_timeout
        await wait_until(lambda: elapsed(until), what="five visibility timeouts")
        gate.set()
        await wait_for_stream(redis, keys.outbox, 1)
    finally:
        gate.set()
        stop.set()
        await asyncio.gather(*workers)
    assert len(calls) == 1
    events = [json.loads(f[b"event"])["type"] for _, f in await redis.xrange(keys.events)]
    assert "reclaimed" not in events


async def test_lease_outlives_its_ttl_while_held_and_is_gone_once_released(
    redis: aioredis.Redis, keys: Keys
) -> None:
    key = keys.lock("ceo:t")
    async with lease(redis, key, ttl=0.1):
        until = time.monotonic() + 0.5
        await wait_until(lambda: elapsed(until), what="five lease ttls")
        with pytest.raises(BusError, match="stayed locked"):
            async with lease(redis, key, ttl=0.1, wait=0.2):
                pass
    assert not await redis.exists(key)
    async with lease(redis, key, ttl=0.1, wait=0.2):
        assert await redis.exists(key)


async def _true(value: bool) -> bool:
    return value
