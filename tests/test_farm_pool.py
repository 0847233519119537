"""One pool of workers for every crew: woken by the farm, fair, and blind to idle crews."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from equipage.bus import Bus
from equipage.config import CompanyConfig, Settings
from equipage.entries import delivery_of
from equipage.envelope import Envelope, Kind, Origin
from equipage.farm import Farm, Owner, Quotas, Registry, init_folder
from equipage.farm.pool import Pool
from equipage.farm.runtimes import Runtimes
from equipage.farm.wake import Waker
from equipage.keys import CONSUMER_GROUP, FarmKeys, Keys
from equipage.llm.messages import Completion, Message, ToolSpec
from equipage.testing import wait_until


class Answers:
    """A model that answers every turn with one line, after ``delay`` seconds."""

    name = "answers"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls = 0
        self.now = 0  # calls under way
        self.most = 0  # the most ever under way at once

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], **_: object
    ) -> Completion:
        self.calls += 1
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            await asyncio.sleep(self.delay)  # the model's own latency, not a wait for state
        finally:
            self.now -= 1
        return Completion(content="done", model="answers", stop_reason="end_turn")


@dataclass
class Served:
    farm: Farm
    pool: Pool
    runtimes: Runtimes
    namespace: str
    model: Answers

    def keys(self, crew: str) -> Keys:
        return Keys(crew, self.namespace)

    async def new(self, name: str, *, runs: int = 2) -> None:
        owner = Owner(platform="console", id=f"{name}-owner", name=name)
        await self.farm.new_crew(name, owner=owner, quotas=Quotas(concurrent_runs=runs))

    async def send(self, crew: str, text: str, *, wake: bool = True) -> Envelope:
        """What a gateway process does: mark, publish, wake (``wake=False``: it died first)."""
        waker = Waker(self.farm.redis, self.namespace)
        keys = self.keys(crew)
        bus = Bus(self.farm.redis, keys, signal=waker if wake else None)
        if not wake:
            await waker.mark(crew)
        envelope = Envelope(
            kind=Kind.TASK,
            company=crew,
            to="ceo",
            sender="member:owner",
            thread=f"t-{uuid.uuid4().hex[:8]}",
            text=text,
            origin=Origin(channel="cli", chat=f"{crew}-owner", member="owner"),
        )
        await bus.publish(envelope)
        return envelope

    async def replies(self, crew: str) -> list[Envelope]:
        entries: Any = await self.farm.redis.xrange(self.keys(crew).outbox)
        found = [delivery_of("outbox", i, f).envelope for i, f in entries]
        return [e for e in found if e is not None and e.sender != "equipage"]


@contextlib.asynccontextmanager
async def serving(
    redis: aioredis.Redis,
    root: Path,
    *,
    delay: float = 0.0,
    concurrency: int = 8,
    sweep_every: float = 5.0,
    visibility_timeout: float = 60.0,
    consumer: str = "pool-1",
    beside: Served | None = None,
) -> AsyncIterator[Served]:
    """A pool process serving a farm; ``beside``: another process of that farm's pool, on
    the same Redis, folder and model."""
    namespace = beside.namespace if beside else f"t{uuid.uuid4().hex[:10]}"
    init_folder(root)
    farm = Farm(root, Registry(redis, namespace))
    model = beside.model if beside else Answers(delay)

    def models(config: CompanyConfig) -> dict[str, Answers]:
        return dict.fromkeys(config.roles, model)

    settings = Settings.from_env({"EQUIPAGE_NAMESPACE": namespace})
    runtimes = Runtimes(
        root,
        farm.registry,
        settings,
        consumer=consumer,
        models_for=models,
        visibility_timeout=visibility_timeout,
    )
    made = Pool(
        runtimes,
        concurrency=concurrency,
        block_ms=50,
        serve_outbox=False,
        sweep_every=sweep_every,
        visibility_timeout=visibility_timeout,
    )
    runtimes.signal = made
    stop = asyncio.Event()
    task = asyncio.create_task(made.run(stop))
    try:
        yield Served(farm, made, runtimes, namespace, model)
    finally:
        stop.set()
        await task
        await runtimes.aclose()


async def test_each_crew_is_answered_by_the_one_pool_and_idle_crews_are_never_loaded(
    redis: aioredis.Redis, tmp_path: Path
) -> None:
    async with serving(redis, tmp_path) as farm:
        for n in range(12):
            await farm.new(f"crew{n}")
        await farm.send("crew3", "hello")
        await farm.send("crew7", "bonjour")
        await wait_until(lambda: _answered(farm, "crew3"), timeout=10)
        await wait_until(lambda: _answered(farm, "crew7"), timeout=10)
        # Ten crews had nothing to do: none of them was loaded, none has a consumer group.
        assert sorted(c.name for c in farm.runtimes.loaded()) == ["crew3", "crew7"]
        assert not await redis.exists(farm.keys("crew5").inbox("ceo"))


async def test_a_message_whose_wake_up_was_lost_is_found_by_the_sweep(
    redis: aioredis.Redis, tmp_path: Path
) -> None:
    async with serving(redis, tmp_path, sweep_every=0.05) as farm:
        await farm.new("alice")
        await farm.runtimes.get("alice")  # its groups exist: what follows is unread
        await farm.send("alice", "hello", wake=False)
        await wait_until(lambda: _answered(farm, "alice"), timeout=10)


async def test_a_crew_with_a_backlog_takes_its_quota_of_slots_and_no_more(
    redis: aioredis.Redis, tmp_path: Path
) -> None:
    async with serving(redis, tmp_path, delay=0.05, concurrency=4) as farm:
        await farm.new("flood", runs=2)
        await farm.new("quiet", runs=2)
        await farm.runtimes.get("flood")
        for n in range(40):
            await farm.send("flood", f"task {n}")
        await wait_until(lambda: _running(farm, "flood", 2), timeout=10)
        await farm.send("quiet", "just one")
        await wait_until(lambda: _answered(farm, "quiet"), timeout=10)
        flooded = len(await farm.replies("flood"))
        # The quiet crew did not wait for the backlog: most of it is still queued.
        assert flooded < 30
        loaded = farm.runtimes.peek("flood")
        assert loaded is not None and loaded.running <= 2


async def test_a_crew_s_quota_of_runs_holds_across_the_pool_s_processes(
    redis: aioredis.Redis, tmp_path: Path
) -> None:
    """Two pool processes (as two worker pods) serve one crew whose quota is 2 runs at once:
    together they run 2 at most, not 2 each, and the backlog is still all answered."""
    async with (
        serving(redis, tmp_path, delay=0.1, concurrency=8, sweep_every=0.2) as one,
        serving(redis, tmp_path, concurrency=8, sweep_every=0.2, consumer="pool-2", beside=one),
    ):
        await one.new("flood", runs=2)
        for n in range(16):
            await one.send("flood", f"task {n}")
        await wait_until(lambda: _answered(one, "flood", 16), timeout=30, what="the backlog")
        assert one.model.most == 2


async def test_a_process_that_found_the_quota_taken_has_the_crew_served_when_a_run_ends(
    redis: aioredis.Redis, tmp_path: Path
) -> None:
    """Each process runs one of the crew's two slots when process two is told of a third
    message: it finds the quota taken, and the message is run as soon as a slot frees, not
    left for the sweep (a minute here)."""
    async with (
        serving(redis, tmp_path, delay=0.3, sweep_every=60.0) as one,
        serving(redis, tmp_path, sweep_every=60.0, consumer="pool-2", beside=one) as two,
    ):
        await one.new("duo", runs=2)
        for n, pool in enumerate((one.pool, two.pool, two.pool)):
            await one.send("duo", f"message {n}", wake=False)
            pool.wake("duo")  # as if that process had read the wake-up

            async def started(n: int = n) -> bool:
                return one.model.calls == min(n + 1, 2)

            await wait_until(started, timeout=10, what=f"message {n} taken up")
        await wait_until(lambda: _answered(one, "duo", 3), timeout=10, what="the third answered")
        assert one.model.most == 2


async def test_an_entry_whose_busy_mark_a_failover_lost_is_found_when_a_pool_starts(
    redis: aioredis.Redis, tmp_path: Path
) -> None:
    """A master killed before its replica copied the crew's busy mark: the crew's entry,
    whose run Redis's failure cut short, stays pending, and the sweep, which looks at busy
    crews only, would never see it. A pool (re)started after a failure marks every crew."""
    async with serving(redis, tmp_path, sweep_every=60.0) as before:
        await before.new("alice")
        await before.runtimes.get("alice")  # served once: its consumer groups exist
        await before.send("alice", "hello", wake=False)
        keys = before.keys("alice")
        # Read by a run that Redis's failure cut short, and the mark lost with the master.
        await redis.xreadgroup(CONSUMER_GROUP, "pool-1", {keys.inbox("ceo"): ">"}, count=1)
        await redis.zrem(FarmKeys(before.namespace).busy, "alice")
    async with serving(
        redis,
        tmp_path,
        sweep_every=0.2,
        visibility_timeout=0.5,
        consumer="pool-2",
        beside=before,
    ) as after:
        await wait_until(lambda: _answered(after, "alice"), timeout=10, what="an answer")


async def test_a_paused_crew_is_not_served_and_its_messages_wait_for_its_resume(
    redis: aioredis.Redis, tmp_path: Path
) -> None:
    async with serving(redis, tmp_path, sweep_every=0.05) as farm:
        await farm.new("alice")
        await farm.new("bob")
        await farm.farm.registry.pause("alice")
        await farm.send("alice", "are you there?")
        await farm.send("bob", "hello")
        await wait_until(lambda: _answered(farm, "bob"), timeout=10)
        assert await farm.replies("alice") == []
        await farm.farm.registry.resume("alice")
        await wait_until(lambda: _answered(farm, "alice"), timeout=10)


async def _answered(farm: Served, crew: str, count: int = 1) -> bool:
    return len(await farm.replies(crew)) >= count


async def _running(farm: Served, crew: str, count: int) -> bool:
    loaded = farm.runtimes.peek(crew)
    return loaded is not None and loaded.running >= count


async def test_an_entry_left_pending_by_a_killed_process_is_taken_over_and_answered(
    redis: aioredis.Redis, tmp_path: Path
) -> None:
    async with serving(redis, tmp_path, sweep_every=0.05, visibility_timeout=0.2) as farm:
        await farm.new("alice")
        await farm.runtimes.get("alice")
        envelope = await farm.send("alice", "hello", wake=False)
        # A pool process read it, then was SIGKILLed: pending under its name, no heartbeat.
        keys = farm.keys("alice")
        read: Any = await redis.xreadgroup("workers", "gone-1", {keys.inbox("ceo"): ">"}, count=1)
        assert read and read[0][1][0][1][b"env"]
        await wait_until(lambda: _answered(farm, "alice"), timeout=10)
        replies = await farm.replies("alice")
        assert [r.cause for r in replies] == [envelope.id]
        assert farm.model.calls == 1


async def test_an_envelope_naming_another_crew_is_handled_as_the_crew_whose_stream_it_is_in(
    redis: aioredis.Redis, tmp_path: Path
) -> None:
    """Isolation on the bus: what a crew's streams hold is that crew's, whatever it says."""
    async with serving(redis, tmp_path) as farm:
        await farm.new("alice")
        await farm.new("bob")
        waker = Waker(redis, farm.namespace)
        forged = Envelope(
            kind=Kind.TASK,
            company="bob",  # claims to be bob's, sits on alice's inbox
            to="ceo",
            sender="member:owner",
            thread="t-forged",
            text="hello",
            origin=Origin(channel="cli", chat="alice-owner", member="owner"),
        )
        await Bus(redis, farm.keys("alice"), signal=waker).publish(forged)
        await wait_until(lambda: _answered(farm, "alice"), timeout=10)
        assert await farm.replies("bob") == []
        assert farm.runtimes.peek("bob") is None  # bob was never even loaded
        keys = farm.keys("bob")
        assert [k async for k in redis.scan_iter(match=f"{keys.prefix}*")] == []


async def test_a_loaded_crew_whose_consumer_groups_were_lost_gets_them_back_and_is_served(
    redis: aioredis.Redis, tmp_path: Path
) -> None:
    """A Redis that lost its last second of writes, or a stream removed by hand, must not
    leave a loaded crew failing the pool's loop over and over."""
    async with serving(redis, tmp_path) as farm:
        await farm.new("alice")
        await farm.runtimes.get("alice")
        keys = farm.keys("alice")
        await redis.delete(keys.inbox("ceo"))  # the stream and its group, gone
        await farm.send("alice", "hello")
        await wait_until(lambda: _answered(farm, "alice"), timeout=10)


class _BeatenInBetween(Runtimes):
    """Runtimes whose pool unloads idle crews right after a load, before the caller who
    asked for it resumes: what the pool's beat may do whenever the loop lets it."""

    async def _load(self, name: str) -> Any:
        loaded = await super()._load(name)
        await self.unload_idle()
        return loaded


async def test_a_crew_just_loaded_is_not_unloaded_as_idle_before_its_caller_has_it(
    redis: aioredis.Redis, tmp_path: Path
) -> None:
    """Found by bench/scale.py: a pool logged KeyError for a crew it was loading."""
    namespace = f"t{uuid.uuid4().hex[:10]}"
    init_folder(tmp_path)
    farm = Farm(tmp_path, Registry(redis, namespace))
    owner = Owner(platform="console", id="alice-owner", name="alice")
    await farm.new_crew("alice", owner=owner, quotas=Quotas(concurrent_runs=2))
    settings = Settings.from_env({"EQUIPAGE_NAMESPACE": namespace})
    runtimes = _BeatenInBetween(tmp_path, farm.registry, settings, consumer="pool-1")
    try:
        loaded = await runtimes.get("alice")
        assert loaded is not None and [c.name for c in runtimes.loaded()] == ["alice"]
    finally:
        await runtimes.aclose()


async def test_a_stopping_pool_tells_its_crews_long_runs_to_hand_over(
    redis: aioredis.Redis, tmp_path: Path
) -> None:
    """As ``equipage up`` does on SIGTERM: a long workflow node (a live call) watches its
    crew's ``stopping`` and hands its entry over, instead of holding the stop up until
    the pod is killed."""
    async with serving(redis, tmp_path) as farm:
        await farm.new("alice")
        await farm.send("alice", "hello")
        await wait_until(lambda: _answered(farm, "alice"), timeout=10)
        loaded = await farm.runtimes.get("alice")
        assert loaded is not None and not loaded.crew.stopping.is_set()
    assert loaded.crew.stopping.is_set()
