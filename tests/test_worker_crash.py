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
from equipage.envelope import Envelope, Kind, Origin
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
    assert [p["consumer"] for p in pending] == [f"doomed-{doomed.pid}".encode()]

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


async def test_a_later_message_of_a_thread_waits_for_the_one_a_killed_worker_left(
    redis_target: RedisTarget, redis: aioredis.Redis, keys: Keys
) -> None:
    """Issue 11, cause 2: the second message ran first, before the dead turn came back."""
    bus = Bus(redis, keys, visibility_timeout=0.5, heartbeat_stale=1.0)
    await bus.ensure_groups(["ceo"])

    def said(text: str) -> Envelope:
        return Envelope(
            kind=Kind.TASK, company="acme", to="ceo", sender="member:alice", thread="t", text=text
        )

    first, second = said("first"), said("second")
    await bus.publish(first)
    doomed = subprocess.Popen(
        [sys.executable, str(HANGING_WORKER), _url(redis_target), keys.namespace],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
    )
    try:
        await wait_until(
            lambda: redis.get(f"{keys.prefix}test:started"), timeout=30, what="doomed worker start"
        )
    finally:
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=10)
    await bus.publish(second)  # read at once by the rescuer; the first waits to be reclaimed

    handled: list[str] = []

    async def record(envelope: Envelope) -> Sequence[Envelope]:
        handled.append(envelope.text)
        return []

    stop = asyncio.Event()
    rescuer = asyncio.create_task(
        Worker(bus, {"ceo": record}, name="rescuer", block_ms=50).run(stop)
    )
    try:
        await wait_until(lambda: _count(handled, 2), timeout=30, what="both messages handled")
        await wait_until(
            lambda: _no_pending(redis, keys.inbox("ceo")), timeout=10, what="entries acknowledged"
        )
    finally:
        stop.set()
        await rescuer
    assert handled == ["first", "second"]
    assert await redis.llen(keys.order("ceo:t")) == 0


async def _count(handled: list[str], count: int) -> bool:
    return len(handled) >= count


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


async def test_an_envelope_whose_worker_dies_each_time_is_set_aside_and_its_sender_told(
    redis_target: RedisTarget, redis: aioredis.Redis, keys: Keys
) -> None:
    """Issue 11, cause 5: a run that kills its worker must not come back forever."""
    origin = Origin(channel="console", chat="alice", member="alice", language="fr")
    sent = Envelope(
        kind=Kind.WORKFLOW,
        company="acme",
        to="ceo",
        sender="member:alice",
        thread="heavy",
        text="coach me",
        origin=origin,
    )
    bus = Bus(redis, keys, visibility_timeout=0.5, heartbeat_stale=1.0, max_attempts=2)
    await bus.ensure_groups(["ceo"])
    await bus.publish(sent)
    for _ in range(2):  # each time the run takes its worker down with it
        await redis.delete(f"{keys.prefix}test:started")
        doomed = subprocess.Popen(
            [sys.executable, str(HANGING_WORKER), _url(redis_target), keys.namespace],
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
        )
        try:
            await wait_until(
                lambda: redis.get(f"{keys.prefix}test:started"), timeout=30, what="the run"
            )
        finally:
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(timeout=10)

    async def never(envelope: Envelope) -> Sequence[Envelope]:
        raise AssertionError("a third attempt ran")

    stop = asyncio.Event()
    rescuer = asyncio.create_task(Worker(bus, {"ceo": never}, name="r", block_ms=50).run(stop))
    try:
        [(_, dead)] = await wait_for_stream(redis, keys.dead, 1, timeout=30)
        [(_, told)] = await wait_for_stream(redis, keys.outbox, 1, timeout=10)
    finally:
        stop.set()
        await rescuer
    assert dead[b"error"] == b"a worker stopped while handling it"
    notice = Envelope.decode(told[b"env"])
    assert notice.cause == sent.id and "après 2 tentative(s)" in notice.text
    assert await _no_pending(redis, keys.inbox("ceo"))
