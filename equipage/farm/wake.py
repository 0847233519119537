"""How the farm's pool learns that a crew has work, without a blocked read per crew.

A process that writes an envelope for a crew (the gateway, the scheduler, ``equipage
send``, a crew's creation) first marks the crew busy (``FarmKeys.busy``), then writes,
then adds a wake-up naming the crew to one of a few sharded streams (``FarmKeys.wake``):
``work`` for an inbox, ``out`` for the outbox. The pool reads the wake-up streams (a
handful of blocked reads for the whole farm), then reads that crew's streams without
blocking. A wake-up lost to a crash is not a message lost: the entry is in the crew's
stream, and the crew is still marked busy, so the pool's sweep (``equipage.farm.sweep``)
finds it.

Nothing here spans two hash tags in one command: the mark and the wake-up are separate
writes on the farm's keys, the envelope a script on the crew's. Each shard has a hash tag of
its own, and one XREADGROUP reads streams of one slot only on a cluster: there the pool
reads every shard with a blocked read of its own (``readers``).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Collection, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from equipage.connection import is_cluster
from equipage.keys import FarmKeys, Keys

__all__ = ["OUT", "POOL_GROUP", "WORK", "Waker", "Wakes", "readers", "shard_of"]

#: What a wake-up says has come: work in an inbox, or mail in the outbox.
WORK = "work"
OUT = "out"
#: Consumer group of the pool's processes on every wake-up stream.
POOL_GROUP = "pool"
# Wake-ups are read within milliseconds; this only bounds a stream nobody reads.
_MAXLEN = 10_000


def shard_of(crew: str, shards: int) -> int:
    """The wake-up shard of ``crew``: stable across processes and restarts."""
    return zlib.crc32(crew.encode()) % shards


def what_of(keys: Keys, stream: str) -> str:
    return OUT if stream == keys.outbox else WORK


class Waker:
    """The ``Signal`` of a process that writes for crews it does not serve itself."""

    def __init__(self, redis: aioredis.Redis, namespace: str = "eq", shards: int = 4) -> None:
        self.redis = redis
        self.keys = FarmKeys(namespace)
        self.shards = shards

    async def before(self, keys: Keys) -> None:
        await self.mark(keys.company)

    async def after(self, keys: Keys, streams: Collection[str]) -> None:
        # Listed for the sweep, even before any pool made the crew's consumer groups: a
        # lost wake-up for a crew never loaded is still found.
        await self.redis.sadd(keys.streams, *streams)
        for what in sorted({what_of(keys, stream) for stream in streams}):
            await self.wake(keys.company, what)

    async def mark(self, crew: str) -> None:
        """Note that ``crew`` has work coming: the sweep keeps looking at it until done."""
        await self.redis.zadd(self.keys.busy, {crew: time.time()})

    async def mark_all(self, crews: Sequence[str]) -> None:
        """``mark`` for many crews, a thousand a command."""
        now = time.time()
        for start in range(0, len(crews), 1000):
            await self.redis.zadd(self.keys.busy, dict.fromkeys(crews[start : start + 1000], now))

    async def wake(self, crew: str, what: str = WORK) -> None:
        """Tell the pool that ``crew`` has new ``what`` (``WORK`` or ``OUT``)."""
        stream = self.keys.wake(what, shard_of(crew, self.shards))
        await self.redis.xadd(stream, {"crew": crew}, maxlen=_MAXLEN, approximate=True)


class Wakes:
    """The pool's side: read the wake-up streams of one kind, in the pool's group."""

    def __init__(
        self,
        redis: aioredis.Redis,
        namespace: str,
        what: str,
        shards: int = 4,
        *,
        only: Sequence[int] | None = None,
    ) -> None:
        self.redis = redis
        farm = FarmKeys(namespace)
        self.streams = [farm.wake(what, shard) for shard in (only or range(shards))]

    async def ensure_groups(self) -> None:
        for stream in self.streams:
            try:
                await self.redis.xgroup_create(stream, POOL_GROUP, id="$", mkstream=True)
            except ResponseError as err:
                if "BUSYGROUP" not in str(err):
                    raise

    async def read(self, consumer: str, *, block_ms: int, count: int = 100) -> list[str]:
        """The crews named by new wake-ups, in order, each once; acknowledged at once.

        Acknowledging before the crew is served loses nothing: the crew's entries stay
        unread in its own streams and the crew stays busy until the sweep sees it idle.
        """
        reply: Any = await self.redis.xreadgroup(
            POOL_GROUP,
            consumer,
            streams=dict.fromkeys(self.streams, ">"),
            count=count,
            block=block_ms,
        )
        crews: dict[str, None] = {}
        for stream, entries in reply or []:
            ids = [entry_id for entry_id, _ in entries]
            for _, fields in entries:
                crew = fields.get(b"crew")
                if crew:
                    crews[crew.decode()] = None
            if ids:
                await self.redis.xack(stream, POOL_GROUP, *ids)
        return list(crews)


def readers(redis: aioredis.Redis, namespace: str, what: str, shards: int) -> list[Wakes]:
    """The readers of the ``what`` wake-ups: one for every shard on a cluster, where each
    shard is in a slot of its own, one for them all (a single blocked read) on one server."""
    if is_cluster(redis):
        return [Wakes(redis, namespace, what, shards, only=[shard]) for shard in range(shards)]
    return [Wakes(redis, namespace, what, shards)]
