"""One pool of workers for every crew of a farm: woken, fair, and idle crews cost nothing.

The pool holds no read per crew. It learns which crews have work from the farm's sharded
wake-up streams (``equipage.farm.wake``: a blocked read per kind for the whole process),
from its own handlers (a commit that sends to the same crew queues it here) and from the
sweep (``equipage.farm.sweep``: what a lost wake-up or a dead process left). A crew with
work joins a round-robin queue; serving it reads, in one script on its own hash tag and
without blocking, at most as many entries as it has room for: its quota of concurrent runs
less those in progress in every process of the pool (each run holds a slot in the crew's
``runs`` set, renewed while it runs, lapsing if its process dies), and this process's free
slots. A crew that got all it asked for goes
to the back of the queue, so one crew with two thousand messages queued takes its quota of
slots, in turn, and no more. Each entry is then handled by that crew's ``Worker``, with the
turn, commit, retry and dead-letter rules of a crew served alone.

Outbox mail is drained the same way, one drain per crew at a time, through the crew's own
gateway (``Outbound.drain``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Collection

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from equipage.entries import Delivery
from equipage.farm.runtimes import Loaded, Runtimes
from equipage.farm.slots import RunSlots
from equipage.farm.sweep import Sweep
from equipage.farm.waiting import PARTS_END_WITHIN, Waiting, going
from equipage.farm.wake import OUT, WORK, Waker, Wakes, readers, what_of
from equipage.keys import Keys

__all__ = ["Pool"]

log = logging.getLogger(__name__)


class Pool:
    """Serves every crew of one farm from one process; any number of processes may run one."""

    def __init__(
        self,
        runtimes: Runtimes,
        *,
        concurrency: int = 32,
        shards: int = 4,
        block_ms: int = 500,
        sweep_every: float = 5.0,
        grace: float = 30.0,
        visibility_timeout: float = 60.0,
        drains: int = 8,
        serve_work: bool = True,
        serve_outbox: bool = True,
    ) -> None:
        self.runtimes = runtimes
        self.redis: aioredis.Redis = runtimes.redis
        namespace = runtimes.settings.namespace
        self.consumer = runtimes.consumer
        self.concurrency = concurrency
        self.block_ms = block_ms
        self.sweep_every = sweep_every
        self.waker = Waker(self.redis, namespace, shards)
        self.sweep = Sweep(
            self.redis, namespace, visibility_timeout=visibility_timeout, grace=grace
        )
        #: What this process serves: the crews' inboxes (workers), their outboxes (the
        #: process holding the bots), or both. What it writes for the other is woken up.
        self.serve_work = serve_work
        self.serve_outbox = serve_outbox
        self._work_wakes = readers(self.redis, namespace, WORK, shards)
        self._out_wakes = readers(self.redis, namespace, OUT, shards)
        self._work = Waiting()
        self._out = Waiting()
        self._capped: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._draining: set[str] = set()
        self._drains = asyncio.Semaphore(drains)
        self._slot_freed = asyncio.Event()
        # A run's slot lapses when its process stops renewing it for as long as its entry
        # takes to be reclaimed: a dead process's runs free their slots as their entries
        # are taken over.
        self.slots = RunSlots(self.redis, self.consumer, lapse=visibility_timeout)
        self._turn = 0
        self._beaten: dict[str, float] = {}

    # -- the Signal of every crew this pool loads ------------------------------------
    async def before(self, keys: Keys) -> None:
        await self.waker.mark(keys.company)

    async def after(self, keys: Keys, streams: Collection[str]) -> None:
        # Written by this process (its gateway, its handlers): served here, no wake-up;
        # what another process serves (a gateway's inbox writes, a worker's replies) is
        # woken up there.
        elsewhere = [stream for stream in streams if not self._serves(what_of(keys, stream))]
        for what in {what_of(keys, stream) for stream in streams}:
            if self._serves(what):
                (self._out if what == OUT else self._work).put(keys.company)
        if elsewhere:
            await self.waker.after(keys, elsewhere)

    def _serves(self, what: str) -> bool:
        return self.serve_outbox if what == OUT else self.serve_work

    def wake(self, crew: str, what: str = WORK) -> None:
        """Queue ``crew`` as if a wake-up named it (a resumed crew, a test)."""
        (self._out if what == OUT else self._work).put(crew)

    # -- the loop ----------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Serve until ``stop``; runs in progress finish first. Raises when Redis fails,
        for the supervisor to start it again (nothing read is lost: it stays pending)."""
        for loaded in self.runtimes.loaded():
            # Told to leave when the last run of this loop ended (Redis away): taken back,
            # or its runs would give up on every busy thread until the crew is unloaded.
            loaded.worker.rejoin()
        for wakes in (*self._work_wakes, *self._out_wakes):
            await wakes.ensure_groups()
        await self._mark_every_crew()
        parts = [self._sweeping(stop), self._beat(stop)]
        if self.serve_work:
            parts += [self._dispatch(stop)]
            parts += [self._listen(wakes, self._work, stop) for wakes in self._work_wakes]
        if self.serve_outbox:
            parts += [self._listen(wakes, self._out, stop) for wakes in self._out_wakes]
            parts += [self._mail(stop)]
        tasks = [asyncio.create_task(part) for part in parts]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                if not task.cancelled() and (error := task.exception()) is not None:
                    raise error
        finally:
            for task in tasks:
                task.cancel()
            # Bounded: a part whose client caught the cancellation would hold the loop (and
            # every crew's work) until it ended on its own; it ends at its next turn instead.
            done, left = await asyncio.wait(tasks, timeout=PARTS_END_WITHIN)
            for task in done:
                if not task.cancelled():
                    task.exception()  # retrieved: the first one was raised above
            if left:
                log.warning("%d part(s) of the pool's loop still ending; left to end", len(left))
            for loaded in self.runtimes.loaded():
                loaded.worker.leave()
                if stop.is_set():
                    # This process stops (SIGTERM): a long workflow node (a live call)
                    # hands its entry over, for another process to resume it.
                    loaded.crew.stopping.set()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._farewell()

    async def _mark_every_crew(self) -> None:
        """Mark every crew busy, for the sweep to look at each once (it lets the idle go).

        This loop starts with the process, and again after Redis failed under it. A busy
        mark can be lost with a master killed before its replica copied it, or with the
        last second of a server's AOF, while the crew's entry, its run cut short, stays
        pending: the sweep looks at busy crews only, and would never see it.
        """
        await self.waker.mark_all([crew.name for crew in await self.runtimes.registry.crews()])

    async def _listen(self, wakes: Wakes, queue: Waiting, stop: asyncio.Event) -> None:
        while going(stop):
            for crew in await wakes.read(self.consumer, block_ms=self.block_ms):
                queue.put(crew)

    async def _sweeping(self, stop: asyncio.Event) -> None:
        while going(stop):
            for found in await self.sweep.once():
                if self.serve_work and (found.work or found.work_stalled):
                    self._work.put(found.crew, reclaim=found.work_stalled)
                if self.serve_outbox and (found.out or found.out_stalled):
                    self._out.put(found.crew, reclaim=found.out_stalled)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.sweep_every)

    async def _dispatch(self, stop: asyncio.Event) -> None:
        while going(stop):
            if len(self._tasks) >= self.concurrency:
                self._slot_freed.clear()
                await self._until(self._slot_freed, stop)
                continue
            taken = self._work.take()
            if taken is None:
                await self._until(self._work.ready, stop)
                continue
            await self._serve(*taken)

    async def _serve(self, crew: str, reclaim: bool) -> None:
        loaded = await self.runtimes.get(crew)
        if loaded is None:
            return  # unknown, paused or being deleted: its entries wait, unread
        room = min(loaded.cap - loaded.running, self.concurrency - len(self._tasks))
        if room <= 0:
            self._capped.add(crew)  # queued again when one of its runs ends
            if reclaim:
                self._work.reclaim.add(crew)
            return
        await self._beat_for(loaded)
        try:
            await self._housekeep(loaded)
            deliveries = await self._take_up(loaded, room, reclaim)
        except ResponseError as err:
            if "NOGROUP" not in str(err):
                raise
            # Its groups are gone (a Redis that lost its last writes, a stream deleted by
            # hand): made again, and the crew is served on its next turn.
            log.warning("%s: consumer groups missing, made again", crew)
            await loaded.bus.ensure_groups(loaded.crew.handlers)
            self._work.put(crew)
            return
        if deliveries is None:
            return  # paused by its owner (/stop)
        for delivery in deliveries:
            self._spawn(loaded, delivery)
        if len(deliveries) >= room:
            self._work.put(crew)  # maybe more: after the others have had their turn

    async def _take_up(self, loaded: Loaded, room: int, reclaim: bool) -> list[Delivery] | None:
        """Up to ``room`` entries of the crew: stalled ones first if ``reclaim``, then new
        ones; None when its owner paused it."""
        deliveries: list[Delivery] = []
        if reclaim:
            room = min(room, await self.slots.free(loaded.keys, loaded.cap))
            for stream in loaded.worker.streams:
                if len(deliveries) < room:
                    left = room - len(deliveries)
                    deliveries += await loaded.bus.reclaim(stream, self.consumer, count=left)
            await self.slots.hold(loaded.keys, deliveries)
        if len(deliveries) >= room:
            return deliveries
        taken = await self._read(loaded, room - len(deliveries))
        return None if taken is None else deliveries + taken

    async def _read(self, loaded: Loaded, count: int) -> list[Delivery] | None:
        streams = loaded.worker.streams
        self._turn += 1
        first = self._turn % len(streams)
        return await self.slots.take(loaded.keys, streams, loaded.cap, count, first)

    async def _run(self, loaded: Loaded, delivery: Delivery) -> None:
        slot = self.slots.enter(loaded.keys, delivery)
        try:
            await loaded.worker.handle(delivery)
        finally:
            if await self.slots.leave(loaded.keys, slot):
                self._work.put(loaded.name)  # another process found the quota taken

    def _spawn(self, loaded: Loaded, delivery: Delivery) -> None:
        loaded.running += 1
        task = asyncio.create_task(self._run(loaded, delivery))
        self._tasks.add(task)

        def ended(task: asyncio.Task[None]) -> None:
            self._tasks.discard(task)
            loaded.running -= 1
            self._slot_freed.set()
            if loaded.name in self._capped:
                self._capped.discard(loaded.name)
                self._work.put(loaded.name)
            if not task.cancelled() and (error := task.exception()) is not None:
                # Redis went away mid-handling: the entry stays pending and comes back.
                log.warning("%s: handling stopped (%s); it will be retried", loaded.name, error)

        task.add_done_callback(ended)

    async def _housekeep(self, loaded: Loaded) -> None:
        """Trim the crew's streams and forget its departed consumers, every 10 minutes of
        its activity (an idle crew has nothing to trim)."""
        now = time.monotonic()
        if now - loaded.housekept < 600.0:
            return
        loaded.housekept = now
        bus, streams = loaded.bus, loaded.worker.streams
        for stream in streams:
            await bus.trim(stream, keep_seconds=24 * 3600)
        await bus.forget_departed([*streams, bus.keys.outbox])

    # -- outbox ------------------------------------------------------------------------
    async def _mail(self, stop: asyncio.Event) -> None:
        while going(stop):
            taken = self._out.take()
            if taken is None:
                await self._until(self._out.ready, stop)
                continue
            crew, reclaim = taken
            if crew in self._draining:
                self._out.put(crew, reclaim=reclaim)  # after the drain in progress
                self._slot_freed.clear()
                await self._until(self._slot_freed, stop)
                continue
            await self._drains.acquire()
            self._draining.add(crew)
            task = asyncio.create_task(self._drain(crew, reclaim))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _drain(self, crew: str, reclaim: bool, count: int = 50) -> None:
        try:
            loaded = await self.runtimes.get(crew, paused=True)
            if loaded is not None:
                try:
                    sent = await loaded.gateway.outbound.drain(
                        self.consumer, count=count, reclaim=reclaim
                    )
                except ResponseError as err:
                    if "NOGROUP" not in str(err):
                        raise
                    await loaded.bus.ensure_groups(())  # lost: made again, drained next
                    sent = count
                if sent >= count:
                    self._out.put(crew)
        except RedisError as err:
            log.warning("%s: outbox not drained (%s); the sweep brings it back", crew, err)
        finally:
            self._draining.discard(crew)
            self._drains.release()
            self._slot_freed.set()

    # -- liveness ----------------------------------------------------------------------
    async def _beat_for(self, loaded: Loaded) -> None:
        """Say this process is alive in the crew's workers set (its turns' holders are
        checked there) before it takes the crew's work, then every 2 s while it runs."""
        now = time.monotonic()
        if now - self._beaten.get(loaded.name, -10.0) >= 2.0:
            await self.redis.zadd(loaded.keys.workers, {self.consumer: time.time()})
            self._beaten[loaded.name] = now

    async def _beat(self, stop: asyncio.Event) -> None:
        every = min(1.0, self.slots.renew_every)
        while going(stop):
            for loaded in self.runtimes.loaded():
                if loaded.running:
                    with contextlib.suppress(RedisError):
                        await self._beat_for(loaded)
                        await self.slots.renew(loaded.keys)
            await self.runtimes.unload_idle()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)

    async def _farewell(self) -> None:
        """Leave the workers set of every crew this process said it was serving, loaded
        still or not: a crew unloaded meanwhile keeps its keys."""
        namespace = self.runtimes.settings.namespace
        for crew in self._beaten:
            with contextlib.suppress(Exception):
                await self.redis.zrem(Keys(crew, namespace).workers, self.consumer)
        self._beaten.clear()

    async def _until(self, event: asyncio.Event, stop: asyncio.Event) -> None:
        """Wait for ``event`` (or ``stop``), at most ``block_ms``: a missed set costs that."""
        waits = [asyncio.ensure_future(event.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waits, timeout=self.block_ms / 1000, return_when="FIRST_COMPLETED")
        finally:
            for wait in waits:
                wait.cancel()
