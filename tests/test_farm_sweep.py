"""The pool's sweep: a busy crew leaves the busy set only when none of its streams holds work."""

from __future__ import annotations

import time
import uuid

import redis.asyncio as aioredis

from equipage.farm.sweep import Sweep
from equipage.keys import CONSUMER_GROUP, FarmKeys, Keys


async def test_a_stream_listed_after_the_sweep_first_read_the_list_keeps_its_crew_busy(
    redis: aioredis.Redis,
) -> None:
    """Found by the failover run: the sweep read a crew's streams while only its first inbox
    was listed (a gateway's write, before any pool loaded the crew), kept that list, and let
    the crew go while a delegation waited unread in another role's inbox, forever."""
    namespace = f"sw{uuid.uuid4().hex[:8]}"
    keys, busy = Keys("acme", namespace), FarmKeys(namespace).busy
    sweep = Sweep(redis, namespace, grace=30.0)
    await redis.sadd(keys.streams, keys.inbox("ceo"))
    await redis.xgroup_create(keys.inbox("ceo"), CONSUMER_GROUP, id="0", mkstream=True)
    await redis.zadd(busy, {"acme": time.time()})
    assert await sweep.once() == []  # marked just now: stays, nothing to do yet
    # The crew is loaded (all its streams listed) and the CEO delegates to the CTO.
    await redis.sadd(keys.streams, keys.inbox("cto"), keys.outbox)
    await redis.xgroup_create(keys.inbox("cto"), CONSUMER_GROUP, id="0", mkstream=True)
    await redis.xadd(keys.inbox("cto"), {"env": "{}"})
    await redis.zadd(busy, {"acme": time.time() - 100})  # its mark is old now
    found = await sweep.once()
    assert [f.crew for f in found] == ["acme"] and found[0].work
    assert await redis.zscore(busy, "acme") is not None


async def test_a_crew_whose_streams_hold_nothing_leaves_once_its_mark_is_old(
    redis: aioredis.Redis,
) -> None:
    namespace = f"sw{uuid.uuid4().hex[:8]}"
    keys, busy = Keys("acme", namespace), FarmKeys(namespace).busy
    sweep = Sweep(redis, namespace, grace=30.0)
    await redis.sadd(keys.streams, keys.inbox("ceo"))
    await redis.xgroup_create(keys.inbox("ceo"), CONSUMER_GROUP, id="0", mkstream=True)
    await redis.zadd(busy, {"acme": time.time() - 100})
    assert await sweep.once() == []
    assert await redis.zscore(busy, "acme") is None
