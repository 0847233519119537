"""What bench/live_assist.py times the workers with, from outside the code it measures.

A run inside the worker pool cannot be instrumented by subclassing its ``Session``, so
everything is seen the way a user or a dashboard would see it: streams read by blocked
XREADs, the session's state hash through keyspace notifications, and a model that notes
which segment each of its calls served.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from equipage import Completion, Envelope, Message, RedisTarget, ToolSpec, connect
from equipage.testing import wait_until

__all__ = ["ModelCall", "Observed", "StepObserver", "TimedModel", "Watcher"]

EntryKey = tuple[int, int]  # a stream entry id, ordered as Redis orders it


def entry_key(entry: str | bytes) -> EntryKey:
    text = entry.decode() if isinstance(entry, bytes) else entry
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


@dataclass(frozen=True)
class ModelCall:
    """One call of the model: the session's cursor when it began, and its span."""

    after: str  # the last segment committed: the call is for the segment after it
    start: float
    end: float

    def within(self, start: float, end: float) -> float:
        """Seconds of this call inside [start, end]."""
        return max(0.0, min(end, self.end) - max(start, self.start))


class TimedModel:
    """A model that answers after a fixed delay and notes which segment each call served."""

    name = "bench-model"

    def __init__(self, latency: float, redis: aioredis.Redis, state: str) -> None:
        self.latency = latency
        self.redis = redis
        self.state = state
        self.calls: list[ModelCall] = []

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        *,
        on_text: Callable[[str], Awaitable[None]] | None = None,
    ) -> Completion:
        start = time.perf_counter()
        # The session commits a segment's step (the cursor with it) only after that
        # segment's model call, so here the cursor names the segment before this call's.
        cursor = await self.redis.hget(self.state, "cursor")
        await asyncio.sleep(self.latency)
        after = _text(cursor) if cursor else "0-0"
        self.calls.append(ModelCall(after, start, time.perf_counter()))
        return Completion(content="Demandez ce que coûte le problème actuel.", model=self.name)


class Observed:
    """Each model call matched to its segment, to take out of that segment's time only."""

    def __init__(self, entries: Iterable[str], calls: Sequence[ModelCall]) -> None:
        order = sorted(entries, key=entry_key)
        keys = [entry_key(entry) for entry in order]
        self.calls = calls
        self.own: dict[str, ModelCall] = {}
        for call in calls:
            found = bisect.bisect_right(keys, entry_key(call.after))
            if found < len(order):
                self.own[order[found]] = call

    def framework_ms(self, entry: str, start: float, end: float) -> float:
        """Milliseconds from ``start`` to ``end`` less the model call made for ``entry``."""
        call = self.own.get(entry)
        return (end - start - (call.within(start, end) if call else 0.0)) * 1000

    def queued(self, entry: str, start: float, end: float) -> bool:
        """True when another segment's model call ran while ``entry`` waited."""
        own = self.own.get(entry)
        return any(c is not own and c.within(start, end) > 0 for c in self.calls)


class Watcher:
    """Notes when a reader blocked on XREAD first sees each entry of a stream."""

    def __init__(self, redis: aioredis.Redis, stream: str, *, by_envelope: bool = False) -> None:
        self.redis = redis
        self.stream = stream
        self.by_envelope = by_envelope  # key entries by their envelope's id, not entry id
        self.seen: dict[str, float] = {}
        self.last = "0-0"

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            reply: Any = await self.redis.xread({self.stream: self.last}, block=200, count=100)
            now = time.perf_counter()
            for _, entries in reply or []:
                for entry_id, fields in entries:
                    self.last = entry_id.decode()
                    key = Envelope.decode(fields[b"env"]).id if self.by_envelope else self.last
                    self.seen[key] = now

    async def sees(self, key: str, *, timeout: float) -> None:
        async def seen() -> bool:
            return key in self.seen

        await wait_until(seen, timeout=timeout, what=f"{key} on {self.stream}")

    async def caught_up(self, *, timeout: float) -> None:
        """Wait until this reader has seen the stream's last entry."""
        newest: Any = await self.redis.xrevrange(self.stream, count=1)
        if not newest:
            return
        goal = entry_key(newest[0][0])

        async def reached() -> bool:
            return entry_key(self.last) >= goal

        await wait_until(reached, timeout=timeout, what=f"the end of {self.stream}")


class StepObserver:
    """Notes when the session's cursor passes each segment, woken by keyspace notifications.

    Turning notifications on takes CONFIG SET, restored on close; on a server that refuses
    it (some managed ones), ``watching`` stays False and no step is timed.
    """

    def __init__(self, target: RedisTarget, redis: aioredis.Redis, state: str) -> None:
        self.subscriber = connect(target)  # subscribed, a connection serves nothing else
        self.pubsub = self.subscriber.pubsub()
        self.redis = redis
        self.state = state
        self.watching = False
        self.marks: list[tuple[EntryKey, float]] = []  # cursor, and when it was read
        self._saved: str | None = None

    async def start(self) -> None:
        try:
            saved: Any = await self.redis.config_get("notify-keyspace-events")
            self._saved = _text(next(iter(saved.values()), b""))
            await self.redis.config_set("notify-keyspace-events", self._saved + "Kh")
        except ResponseError:
            return
        db = self.redis.connection_pool.connection_kwargs.get("db", 0)
        await self.pubsub.subscribe(f"__keyspace@{db}__:{self.state}")
        self.watching = True

    async def run(self, stop: asyncio.Event) -> None:
        while self.watching and not stop.is_set():
            message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
            if message is None:
                continue
            cursor = await self.redis.hget(self.state, "cursor")
            if cursor:
                # Read after the notification: late by one round trip at most, never early.
                self.marks.append((entry_key(cursor), time.perf_counter()))

    def committed(self, entry: str) -> float | None:
        """When the cursor was first seen at or past ``entry``."""
        found = bisect.bisect_left(self.marks, (entry_key(entry), float("-inf")))
        return self.marks[found][1] if found < len(self.marks) else None

    async def aclose(self) -> None:
        await self.pubsub.aclose()
        if self._saved is not None:
            await self.redis.config_set("notify-keyspace-events", self._saved)
        await self.subscriber.aclose()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
