"""One console per crew (equipage.console_hold) against a real server."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from equipage.console_hold import hold_console
from equipage.errors import AlreadyRunning
from equipage.keys import Keys
from equipage.testing import wait_until


async def test_a_second_hold_is_refused_naming_the_holder_and_the_first_frees_it_on_exit(
    redis: aioredis.Redis, keys: Keys
) -> None:
    async with hold_console(redis, keys):
        with pytest.raises(AlreadyRunning, match=r"pid \d+ on "):
            async with hold_console(redis, keys):
                pass
    assert not await redis.exists(keys.console)
    async with hold_console(redis, keys):
        assert await redis.exists(keys.console)


async def test_the_hold_of_a_killed_process_lapses_and_the_console_can_be_opened_again(
    redis: aioredis.Redis, keys: Keys
) -> None:
    # What a SIGKILLed `up` leaves: its hold, no longer renewed.
    await redis.set(keys.console, "pid 4242 on elsewhere [0123abcd]", px=300)
    with pytest.raises(AlreadyRunning, match="pid 4242 on elsewhere"):
        async with hold_console(redis, keys):
            pass

    async def lapsed() -> bool:
        return not await redis.exists(keys.console)

    await wait_until(lapsed, what="the dead process's hold to lapse")
    async with hold_console(redis, keys):
        pass


async def test_a_held_console_is_renewed_past_its_ttl(redis: aioredis.Redis, keys: Keys) -> None:
    async with hold_console(redis, keys, ttl=0.3):
        for _ in range(4):  # four renewals: longer than the ttl itself
            lowest = int(await redis.pttl(keys.console))

            async def renewed() -> bool:
                nonlocal lowest
                left = int(await redis.pttl(keys.console))
                lowest, before = min(lowest, left), lowest
                return left > before

            await wait_until(renewed, what="the hold to be renewed")
        assert await redis.exists(keys.console)
