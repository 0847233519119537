"""Which agent threads each conversation has, its newest checkpoint and its recent events.

The threads list sorts conversations by their newest checkpoint. Reading every thread's
newest checkpoint id per request is one reply per thread (10,000 threads: 400 ms of
parsing). The index reads them all once, then on each request only what changed: a new
thread shows in the checkpoints' set (its size is compared), a thread that worked left
events on the stream (those after the index's cursor are read, and their conversations'
threads read again). It reads everything again when the stream was trimmed past its cursor
or too much happened since, and every ``FULL_EVERY`` seconds in case a checkpoint was
written with no event (nothing the runtime does today). The newest ``EVENTS_KEPT`` events
of the stream are kept as read, so a timeline parses only its own conversation's.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

import redis.asyncio as aioredis

from equipage.keys import Keys

__all__ = ["EVENTS_KEPT", "FULL_EVERY", "ThreadIndex", "agent_thread", "root_of"]

#: Seconds after which the index reads every thread again.
FULL_EVERY = 300.0
#: Events read at most since the cursor; more means reading everything again.
_EVENTS_AT_ONCE = 1000
#: The stream's newest events kept (a timeline shows its conversation's among them).
EVENTS_KEPT = 2000


def root_of(thread: str) -> str:
    """The conversation a thread belongs to: delegations and runs nest under it with ``/``."""
    return thread.split("/", 1)[0]


def agent_thread(thread_id: str) -> tuple[str, str]:
    """(role, thread) of a checkpointed agent thread id (``equipage.keys.thread_key``)."""
    role, _, thread = thread_id.partition(":")
    return role, thread


class ThreadIndex:
    """Agent thread ids by conversation and each conversation's newest checkpoint id."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, *, full_every: float = FULL_EVERY):
        self.redis = redis
        self.keys = keys
        self.full_every = full_every
        self._threads: dict[str, set[str]] = {}  # conversation -> its agent thread ids
        self._latest: dict[str, str] = {}  # agent thread id -> its newest checkpoint id
        self._newest: dict[str, str] = {}  # conversation -> the newest of its threads'
        self._count = -1  # the checkpoints' set's size when last read
        self._cursor: str | None = None  # the events stream's entry read up to
        self._recent: deque[tuple[str, str, bytes]] = deque(maxlen=EVENTS_KEPT)  # id, root, JSON
        self._full_at = 0.0
        self._lock = asyncio.Lock()

    async def read(self) -> tuple[Mapping[str, set[str]], Mapping[str, str]]:
        """Agent thread ids by conversation and each one's newest checkpoint id (ids sort
        by time), up to date; read only, do not change them."""
        await self._refresh()
        return self._threads, self._newest

    async def threads(self) -> Mapping[str, set[str]]:
        """Agent thread ids by conversation, up to date; read only."""
        return (await self.read())[0]

    async def recent(self, root: str) -> list[tuple[str, bytes]]:
        """The conversation's events among the stream's newest ``EVENTS_KEPT``, oldest first:
        (entry id, the event's JSON)."""
        await self._refresh()
        return [(entry_id, raw) for entry_id, where, raw in self._recent if where == root]

    async def _refresh(self) -> None:
        async with self._lock:
            if self._cursor is None or time.monotonic() - self._full_at > self.full_every:
                await self._full()
                return
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.scard(self.keys.cp_threads)
                pipe.xrange(self.keys.events, "-", "+", count=1)
                pipe.xrange(self.keys.events, f"({self._cursor}", "+", count=_EVENTS_AT_ONCE)
                count, first, since = await pipe.execute()
            trimmed = bool(first) and _order(_text(first[0][0])) > _order(self._cursor)
            if trimmed or len(since) >= _EVENTS_AT_ONCE:
                await self._full()
                return
            changed: set[str] = set()
            if int(count) != self._count:
                changed |= await self._read_ids()
            for entry_id, fields in since:
                self._cursor = _text(entry_id)
                if root := self._keep(self._cursor, fields):
                    changed.add(root)
            await self._read_latest(t for root in changed for t in self._threads.get(root, ()))

    async def _full(self) -> None:
        newest: Any = await self.redis.xrevrange(self.keys.events, count=EVENTS_KEPT)
        self._cursor = _text(newest[0][0]) if newest else "0-0"
        self._recent.clear()
        for entry_id, fields in reversed(newest):
            self._keep(_text(entry_id), fields)
        self._threads, self._latest, self._newest = {}, {}, {}
        await self._read_ids()
        await self._read_latest(t for ids in self._threads.values() for t in ids)
        self._full_at = time.monotonic()

    async def _read_ids(self) -> set[str]:
        """Read the checkpoints' set; the conversations that got a new thread."""
        raw: Any = await self.redis.smembers(self.keys.cp_threads)
        self._count = len(raw)
        grown: set[str] = set()
        for value in raw:
            thread_id = _text(value)
            root = root_of(agent_thread(thread_id)[1])
            known = self._threads.setdefault(root, set())
            if thread_id not in known:
                known.add(thread_id)
                grown.add(root)
        return grown

    async def _read_latest(self, thread_ids: Iterable[str]) -> None:
        wanted = list(thread_ids)
        if not wanted:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for thread_id in wanted:
                pipe.zrange(self.keys.cp_index(thread_id, ""), -1, -1)
            replies = await pipe.execute()
        for thread_id, reply in zip(wanted, replies, strict=True):
            self._latest[thread_id] = _text(reply[0]) if reply else ""
        for root in {root_of(agent_thread(t)[1]) for t in wanted}:
            self._newest[root] = max(self._latest.get(t, "") for t in self._threads[root])

    def _keep(self, entry_id: str, fields: dict[Any, Any]) -> str:
        """Keep an event of the stream; the conversation it belongs to ("" for none)."""
        raw = fields.get(b"event") or fields.get("event")
        if raw is None:
            return ""
        data = raw if isinstance(raw, bytes) else str(raw).encode()
        try:
            thread = json.loads(data).get("thread")
        except (ValueError, AttributeError):
            return ""  # another version's event: not shown rather than fatal
        root = root_of(thread) if isinstance(thread, str) and thread else ""
        if root:
            self._recent.append((entry_id, root, data))
        return root


def _order(entry_id: str) -> tuple[int, int]:
    millis, _, seq = entry_id.partition("-")
    return (int(millis or 0), int(seq or 0))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
