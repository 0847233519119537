"""What the farm chaos run found: the pool's loop, run again after it ended (a Redis outage,
then its Supervisor), left every loaded crew's worker "leaving" for good.

``Pool.run`` calls ``worker.leave()`` for each loaded crew when it ends, so that entries
waiting for a thread's turn stay pending rather than hold the restart up; nothing cleared it
when the loop ran again (``Worker.run`` does, but the pool calls ``Worker.handle`` only).
From then on a message that finds its thread's turn taken gives up at once and waits for
the visibility timeout and the sweep: a minute by default, where it waited a second before
the outage. Nothing is lost (the entry stays pending, no attempt is counted), it is late.

Fixed: ``Pool.run`` has each loaded crew's worker rejoin (``Worker.rejoin``) when it starts.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from equipage.bus import Bus
from equipage.config import Settings
from equipage.entries import delivery_of
from equipage.envelope import Envelope, Kind, Origin
from equipage.farm import Farm, Owner, Quotas, Registry, init_folder
from equipage.farm.pool import Pool
from equipage.farm.runtimes import Runtimes
from equipage.farm.wake import Waker
from equipage.llm.messages import Completion, Message, ToolSpec
from equipage.testing import wait_until


class _Slow:
    """Answers every turn after a second: a second message of the thread queues behind."""

    name = "slow"

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], **_: object
    ) -> Completion:
        await asyncio.sleep(1.0)  # the model's own latency, not a wait for state
        return Completion(content="done", model="slow", stop_reason="end_turn")


async def test_after_the_pools_loop_is_restarted_a_message_behind_its_thread_waits_its_turn(
    redis: aioredis.Redis, tmp_path: Path
) -> None:
    namespace = f"t{uuid.uuid4().hex[:10]}"
    init_folder(tmp_path)
    farm = Farm(tmp_path, Registry(redis, namespace))
    owner = Owner(platform="console", id="owner", name="Owner")
    await farm.new_crew("alice", owner=owner, quotas=Quotas(concurrent_runs=2))
    model = _Slow()
    runtimes = Runtimes(
        tmp_path,
        farm.registry,
        Settings.from_env({"EQUIPAGE_NAMESPACE": namespace}),
        consumer="pool-1",
        models_for=lambda config: dict.fromkeys(config.roles, model),
        visibility_timeout=30.0,
    )
    pool = Pool(runtimes, block_ms=50, serve_outbox=False, sweep_every=0.2, visibility_timeout=30.0)
    runtimes.signal = pool
    keys = farm.keys("alice")
    bus = Bus(redis, keys, signal=Waker(redis, namespace))

    def said(text: str) -> Envelope:
        origin = Origin(channel="cli", chat="owner", member="owner")
        return Envelope(
            kind=Kind.TASK,
            company="alice",
            to="ceo",
            sender="member:owner",
            thread="t-1",
            text=text,
            origin=origin,
        )

    async def answered(count: int) -> bool:
        entries: Any = await redis.xrange(keys.outbox)
        found = [delivery_of("outbox", i, f).envelope for i, f in entries]
        return len([e for e in found if e is not None and e.sender != "equipage"]) >= count

    stop = asyncio.Event()
    task = asyncio.create_task(pool.run(stop))
    try:
        await bus.publish(said("first"))
        await wait_until(lambda: answered(1), timeout=10)
        # The loop ends, as when Redis goes away, and runs again, as its Supervisor does.
        stop.set()
        await task
        stop = asyncio.Event()
        task = asyncio.create_task(pool.run(stop))
        began = time.monotonic()
        await bus.publish(said("second"))
        await bus.publish(said("third"))
        # Two one-second turns, one after the other: not the 30 s visibility timeout.
        await wait_until(lambda: answered(3), timeout=5)
        assert time.monotonic() - began < 5
    finally:
        stop.set()
        await task
        await runtimes.aclose()
