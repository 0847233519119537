"""Slots of a worker: one kind of heavy run cannot take them all; none holds a restart up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from equipage.bus import Bus, Delivery
from equipage.envelope import Envelope, Kind
from equipage.keys import CONSUMER_GROUP, Keys
from equipage.testing import wait_until
from equipage.worker import Worker


def _to(role: str, thread: str) -> Envelope:
    return Envelope(
        kind=Kind.TASK, company="acme", to=role, sender="member:alice", thread=thread, text="go"
    )


async def test_the_founders_message_runs_while_heavy_runs_fill_their_share_of_slots(
    redis: aioredis.Redis, keys: Keys
) -> None:
    """Issue 11, cause 5: reclaimed heavy runs took every slot and later runs timed out."""
    bus = Bus(redis, keys)
    release = asyncio.Event()
    started: list[str] = []

    async def heavy(envelope: Envelope) -> Sequence[Envelope]:
        started.append(envelope.thread)
        await release.wait()
        return []

    async def ceo(envelope: Envelope) -> Sequence[Envelope]:
        started.append("ceo")
        return []

    for n in range(3):
        await bus.publish(_to("workflow.coaching", f"run-{n}"))
    stop = asyncio.Event()
    worker = Worker(
        bus,
        {"workflow.coaching": heavy, "ceo": ceo},
        name="w",
        concurrency=2,
        block_ms=20,
        caps={"workflow.coaching": 1},
    )
    running = asyncio.create_task(worker.run(stop))
    try:
        await wait_until(lambda: _has(started, "run-0"), what="the first heavy run")
        await bus.publish(_to("ceo", "founder"))
        await wait_until(lambda: _has(started, "ceo"), what="the founder's message")
        assert started == ["run-0", "ceo"]  # the other heavy runs wait for the one slot
        release.set()
        await wait_until(lambda: _has(started, "run-2"), what="the other heavy runs, in turn")
    finally:
        release.set()
        stop.set()
        await running
    assert sorted(started) == ["ceo", "run-0", "run-1", "run-2"]


async def _has(started: list[str], name: str) -> bool:
    return name in started


class _FailingReads(Bus):
    """A bus whose reads fail once told to, as they do while Redis is away."""

    failing = False

    async def read(self, *args: Any, **kwargs: Any) -> list[Delivery]:
        if self.failing:
            raise RedisConnectionError("the server went away")
        return await super().read(*args, **kwargs)


async def test_a_read_loop_that_fails_returns_at_once_though_an_entry_waits_for_its_thread(
    redis: aioredis.Redis, keys: Keys
) -> None:
    """Found by the chaos suite: the loop's restart waited for every entry still waiting
    for its thread's turn (up to turn_wait, 600 s), so the worker read nothing meanwhile."""
    bus = _FailingReads(redis, keys)
    await bus.ensure_groups(["ceo"])
    # Another live worker holds the thread: the entry waits for its turn.
    await redis.zadd(keys.workers, {"other": time.time() + 3600})
    await redis.set(keys.lock("ceo:busy"), "other token")
    await bus.publish(_to("ceo", "busy"))
    worker = Worker(bus, {"ceo": _never}, name="w", block_ms=20)
    running = asyncio.create_task(worker.run(asyncio.Event()))
    await wait_until(lambda: _delivered(redis, keys), what="the entry read")
    bus.failing = True
    with pytest.raises(RedisConnectionError):
        await asyncio.wait_for(running, timeout=10)
    assert (await redis.xpending(keys.inbox("ceo"), CONSUMER_GROUP))["pending"] == 1


async def _never(envelope: Envelope) -> Sequence[Envelope]:
    raise AssertionError("its thread was never free")


async def _delivered(redis: aioredis.Redis, keys: Keys) -> bool:
    return int((await redis.xpending(keys.inbox("ceo"), CONSUMER_GROUP))["pending"]) == 1
