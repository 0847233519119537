"""The pool's loop ends, for its supervisor to start it again, even when a part of it does
not end when cancelled."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from equipage.config import Settings
from equipage.farm import Registry, init_folder
from equipage.farm.pool import Pool
from equipage.farm.runtimes import Runtimes
from equipage.farm.sweep import Found


class _Deaf:
    """Reads wake-ups as a client did during a failover: it caught its task's
    cancellation and answered "nothing new", so the read loop went on."""

    def __init__(self) -> None:
        self.reads = 0

    async def ensure_groups(self) -> None:
        return None

    async def read(self, consumer: str, *, block_ms: int, count: int = 100) -> list[str]:
        self.reads += 1
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(block_ms / 1000)
        return []


class _Failing:
    """A sweep whose Redis went away."""

    async def once(self) -> list[Found]:
        raise RedisError("Connection closed by server.")


async def test_a_part_that_swallows_its_cancellation_does_not_hold_the_loop_forever(
    redis: aioredis.Redis, tmp_path: Path
) -> None:
    """Found by the failover run: a wake-up reader went on reading after the loop, its
    sweep failed with the killed master, cancelled it; the loop waited for it for good, so
    nothing was swept or dispatched again and every crew's work waited."""
    namespace = f"t{uuid.uuid4().hex[:10]}"
    init_folder(tmp_path)
    settings = Settings.from_env({"EQUIPAGE_NAMESPACE": namespace})
    runtimes = Runtimes(tmp_path, Registry(redis, namespace), settings, consumer="pool-1")
    pool = Pool(runtimes, block_ms=50, serve_outbox=False, sweep_every=0.05)
    deaf = _Deaf()
    pool._work_wakes = [deaf]  # type: ignore[list-item]
    pool.sweep = _Failing()  # type: ignore[assignment]
    stop = asyncio.Event()
    loop = asyncio.create_task(pool.run(stop))
    try:
        await asyncio.wait({loop}, timeout=10)
        assert loop.done(), "the loop still waits for a part it cancelled"
        with pytest.raises(RedisError):
            loop.result()
        # And the reader itself ended: a loop started again does not read beside it.
        reads = deaf.reads
        await asyncio.sleep(0.3)  # several of its reads' length: none came
        assert deaf.reads == reads
    finally:
        stop.set()
        await runtimes.aclose()
