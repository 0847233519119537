"""A worker: reads every role's inbox in the consumer group and runs handlers.

Workers are stateless; any number of them, in any number of processes, join the same
group. A handler receives an envelope and returns the envelopes it emits; the worker
commits them with the ack (see ``equipage.bus``), so a crash before the commit means a
redelivery, never a lost or doubled effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any

from redis.exceptions import RedisError

from equipage import fence, metrics, tracing
from equipage.bus import Bus, Delivery, Turn
from equipage.entries import TAKEN_FOR
from equipage.envelope import Envelope
from equipage.errors import EquipageError, Handover, TurnLost
from equipage.keys import thread_key
from equipage.logs import logging_context
from equipage.upkeep import Upkeep

__all__ = ["Handler", "Worker", "consumer_name"]

log = logging.getLogger(__name__)

Handler = Callable[[Envelope], Awaitable[Sequence[Envelope]]]

# How many earlier envelopes of a thread one delivery may run before its own: each of
# those runs its own earlier ones first, so a longer backlog is worked through in steps.
_MAX_DEPTH = 4


async def _quietly(step: Coroutine[Any, Any, Any]) -> None:
    with contextlib.suppress(RedisError):
        await step


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
        turn_wait: float = 600.0,
        caps: Mapping[str, int] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bus = bus
        self.handlers = dict(handlers)
        self.name = name or consumer_name()
        self.concurrency = concurrency
        self.block_ms = block_ms
        self.keep_seconds = keep_seconds
        #: Longest wait for a thread's turn (another worker's long run on the same thread).
        self.turn_wait = turn_wait
        # Paces the heartbeat, trim, reclaim and pause check: a test moves it by hand
        # (equipage.testing.FakeClock) instead of waiting seconds of wall time.
        self.clock = clock
        self._streams = {bus.keys.inbox(role): role for role in self.handlers}
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._running: dict[asyncio.Task[None], str] = {}  # task -> the stream it came from
        self._leaving = asyncio.Event()  # run() ends: waits for a thread's turn end too
        #: Most slots one stream's entries may take at once (default: all of them).
        self.caps = {bus.keys.inbox(role): cap for role, cap in (caps or {}).items()}
        # Lease tokens: this worker's name, then a random part of this Worker's and a count,
        # unique without drawing a uuid per delivery.
        self._tokens = (f"{self.name} {secrets.token_hex(8)}-{n:x}" for n in itertools.count())
        # Claims and leases of the runs in progress, renewed on one timer for all of them.
        self._upkeep = Upkeep(bus, self.name)
        # The lease tokens of the deliveries being handled (a grant's, or the one drawn).
        self._live: set[str] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Read, handle and commit until ``stop`` is set; in-flight work is finished first."""
        await self.bus.ensure_groups(self.handlers)
        self._leaving = asyncio.Event()
        ended = asyncio.Event()
        beating = asyncio.create_task(self._beat(ended))
        next_reclaim = 0.0
        next_trim = self.clock() + 60.0
        next_pause_check = 0.0
        paused = False
        try:
            while not stop.is_set():
                now = self.clock()
                if now >= next_trim:
                    for stream in self._streams:
                        await self.bus.trim(stream, keep_seconds=self.keep_seconds)
                    # Consumers and heartbeats of processes SIGKILLed long ago.
                    await self.bus.forget_departed([*self._streams, self.bus.keys.outbox])
                    next_trim = now + 600.0
                if now >= next_reclaim:
                    for stream in self._room(self.concurrency):
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
                room = self._room(free)
                if not room:
                    await self._wait_for_slot(stop)
                    continue
                # COUNT applies to each stream: no more than the fullest one has room for.
                deliveries = await self.bus.read(
                    list(room), self.name, count=min(room.values()), block_ms=self.block_ms
                )
                for delivery in deliveries:
                    await self._spawn(delivery)
                if deliveries:
                    # Their runs send their first command before the next read does: the
                    # server answers it first, and the read's wait overlaps their work.
                    await asyncio.sleep(0)
        finally:
            # Stopped, or the loop failed (Redis away) and is about to be restarted: runs
            # in progress finish, but entries still waiting for their thread's turn stay
            # pending rather than hold the restart up for as long as turn_wait.
            self._leaving.set()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            ended.set()
            await beating
            await self._upkeep.close()
            with contextlib.suppress(Exception):
                await self.bus.redis.zrem(self.bus.keys.workers, self.name)

    async def _beat(self, ended: asyncio.Event) -> None:
        """Say this worker is alive every 2 s, in a task of its own: the read loop can wait
        minutes for a free slot, and a silent worker's threads are taken over."""
        while not ended.is_set():
            with contextlib.suppress(RedisError):
                await self.bus.redis.zadd(self.bus.keys.workers, {self.name: time.time()})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ended.wait(), timeout=2.0)

    def _free_slots(self) -> int:
        return max(self.concurrency - len(self._tasks), 0)

    def _room(self, free: int) -> dict[str, int]:
        """Stream -> how many more of its entries this worker takes now (none: left out).

        A stream's cap (``caps``) keeps one kind of heavy run (a coaching run on a long
        transcript) from taking every slot while the founder's messages wait.
        """
        busy: dict[str, int] = {}
        for stream in self._running.values():
            busy[stream] = busy.get(stream, 0) + 1
        room = {s: min(free, self.caps.get(s, free) - busy.get(s, 0)) for s in self._streams}
        return {s: n for s, n in room.items() if n > 0}

    async def _wait_for_slot(self, stop: asyncio.Event) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({stopping, *self._tasks}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()

    async def _spawn(self, delivery: Delivery) -> None:
        task = asyncio.create_task(self.handle(delivery))
        self._tasks.add(task)
        self._running[task] = delivery.stream
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._running.pop(task, None)
        if not task.cancelled() and (error := task.exception()) is not None:
            # Redis went away mid-handling: the entry stays pending and comes back.
            log.warning(
                "handling stopped (%s: %s); it will be retried", type(error).__name__, error
            )

    def leave(self) -> None:
        """Stop waiting for threads' turns: entries still waiting stay pending (a farm's
        pool calls it when it stops; ``run`` does it itself)."""
        self._leaving.set()

    def rejoin(self) -> None:
        """Wait for threads' turns again after ``leave``: a farm's pool whose loop was
        restarted (Redis away) calls it; ``run`` starts each time with a fresh flag."""
        self._leaving = asyncio.Event()

    async def aclose(self) -> None:
        """Stop renewing claims and leases (after a renewal under way): for a farm's pool,
        which calls ``handle`` without ``run``, once the crew is unloaded."""
        await self._upkeep.close()

    def role_of(self, stream: str) -> str | None:
        """The role (or workflow inbox) whose stream this is, None if not this crew's."""
        return self._streams.get(stream)

    @property
    def streams(self) -> list[str]:
        return list(self._streams)

    async def handle(self, delivery: Delivery) -> None:
        """Handle one delivery read from one of this worker's streams, then commit it.

        ``run`` calls it for what it reads; a farm's pool, which reads for many crews,
        calls it for each delivery of this worker's crew.
        """
        if delivery.envelope is None:
            attempt = await self.bus.begin(delivery)
            await self.bus.dead_letter(delivery, delivery.error, attempt)
            return
        token = delivery.granted_token if delivery.granted else self.draw(delivery)
        self._live.add(token)
        try:
            with self._upkeep.claimed(delivery):
                if delivery.granted:
                    # Its thread's turn was granted when it was written, to its first
                    # reader: no round trip to take it (see equipage.entries).
                    role = self._streams[delivery.stream]
                    turn = Turn(thread_key(role, delivery.envelope.thread), token)
                    await self._attempt(delivery, role, turn, 1)
                else:
                    await self._take_turn(delivery, token, depth=0)
        finally:
            self._live.discard(token)

    def draw(self, delivery: Delivery) -> str:
        """A fresh lease token for taking ``delivery``'s thread. It names the entry, so a
        worker that reclaims that entry frees a lease whose run was cut short (see
        ``Turns._lapsed``) without waiting for it to lapse."""
        return f"{next(self._tokens)}{TAKEN_FOR}{delivery.entry_id}"

    def _forsaken(self, token: str, owner: str) -> bool:
        """A lease of this worker's that none of its runs holds: the run that took it was
        cut short (Redis away), and its release was lost. Without this the thread would
        wait for the lease to lapse, every run on it turned away as busy."""
        return owner == self.name and token not in self._live

    async def _take_turn(self, delivery: Delivery, token: str, depth: int) -> bool:
        """Run ``delivery`` when its thread's turn comes: after every earlier envelope of
        the thread, and with no other worker on the thread.

        An earlier envelope left by a dead worker is taken over and run first, here; one a
        live worker still has is waited for. A wait that outlasts ``turn_wait`` leaves the
        entry pending, for the reclaim loop to bring back. True once the entry is settled
        (committed, dead-lettered, or already done); False when it stays pending.
        """
        envelope = delivery.envelope
        assert envelope is not None
        role = self._streams[delivery.stream]
        turn = Turn(thread_key(role, envelope.thread), token)
        deadline = self.clock() + self.turn_wait
        delay = 0.005
        while True:
            begun = await self.bus.begin_turn(delivery, turn, forsaken=self._forsaken)
            if begun.state == "go":
                return await self._attempt(delivery, role, turn, begun.attempt)
            if begun.state == "done":
                await self.bus.skip(delivery, turn)  # a worker that took it over ran it
                return True
            if begun.state == "behind":
                earlier = await self.bus.earlier(delivery.stream, begun.head, turn, self.name)
                if earlier == "handled":
                    continue
                if isinstance(earlier, Delivery) and depth < _MAX_DEPTH:
                    with self._upkeep.claimed(earlier):
                        # Same thread, same lease: it runs under the token held here.
                        settled = await self._take_turn(earlier, token, depth + 1)
                    if not settled:
                        # It failed again: its retry paces the thread, this one waits.
                        await self.bus.release_turn(turn)
                        return False
                    delay = 0.005
                    continue
                await self.bus.release_turn(turn)
            if self._leaving.is_set():
                return False  # stays pending: the next read loop takes it up in order
            if self.clock() > deadline:
                log.warning("%s waited %.0f s for its thread's turn", delivery.key, self.turn_wait)
                return False
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)

    async def _attempt(self, delivery: Delivery, role: str, turn: Turn, attempt: int) -> bool:
        assert delivery.envelope is not None
        # What is logged during the run (the handler's lines, the bus's) says what it is about.
        envelope = delivery.envelope.id
        with (
            logging_context(crew=self.bus.keys.company, role=role, envelope=envelope),
            tracing.handling(role, delivery.envelope),
        ):
            return await self._run(delivery, role, turn, attempt)

    async def _run(self, delivery: Delivery, role: str, turn: Turn, attempt: int) -> bool:
        bus = self.bus
        if attempt > bus.max_attempts:
            # Every earlier attempt died with its worker, or failed without a record.
            error = await bus.last_error(delivery) or "a worker stopped while handling it"
            await bus.dead_letter(delivery, error, attempt - 1, turn)
            return True
        assert delivery.envelope is not None
        # The run's checkpoint writes carry the turn's token: if another worker takes the
        # thread over (this one frozen past its heartbeat), they are refused.
        fenced = fence.current.set(fence.Fence(turn.thread, turn.token))
        try:
            with self._upkeep.held(turn):
                outputs = await self.handlers[role](delivery.envelope)
        except Handover:
            log.info("%s handed %s back: this worker stops", role, delivery.key)
            await _quietly(bus.release_turn(turn))
            return False
        except TurnLost:
            log.warning("%s lost %s to another worker: this run stops", role, delivery.key)
            return False
        except Exception as err:
            if isinstance(err, EquipageError):
                # Written for people and saying what to check: one line, no traceback.
                log.warning("%s failed on %s: %s", role, delivery.key, err)
            else:
                log.exception("handler for %s failed on %s", role, delivery.key)
            metrics.envelope_failed(role)
            tracing.failed(err)
            # Only our own errors are written for people; others may quote internals.
            shown = str(err) if isinstance(err, EquipageError) else ""
            error = f"{type(err).__name__}: {err}"
            return await bus.fail(delivery, error, attempt, turn, shown=shown)
        finally:
            fence.current.reset(fenced)
        if await bus.commit(delivery, outputs, turn):
            metrics.envelope_handled(role)
        return True
