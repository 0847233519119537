"""The chaos harness's traffic: the founder's messages, published in order per thread
and retried while Redis is away, and what Redis shows of their progress."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from equipage.bus import Bus
from equipage.envelope import Envelope, Kind, Origin
from equipage.keys import CONSUMER_GROUP, Keys
from equipage.testing import wait_until
from tests.chaos.accounting import Sent, entries
from tests.chaos.worker_proc import COMPANY, FOUNDER, ROLES, token_of

__all__ = ["Publisher", "Watch", "idle", "ready", "silent"]


class Watch:
    """Follows the outbox and dead letters: which tokens are settled, and when last.

    ``crews`` are more crews (a farm's) whose outboxes and dead letters it follows too.
    """

    def __init__(self, redis: aioredis.Redis, keys: Keys, crews: Sequence[Keys] = ()) -> None:
        self.redis = redis
        self.keys = keys
        self.crews = [keys, *crews]
        self.settled: set[str] = set()
        self.acked: dict[str, Sent] = {}
        self.last_progress = time.monotonic()
        self._after = {s: "-" for k in self.crews for s in (k.outbox, k.dead)}
        self._dead = {k.dead for k in self.crews}
        self._changed = asyncio.Condition()

    @property
    def open(self) -> int:
        return len(self.acked.keys() - self.settled)

    async def explain(self, most: int = 3) -> list[str]:
        """What holds up to ``most`` open envelopes, told when the run stalls."""
        return []

    async def poll(self) -> None:
        before = len(self.settled)
        with contextlib.suppress(RedisError, OSError):
            for stream, after in self._after.items():
                async for entry_id, envelope in entries(self.redis, stream, after):
                    self._after[stream] = entry_id
                    if envelope is None:
                        continue
                    self.saw(stream, entry_id, envelope)
                    if stream in self._dead or envelope.text.startswith("done: "):
                        self.settled.add(token_of(envelope.text))
        if len(self.settled) > before:
            self.last_progress = time.monotonic()
            async with self._changed:
                self._changed.notify_all()

    def saw(self, stream: str, entry_id: str, envelope: Envelope) -> None:
        """Each entry as it is read: a failover's watch keeps what a gateway would have sent."""

    async def until(self, predicate: Callable[[], bool]) -> None:
        """Until ``predicate`` holds, checked after each settled envelope (``poll``)."""
        async with self._changed:
            await self._changed.wait_for(predicate)

    async def idle(self) -> bool:
        """True when no inbox has anything pending or unread."""
        return await idle(self.redis, self.keys)

    async def silent(self, pids: list[int], stall: float) -> list[str]:
        """Consumer names of the workers ``pids`` that have not read for over ``stall`` s."""
        return await silent(self.redis, self.keys, pids, stall)


def _envelope(thread: str, text: str, company: str = COMPANY) -> Envelope:
    chat = thread.removeprefix("console:")
    return Envelope(
        kind=Kind.TASK,
        company=company,
        to="ceo",
        sender=FOUNDER,
        thread=thread,
        text=text,
        origin=Origin(channel="console", chat=chat, member="alice"),
    )


class Publisher:
    """Publishes each thread's messages in order, retrying a publish that raised."""

    def __init__(
        self, bus: Bus, watch: Watch, backlog: int, rng: random.Random, delegate: float
    ) -> None:
        self.bus = bus
        self.delegate = delegate
        self.watch = watch
        self.backlog = backlog
        self.rng = rng
        self.retries = 0
        self.admitted = 0
        self.sent: list[Sent] = []

    def bus_for(self, index: int) -> Bus:
        """The bus thread ``index`` is published on (a farm's publisher picks a crew's)."""
        return self.bus

    async def thread(self, index: int, count: int) -> None:
        thread = f"console:chaos-{index:05d}"
        bus = self.bus_for(index)
        # Counted when admitted, not when published: every thread starts at once.
        await self.watch.until(lambda: self.admitted - len(self.watch.settled) < self.backlog)
        self.admitted += count
        for seq in range(count):
            token = f"t{index:05d}-{seq:03d}"
            delegated = self.rng.random() < self.delegate
            text = f"delegate {token}" if delegated else token
            envelope = _envelope(thread, text, bus.keys.company)
            delay = 0.02
            while True:
                try:
                    await bus.publish(envelope)
                    break
                except (RedisError, OSError):
                    # Not acknowledged: it may or may not be in; the same envelope (same id)
                    # again, as a channel's retry would send it.
                    self.retries += 1
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 0.5)
            item = Sent(token, thread, seq, envelope.id, time.time(), bus.keys.company)
            self.sent.append(item)
            self.watch.acked[token] = item
            # Some messages follow at once, some after a moment: both queue behind a turn.
            await asyncio.sleep(self.rng.choice((0.0, 0.0, 0.01, 0.05)))

    async def all(self, envelopes: int, per_thread: int) -> None:
        threads = [
            self.thread(i, min(per_thread, envelopes - i * per_thread))
            for i in range((envelopes + per_thread - 1) // per_thread)
        ]
        await asyncio.gather(*threads)


async def idle(redis: aioredis.Redis, keys: Keys) -> bool:
    """True when every inbox has nothing pending and nothing unread."""
    with contextlib.suppress(RedisError, OSError):
        for role in ROLES:
            groups: Any = await redis.xinfo_groups(keys.inbox(role))
            info: Any = await redis.xinfo_stream(keys.inbox(role))
            group = groups[0]
            if group["pending"] or group["last-delivered-id"] != info["last-generated-id"]:
                return False
        return True
    return False


async def silent(redis: aioredis.Redis, keys: Keys, pids: list[int], stall: float) -> list[str]:
    """Consumer names of the workers ``pids`` idle in every inbox for over ``stall`` s."""
    names = {f"{socket.gethostname()}-{pid}" for pid in pids}
    quiet: dict[str, float] = {}
    with contextlib.suppress(RedisError, OSError):
        for role in ROLES:
            consumers: Any = await redis.xinfo_consumers(keys.inbox(role), CONSUMER_GROUP)
            for consumer in consumers:
                name = consumer["name"].decode()
                quiet[name] = min(quiet.get(name, float("inf")), consumer["idle"] / 1000)
        return sorted(n for n in names if quiet.get(n, 0.0) > stall)
    return []


async def ready(redis: aioredis.Redis, keys: Keys, processes: int, within: float) -> None:
    """Until every worker has said it is alive once."""

    async def alive() -> bool:
        return bool(await redis.zcard(keys.workers) >= processes)

    await wait_until(alive, timeout=within, interval=0.05, what=f"{processes} workers starting")
