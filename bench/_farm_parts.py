"""What ``bench/farm.py`` uses around the pool: the gateway's side, a slow model, key sizes.

``Gateway`` sends as a gateway process does and reads the replies on each crew's outbox;
``Slow`` is a model that answers after a fixed delay; ``key_breakdown`` prices one crew's
keys by kind. Imported as a sibling, like ``_stats``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import re
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import Any

import redis.asyncio as aioredis
from _one_company import rss_bytes

from equipage import (
    GATEWAY_GROUP,
    Bus,
    Completion,
    Envelope,
    FarmKeys,
    Keys,
    Kind,
    Message,
    Origin,
    RedisTarget,
    ToolSpec,
)
from equipage.farm import Pool, Waker

__all__ = [
    "Gateway",
    "Logged",
    "Slow",
    "farm_keys",
    "gateway_client",
    "hand_over",
    "idle_cpu",
    "key_breakdown",
    "memory_figures",
    "none_busy",
]


def gateway_client(target: RedisTarget) -> aioredis.Redis:
    """The gateway side's client, with room for every quiet crew's send at once: a pool
    made by ``connect`` refuses a 101st connection (redis-py's default), and the senders
    stand for a gateway process of their own."""
    if target.url:
        return aioredis.Redis.from_url(target.url, max_connections=1024)
    return aioredis.Redis(unix_socket_path=target.socket, max_connections=1024)


class Slow:
    """A model that answers every turn with one line, after ``delay`` seconds."""

    name = "slow"

    def __init__(self, delay: float) -> None:
        self.delay = delay

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], **_: object
    ) -> Completion:
        await asyncio.sleep(self.delay)  # the model's own latency
        return Completion(content="done", model="slow", stop_reason="end_turn")


class Logged(logging.Handler):
    """Counts what Equipage logged at WARNING and above (a failed run, a retry) instead
    of printing it: the JSON says how many, with the first few distinct messages."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0
        self.examples: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            message += f" ({type(error).__name__}: {error})"
        if len(self.examples) < 5 and message not in self.examples:
            self.examples.append(message)

    @contextlib.contextmanager
    def capturing(self) -> Iterator[Logged]:
        logger = logging.getLogger("equipage")
        logger.addHandler(self)
        logger.propagate = False
        try:
            yield self
        finally:
            logger.removeHandler(self)
            logger.propagate = True

    def figures(self) -> dict[str, Any]:
        return {"count": self.count, "examples": self.examples}


class Gateway:
    """Sends tasks to crews' entry role and notes when the first reply to each arrives.

    Without ``watching``, ``wait`` reads the one crew's outbox itself; while ``watching``
    a set of crews, one blocked XREAD on all their outboxes serves every ``wait``.
    """

    def __init__(self, redis: aioredis.Redis, namespace: str) -> None:
        self.redis = redis
        self.namespace = namespace
        self.waker = Waker(redis, namespace)
        self.counts: Counter[str] = Counter()  # replies seen, per crew
        self._last: dict[str, bytes | str] = {}
        self._arrived: dict[str, float] = {}
        self._answered: set[str] = set()
        self._waiting: dict[str, asyncio.Future[float]] = {}
        self._watcher: asyncio.Task[None] | None = None

    async def send(self, crew: str, text: str) -> Envelope:
        """Mark, publish, wake: what a gateway does with a member's message."""
        # A bus per send, none kept: this process's RSS is measured per crew.
        bus = Bus(self.redis, Keys(crew, self.namespace), signal=self.waker)
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

    async def wait(self, crew: str, cause: str, timeout: float = 120.0) -> float:
        """When (``perf_counter``) the first reply caused by envelope ``cause`` was read."""
        async with asyncio.timeout(timeout):
            if self._watcher is None:
                while cause not in self._arrived:
                    await self._read([crew], block=1000)
            elif cause not in self._arrived:
                future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
                self._waiting[cause] = future
                return await future
            return self._arrived.pop(cause)

    @contextlib.asynccontextmanager
    async def watching(self, crews: Sequence[str]) -> AsyncIterator[None]:
        for crew in crews:  # what is on their outboxes already is not news
            last: Any = await self.redis.xrevrange(Keys(crew, self.namespace).outbox, count=1)
            self._last[crew] = last[0][0] if last else "0-0"
        stop = asyncio.Event()

        async def watch() -> None:
            while not stop.is_set():
                await self._read(crews, block=200)

        self._watcher = asyncio.create_task(watch())
        try:
            yield
        finally:
            # Stopped, not cancelled: see bench/bus.py (redis-py may swallow a cancellation).
            stop.set()
            await self._watcher
            self._watcher = None

    async def _read(self, crews: Iterable[str], *, block: int) -> None:
        outboxes = {Keys(crew, self.namespace).outbox: crew for crew in crews}
        streams: Any = {outbox: self._last.get(crew, "0-0") for outbox, crew in outboxes.items()}
        reply: Any = await self.redis.xread(streams, block=block)
        now = time.perf_counter()
        for stream, entries in reply or []:
            crew = outboxes[stream.decode() if isinstance(stream, bytes) else stream]
            for entry_id, fields in entries:
                self._last[crew] = entry_id
                envelope = Envelope.decode(fields[b"env"])
                if envelope is None or envelope.sender == "equipage" or not envelope.cause:
                    continue
                self.counts[crew] += 1
                if envelope.cause in self._answered:
                    continue  # not the first reply to that message
                self._answered.add(envelope.cause)
                future = self._waiting.pop(envelope.cause, None)
                if future is not None and not future.done():
                    future.set_result(now)
                else:
                    self._arrived[envelope.cause] = now


async def key_breakdown(redis: aioredis.Redis, namespace: str, crew: str) -> dict[str, Any]:
    """One crew's keys by kind (the key's first part after the hash tag): count, type, bytes
    (``MEMORY USAGE``), and the consumer groups of its streams."""
    prefix = Keys(crew, namespace).prefix
    kinds: dict[str, dict[str, Any]] = {}
    async for raw in redis.scan_iter(match=prefix.replace("[", "\\[") + "*", count=500):
        key = _text(raw)
        kind = key.removeprefix(prefix).split(":")[0]
        found = kinds.setdefault(kind, {"keys": 0, "bytes": 0, "types": set(), "groups": 0})
        found["keys"] += 1
        found["bytes"] += await redis.memory_usage(key, samples=0) or 0
        kind_type = _text(await redis.type(key))
        found["types"].add(kind_type)
        if kind_type == "stream":
            found["groups"] += len(await redis.xinfo_groups(key))
    by_kind = {
        name: {**figures, "types": sorted(figures["types"])}
        for name, figures in sorted(kinds.items(), key=lambda item: -item[1]["bytes"])
    }
    return {
        "crew": crew,
        "keys": sum(f["keys"] for f in kinds.values()),
        "bytes": sum(f["bytes"] for f in kinds.values()),
        "by_kind": by_kind,
    }


async def farm_keys(redis: aioredis.Redis, namespace: str, crews: int) -> dict[str, Any]:
    """The farm's own keys (registry, people, wake-ups, busy set) by kind: count, bytes, and
    their bytes per crew (``crews`` of them)."""
    kinds: dict[str, dict[str, int]] = {}
    farm_tag = FarmKeys(namespace).prefix.split("}")[0]  # "<ns>:{.farm": every shard's too
    async for raw in redis.scan_iter(match=f"{farm_tag}*", count=500):
        key = _text(raw)
        # One set per crew lists its people: counted together.
        kind = re.sub(r":crew-people:.*", ":crew-people:*", key.removeprefix(f"{namespace}:"))
        found = kinds.setdefault(kind, {"keys": 0, "bytes": 0})
        found["keys"] += 1
        found["bytes"] += await redis.memory_usage(key, samples=0) or 0
    total = sum(found["bytes"] for found in kinds.values())
    by_kind = dict(sorted(kinds.items(), key=lambda item: -item[1]["bytes"]))
    return {"bytes": total, "bytes_per_crew": round(total / max(crews, 1)), "by_kind": by_kind}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def hand_over(redis: aioredis.Redis, namespace: str, crews: Sequence[str]) -> None:
    """Read and acknowledge every crew's outbox in the gateway's group."""
    for crew in crews:
        outbox = Keys(crew, namespace).outbox
        while True:
            reply: Any = await redis.xreadgroup(GATEWAY_GROUP, "bench", {outbox: ">"}, count=500)
            ids = [entry_id for _, entries in reply or [] for entry_id, _ in entries]
            if not ids:
                break
            await redis.xack(outbox, GATEWAY_GROUP, *ids)


async def none_busy(redis: aioredis.Redis, pool: Pool) -> bool:
    """True once the sweep has let every crew go: none is left in the busy set."""
    return not await redis.zcard(pool.sweep.farm.busy)


async def idle_cpu(redis: aioredis.Redis, *, seconds: float) -> dict[str, float]:
    """CPU of this process (the pool) and of Redis over ``seconds`` with nothing to do."""
    server: Any = await redis.info("cpu")
    process = time.process_time()
    await asyncio.sleep(seconds)  # the measuring window itself, not a wait for a state
    spent = time.process_time() - process
    now: Any = await redis.info("cpu")
    used = sum(float(now[k]) - float(server[k]) for k in ("used_cpu_sys", "used_cpu_user"))
    return {
        "seconds": seconds,
        "pool_cpu_percent": round(100 * spent / seconds, 3),
        "redis_cpu_percent": round(100 * used / seconds, 3),
    }


async def memory_figures(redis: aioredis.Redis) -> dict[str, int]:
    """Redis's memory and keys, and this process's RSS and live objects, now."""
    info = await redis.info("memory")
    clients = await redis.info("clients")
    return {
        "used_memory": int(info["used_memory"]),
        "clients_memory": int(info["mem_clients_normal"]),
        "scripts_memory": int(info.get("used_memory_scripts", 0)),
        "keys": int(await redis.dbsize()),
        "connected_clients": int(clients["connected_clients"]),
        "rss": rss_bytes(),
        # Objects the collector tracks: if they grow with crews unloaded, something holds on.
        "python_objects": len(gc.get_objects()),
    }
