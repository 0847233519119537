"""Consumers and heartbeats left by processes that died without leaving (Bus.forget_departed)."""

from __future__ import annotations

import time
from typing import Any

import redis.asyncio as aioredis

from equipage.bus import Bus
from equipage.envelope import Envelope, Kind, Origin
from equipage.keys import CONSUMER_GROUP, GATEWAY_GROUP, Keys
from equipage.testing import wait_until


def task(text: str) -> Envelope:
    return Envelope(
        kind=Kind.TASK, company="acme", to="ceo", sender="member:alice", thread="t1", text=text
    )


def reply(text: str) -> Envelope:
    origin = Origin(channel="console", chat="alice", member="alice")
    return Envelope(
        kind=Kind.REPLY,
        company="acme",
        to="human",
        sender="ceo",
        thread="t1",
        text=text,
        origin=origin,
    )


async def consumers(redis: aioredis.Redis, stream: str, group: str) -> dict[str, dict[str, Any]]:
    info: Any = await redis.xinfo_consumers(stream, group)
    return {c["name"].decode() if isinstance(c["name"], bytes) else c["name"]: c for c in info}


async def read_as(redis: aioredis.Redis, stream: str, group: str, name: str, *, ack: bool) -> None:
    """What a process does before it is killed: read one entry (if any), ack it or not."""
    # Redis 7.0 creates a consumer only when its read returns something; Valkey and Redis
    # 7.2 at the first read: the consumer is created the same way on both.
    await redis.xgroup_createconsumer(stream, group, name)
    reply_: Any = await redis.xreadgroup(group, name, {stream: ">"}, count=1)
    if ack:
        for _, entries in reply_ or []:
            await redis.xack(stream, group, *[entry_id for entry_id, _ in entries])


async def test_killed_consumers_without_pending_entries_are_removed_and_the_others_kept(
    redis: aioredis.Redis, keys: Keys
) -> None:
    bus = Bus(redis, keys)
    await bus.ensure_groups(["ceo"])
    inbox, outbox = keys.inbox("ceo"), keys.outbox
    for text in ("one", "two"):
        await bus.publish(task(text))
        await bus.publish(reply(text))
    await read_as(redis, inbox, CONSUMER_GROUP, "host-101", ack=True)
    await read_as(redis, inbox, CONSUMER_GROUP, "host-102", ack=False)  # its entry waits
    await read_as(redis, inbox, CONSUMER_GROUP, "host-103", ack=False)  # read nothing
    await read_as(redis, outbox, GATEWAY_GROUP, "host-101", ack=True)
    await read_as(redis, outbox, GATEWAY_GROUP, "host-104", ack=False)

    async def all_idle() -> bool:
        found = [
            *(await consumers(redis, inbox, CONSUMER_GROUP)).values(),
            *(await consumers(redis, outbox, GATEWAY_GROUP)).values(),
        ]
        return all(c["idle"] >= 1000 for c in found)

    await wait_until(all_idle, what="the killed consumers to be idle for a second")
    await read_as(redis, inbox, CONSUMER_GROUP, "host-200", ack=False)  # alive, reading
    now = time.time()
    await redis.zadd(keys.workers, {"host-101": now - 7200, "host-105": now})

    removed = await bus.forget_departed([inbox, outbox], idle_seconds=1.0)

    assert sorted(removed) == [
        f"{inbox} {CONSUMER_GROUP} host-101",
        f"{inbox} {CONSUMER_GROUP} host-103",
        f"{outbox} {GATEWAY_GROUP} host-101",
    ]
    assert set(await consumers(redis, inbox, CONSUMER_GROUP)) == {"host-102", "host-200"}
    assert set(await consumers(redis, outbox, GATEWAY_GROUP)) == {"host-104"}
    # The entries the dead held are still pending, for XAUTOCLAIM to hand over.
    assert (await redis.xpending(inbox, CONSUMER_GROUP))["pending"] == 1
    assert (await redis.xpending(outbox, GATEWAY_GROUP))["pending"] == 1
    assert await redis.zrange(keys.workers, 0, -1) == [b"host-105"]


async def test_consumers_idle_for_less_than_an_hour_are_kept_by_default(
    redis: aioredis.Redis, keys: Keys
) -> None:
    bus = Bus(redis, keys)
    await bus.ensure_groups(["ceo"])
    await read_as(redis, keys.inbox("ceo"), CONSUMER_GROUP, "host-101", ack=True)
    await redis.zadd(keys.workers, {"host-101": time.time() - 600})

    assert await bus.forget_departed([keys.inbox("ceo"), keys.outbox, keys.inbox("nobody")]) == []
    assert set(await consumers(redis, keys.inbox("ceo"), CONSUMER_GROUP)) == {"host-101"}
    assert await redis.zrange(keys.workers, 0, -1) == [b"host-101"]
