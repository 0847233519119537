"""A worker: reads every role's inbox in the consumer group and runs handlers.

Workers are stateless; any number of them, in any number of processes, join the same
group. A handler receives an envelope and returns the envelopes it emits; the worker
commits them with the ack (see ``equipage.bus``), so a crash before the commit means a
redelivery, never a lost or doubled effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

from equipage.bus import Bus, Delivery
from equipage.envelope import Envelope
from equipage.errors import Handover

__all__ = ["Handler", "Worker", "consumer_name"]

log = logging.getLogger(__name__)

Handler = Callable[[Envelope], Awaitable[Sequence[Envelope]]]


def consumer_name() -> str:
    """A consumer name unique to this process on this machine."""
    return f"{socket.gethostname()}-{os.getpid()}"


class Worker:
    """Consumes the inbox of each role in ``handlers`` until ``stop`` is set."""

    def __init__(
        self,
        bus: Bus,
        handlers: Mapping[str, Handler],
        *,
        name: str | None = None,
        concurrency: int = 4,
        block_ms: int = 500,
        keep_seconds: float = 24 * 3600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bus = bus
        self.handlers = dict(handlers)
        self.name = name or consumer_name()
        self.concurrency = concurrency
        self.block_ms = block_ms
        self.keep_seconds = keep_seconds
        # Paces the heartbeat, trim, reclaim and pause check: a test moves it by hand
        # (equipage.testing.FakeClock) instead of waiting seconds of wall time.
        self.clock = clock
        self._streams = {bus.keys.inbox(role): role for role in self.handlers}
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Read, handle and commit until ``stop`` is set; in-flight work is finished first."""
        await self.bus.ensure_groups(self.handlers)
        next_reclaim = 0.0
        next_beat = 0.0
        next_trim = self.clock() + 60.0
        next_pause_check = 0.0
        paused = False
        try:
            while not stop.is_set():
                now = self.clock()
                if now >= next_beat:
                    await self.bus.redis.zadd(self.bus.keys.workers, {self.name: time.time()})
                    next_beat = now + 2.0
                if now >= next_trim:
                    for stream in self._streams:
                        await self.bus.trim(stream, keep_seconds=self.keep_seconds)
                    next_trim = now + 600.0
                if now >= next_reclaim:
                    for stream in self._streams:
                        for delivery in await self.bus.reclaim(stream, self.name):
                            await self._spawn(delivery)
                    next_reclaim = now + max(self.bus.visibility_timeout / 4, 0.05)
                if now >= next_pause_check:
                    # Checked once a second, not per read: /stop takes effect within a
                    # second, and the hot path pays no extra round trip.
                    paused = bool(await self.bus.redis.exists(self.bus.keys.paused))
                    next_pause_check = now + 1.0
                if paused:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=self.block_ms / 1000)
                    continue
                free = self._free_slots()
                if free == 0:
                    await self._wait_for_slot(stop)
                    continue
                deliveries = await self.bus.read(
                    list(self._streams), self.name, count=free, block_ms=self.block_ms
                )
                for delivery in deliveries:
                    await self._spawn(delivery)
        finally:
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self.bus.redis.zrem(self.bus.keys.workers, self.name)

    def _free_slots(self) -> int:
        return max(self.concurrency - len(self._tasks), 0)

    async def _wait_for_slot(self, stop: asyncio.Event) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({stopping, *self._tasks}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()

    async def _spawn(self, delivery: Delivery) -> None:
        task = asyncio.create_task(self._handle(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, delivery: Delivery) -> None:
        bus = self.bus
        attempt = await bus.begin(delivery)
        if delivery.envelope is None:
            await bus.dead_letter(delivery, delivery.error, attempt)
            return
        if attempt > bus.max_attempts:
            # Every earlier attempt died with its worker, or failed without a record.
            error = await bus.last_error(delivery) or "a worker stopped while handling it"
            await bus.dead_letter(delivery, error, attempt - 1)
            return
        role = self._streams[delivery.stream]
        finished = asyncio.Event()
        keeper = asyncio.create_task(self._keep_claimed(delivery, finished))
        try:
            outputs = await self.handlers[role](delivery.envelope)
        except Handover:
            log.info("%s handed %s back: this worker stops", role, delivery.key)
            return
        except Exception as err:
            log.exception("handler for %s failed on %s", role, delivery.key)
            await bus.fail(delivery, f"{type(err).__name__}: {err}", attempt)
            return
        finally:
            finished.set()
            await keeper
        await bus.commit(delivery, outputs)

    async def _keep_claimed(self, delivery: Delivery, finished: asyncio.Event) -> None:
        """While a handler runs, keep its entry fresh so it is not reclaimed mid-work.

        Stopped by ``finished``, not cancel(): redis-py on Python 3.11 can swallow a
        cancellation that lands mid-command, leaving the loop running for good.
        """
        period = max(self.bus.visibility_timeout / 3, 0.05)
        while not finished.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(finished.wait(), timeout=period)
            if not finished.is_set():
                await self.bus.touch(delivery, self.name)
