"""One timer per worker keeps every run in progress claimed and its thread's lease held."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from equipage.bus import Bus, Delivery, Turn
from equipage.envelope import Envelope, Kind
from equipage.keys import Keys, thread_key
from equipage.testing import wait_until
from equipage.upkeep import Upkeep
from tests.test_lease import renewals

TIMEOUT_MS = 300


def idle(redis: aioredis.Redis, bus: Bus, delivery: Delivery) -> Callable[[], Awaitable[int]]:
    async def spent() -> int:
        stream, entry = delivery.stream, delivery.entry_id
        pending = await redis.xpending_range(stream, bus.group, entry, entry, 1)
        assert pending and pending[0]["consumer"] == b"w", "the entry left its worker"
        return int(pending[0]["time_since_delivered"])

    return spent


def lease(redis: aioredis.Redis, keys: Keys, turn: Turn) -> Callable[[], Awaitable[int]]:
    async def spent() -> int:
        left = int(await redis.pttl(keys.lock(turn.thread)))
        assert left > 0, "the lease lapsed while its run was in progress"
        return TIMEOUT_MS - left

    return spent


async def test_one_upkeep_renews_every_run_in_progress_and_nothing_once_they_end(
    redis: aioredis.Redis, keys: Keys
) -> None:
    timeout = TIMEOUT_MS / 1000
    bus = Bus(redis, keys, visibility_timeout=timeout, lease_ttl=timeout)
    roles = ("ceo", "cto")
    await bus.ensure_groups(roles)
    for role in roles:
        await bus.publish(
            Envelope(kind=Kind.TASK, company="acme", to=role, sender="founder", thread="t")
        )
    streams = [keys.inbox(role) for role in roles]
    deliveries = await bus.read(streams, "w", block_ms=None)
    assert len(deliveries) == 2
    turns = [Turn(thread_key(role, "t"), f"w {role}") for role in roles]
    for turn in turns:
        await redis.set(keys.lock(turn.thread), turn.token, px=TIMEOUT_MS)

    upkeep = Upkeep(bus, "w")
    with contextlib.ExitStack() as running:
        for delivery in deliveries:
            running.enter_context(upkeep.claimed(delivery))
        for turn in turns:
            running.enter_context(upkeep.held(turn))
        for delivery in deliveries:
            await renewals(3, idle(redis, bus, delivery), f"{delivery.stream}'s claim")
        for turn in turns:
            await renewals(3, lease(redis, keys, turn), f"{turn.thread}'s lease")
    await upkeep.close()

    async def lapsed() -> bool:
        return not await redis.exists(*(keys.lock(turn.thread) for turn in turns))

    # Out of the block nothing renews them: the leases lapse, as a dead worker's would.
    await wait_until(lapsed, timeout=5.0, what="the leases lapsing")
