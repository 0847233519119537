"""Slots of a worker: one kind of heavy run cannot take them all."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import redis.asyncio as aioredis

from equipage.bus import Bus
from equipage.envelope import Envelope, Kind
from equipage.keys import Keys
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
