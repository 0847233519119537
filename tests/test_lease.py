"""Long work keeps its claim: the entry's visibility and the thread's lease are renewed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence

import redis.asyncio as aioredis

from equipage.bus import Bus, Delivery, Turn
from equipage.envelope import Envelope, Kind
from equipage.keys import Keys
from equipage.testing import stream_entries, wait_for_stream, wait_until
from equipage.worker import Worker


async def renewals(count: int, spent: Callable[[], Awaitable[int]], what: str) -> None:
    """Wait until a timer kept by Redis was renewed ``count`` times.

    The timeouts under test (an entry's idle time against XAUTOCLAIM's min-idle, a key's
    PX) run on the server's clock, which no test can move: so the test counts renewals,
    each a third of the timeout apart. ``spent`` reads how much of the timer has run, in
    ms; a reading below the one before is a renewal (readings far apart may see two as
    one: the count is then low, and the wait longer, never shorter).
    """
    seen, last = 0, await spent()

    async def renewed() -> bool:
        nonlocal seen, last
        now = await spent()
        seen, last = seen + (now < last), now
        return seen >= count

    await wait_until(renewed, interval=0.01, what=f"{count} renewals of {what}")


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

        inbox = keys.inbox("ceo")
        [claimed] = await redis.xpending_range(inbox, bus.group, "-", "+", 1)

        async def idle() -> int:
            [entry] = await redis.xpending_range(inbox, bus.group, "-", "+", 1)
            assert entry["consumer"] == claimed["consumer"], "another worker reclaimed it"
            assert entry["times_delivered"] == 1, "it was delivered again"
            return int(entry["time_since_delivered"])

        # Renewed every third of the visibility timeout: 9 renewals span over twice the
        # timeout, while the other worker tried to reclaim it every quarter of it.
        await renewals(9, idle, "the entry's claim")
        gate.set()
        await wait_for_stream(redis, keys.outbox, 1)
    finally:
        gate.set()
        stop.set()
        await asyncio.gather(*workers)
    assert len(calls) == 1
    events = [json.loads(f[b"event"])["type"] for _, f in await stream_entries(redis, keys.events)]
    assert "reclaimed" not in events


async def test_thread_lease_outlives_its_ttl_while_a_turn_runs_and_is_gone_once_committed(
    redis: aioredis.Redis, keys: Keys
) -> None:
    bus = Bus(redis, keys, lease_ttl=0.1)  # 100 ms
    gate = asyncio.Event()
    started = asyncio.Event()

    async def slow(envelope: Envelope) -> Sequence[Envelope]:
        started.set()
        await gate.wait()
        return []

    key = keys.lock("ceo:t")

    async def spent() -> int:
        left = int(await redis.pttl(key))
        assert left > 0, "the lease expired while held"
        return 100 - left

    other = Delivery(
        stream=keys.inbox("ceo"),
        entry_id="0-1",
        raw=b"",
        envelope=Envelope(kind=Kind.TASK, company="acme", to="ceo", sender="member:a", thread="t"),
    )
    stop = asyncio.Event()
    worker = asyncio.create_task(Worker(bus, {"ceo": slow}, name="w", block_ms=20).run(stop))
    try:
        await wait_until(lambda: redis.exists(keys.inbox("ceo")), what="groups created")
        await bus.publish(
            Envelope(kind=Kind.TASK, company="acme", to="ceo", sender="member:a", thread="t")
        )
        await asyncio.wait_for(started.wait(), timeout=10)
        # Renewed every third of its ttl: 9 renewals span over twice the ttl.
        await renewals(9, spent, "the thread's lease")
        assert (await bus.begin_turn(other, Turn("ceo:t", "x token"))).state == "busy"
        gate.set()
        await wait_until(lambda: _gone(redis, key), what="the lease released by the commit")
    finally:
        gate.set()
        stop.set()
        await worker
    assert (await bus.begin_turn(other, Turn("ceo:t", "x token"))).state == "go"
    assert await redis.exists(key)


async def _gone(redis: aioredis.Redis, key: str) -> bool:
    return not await redis.exists(key)


async def _true(value: bool) -> bool:
    return value
