"""A worker killed with SIGKILL mid-handling: its envelope is reclaimed, its effect happens once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import redis.asyncio as aioredis

from equipage.bus import Bus
from equipage.connection import RedisTarget
from equipage.envelope import Envelope, Kind
from equipage.keys import CONSUMER_GROUP, Keys
from equipage.testing import stream_entries, wait_for_stream, wait_until
from equipage.worker import Worker

HANGING_WORKER = Path(__file__).parent / "procs" / "hanging_worker.py"


async def test_envelope_of_a_killed_worker_is_reclaimed_and_its_effect_happens_once(
    redis_target: RedisTarget, redis: aioredis.Redis, keys: Keys
) -> None:
    bus = Bus(redis, keys, visibility_timeout=0.5)
    await bus.ensure_groups(["ceo"])
    sent = Envelope(
        kind=Kind.TASK, company="acme", to="ceo", sender="member:alice", thread="t", text="go"
    )
    await bus.publish(sent)

    doomed = subprocess.Popen(
        [sys.executable, str(HANGING_WORKER), _url(redis_target), keys.namespace],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
    )
    try:
        started = await wait_until(
            lambda: redis.get(f"{keys.prefix}test:started"), timeout=30, what="doomed worker start"
        )
        assert started == sent.id.encode()
    finally:
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=10)
    assert doomed.returncode == -signal.SIGKILL
    pending = await redis.xpending_range(keys.inbox("ceo"), CONSUMER_GROUP, "-", "+", 10)
    assert [p["consumer"] for p in pending] == [b"doomed"]

    handled: list[str] = []

    async def effect(envelope: Envelope) -> Sequence[Envelope]:
        handled.append(envelope.id)
        return [
            Envelope(
                kind=Kind.REPLY,
                company="acme",
                to="human",
                sender="ceo",
                thread="t",
                text="done once",
                cause=envelope.id,
            )
        ]

    stop = asyncio.Event()
    rescuer = asyncio.create_task(
        Worker(bus, {"ceo": effect}, name="rescuer", block_ms=50).run(stop)
    )
    try:
        await wait_for_stream(redis, keys.outbox, 1, timeout=30)
        # Give any second, wrong delivery the chance to show up: wait until the entry is
        # acknowledged and the worker has gone round its reclaim loop again.
        await wait_until(
            lambda: _no_pending(redis, keys.inbox("ceo")), timeout=10, what="entry acknowledged"
        )
    finally:
        stop.set()
        await rescuer

    assert handled == [sent.id]
    assert await redis.xlen(keys.outbox) == 1
    assert await redis.hget(keys.attempts, sent.id) is None


async def _no_pending(redis: aioredis.Redis, stream: str) -> bool:
    info = await redis.xpending(stream, CONSUMER_GROUP)
    return int(info["pending"]) == 0


async def test_a_handler_that_hands_over_on_stop_leaves_its_envelope_for_the_next_worker(
    redis: aioredis.Redis, keys: Keys
) -> None:
    from equipage.errors import Handover

    bus = Bus(redis, keys, visibility_timeout=0.3)
    await bus.ensure_groups(["ceo"])
    sent = Envelope(
        kind=Kind.TASK, company="acme", to="ceo", sender="member:alice", thread="t", text="call"
    )
    await bus.publish(sent)
    stopping = asyncio.Event()
    started = asyncio.Event()

    async def long_call(envelope: Envelope) -> Sequence[Envelope]:
        started.set()
        await stopping.wait()
        raise Handover("resumes elsewhere")

    stop = asyncio.Event()
    first = asyncio.create_task(Worker(bus, {"ceo": long_call}, name="first").run(stop))
    await asyncio.wait_for(started.wait(), timeout=10)
    stop.set()
    stopping.set()  # what serve() does for the crew's long nodes
    await asyncio.wait_for(first, timeout=10)
    events = [f[b"event"] for _, f in await stream_entries(redis, keys.events)]
    assert not any(b'"failed"' in e for e in events)
    assert await redis.hlen(keys.errors) == 0

    handled: list[str] = []

    async def resume(envelope: Envelope) -> Sequence[Envelope]:
        handled.append(envelope.id)
        return []

    stop = asyncio.Event()
    second = asyncio.create_task(Worker(bus, {"ceo": resume}, name="second").run(stop))
    await wait_until(lambda: _done(handled), what="the next worker to take the call over")
    stop.set()
    await second
    assert handled == [sent.id]


async def _done(handled: list[str]) -> bool:
    return bool(handled)


def _url(target: RedisTarget) -> str:
    return target.url or f"unix://{target.socket}"
