"""The farm chaos run's crews and traffic: the single-crew traffic spread over many crews.

Thread ``i`` belongs to crew ``i mod K``, so every crew gets threads of its own, each
published in order as the single-crew run publishes them, through the crew's bus with the
farm's ``Waker`` (mark, publish, wake: what a gateway process does). Tokens stay unique
across the farm, so a reply on the wrong crew's outbox is seen.
"""

from __future__ import annotations

import contextlib
import random
import socket
import time
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from equipage.bus import Bus
from equipage.farm import Farm, Owner, Quotas
from equipage.farm.wake import POOL_GROUP, WORK
from equipage.keys import FarmKeys, Keys
from equipage.testing import wait_until
from tests.chaos.traffic import Publisher, Watch, idle
from tests.chaos.worker_proc import ROLES

__all__ = ["TEMPLATE", "FarmPublisher", "FarmWatch", "crew_names", "make_crews", "pool_ready"]

#: The single-crew run's company (``worker_proc.company``) as a farm template: the same
#: roles and the same member id ``alice``, whom the chaos model answers, in every crew.
TEMPLATE = """\
company:
  id: $crew
  name: $crew
  profile: {sells: hosting, languages: [$language]}
members:
  - id: alice
    name: $owner_name
    role: owner
    identities: $owner_identities
roles:
  ceo: {description: runs the company}
  cto: {description: runs the tech}
"""
#: The wake-up shards the pool processes read (``Pool``'s default).
SHARDS = 4
# A farm's outboxes are many streams: read every quarter second, not at each look.
_POLL_EVERY = 0.25


def crew_names(count: int) -> list[str]:
    return [f"crew{n:03d}" for n in range(count)]


async def make_crews(farm: Farm, count: int, runs: int) -> list[str]:
    """Create ``count`` crews from the chaos template, each allowed ``runs`` runs at once."""
    (farm.root / "templates" / "chaos.yaml").write_text(TEMPLATE, encoding="utf-8")
    names = crew_names(count)
    owner = Owner(platform="console", id="alice", name="Alice")
    for name in names:
        await farm.new_crew(
            name, owner=owner, template="chaos", quotas=Quotas(concurrent_runs=runs)
        )
    return names


class FarmWatch(Watch):
    """Follows every crew's outbox and dead letters; the pool's liveness is its wake-ups."""

    def __init__(self, redis: aioredis.Redis, crews: Sequence[Keys], namespace: str) -> None:
        super().__init__(redis, crews[0], crews[1:])
        self.farm = FarmKeys(namespace)
        self._polled = float("-inf")

    async def poll(self) -> None:
        now = time.monotonic()
        if now - self._polled >= _POLL_EVERY:
            self._polled = now
            await super().poll()

    async def idle(self) -> bool:
        for keys in self.crews:
            if not await idle(self.redis, keys):
                return False
        return True

    async def explain(self, most: int = 3) -> list[str]:
        # Imported here: the accounting builds crews, which the traffic does not need.
        from tests.chaos.accounting import unsettled

        waiting = self.acked.keys() - self.settled
        told: list[str] = []
        with contextlib.suppress(RedisError, OSError):
            for keys in self.crews:
                for role in ROLES:
                    held = await unsettled(self.redis, keys, keys.inbox(role))
                    told += [f"{token}: {why}" for token, why in held.items() if token in waiting]
        return told[:most]

    async def silent(self, pids: list[int], stall: float) -> list[str]:
        """Pool processes that have not read their wake-ups for over ``stall`` s: a pool
        reads no crew's inbox until woken, but waits on its wake-ups all the time."""
        names = {f"{socket.gethostname()}-{pid}" for pid in pids}
        quiet: dict[str, float] = {}
        with contextlib.suppress(RedisError, OSError):
            for shard in range(SHARDS):
                stream = self.farm.wake(WORK, shard)
                consumers: Any = await self.redis.xinfo_consumers(stream, POOL_GROUP)
                for consumer in consumers:
                    name = consumer["name"].decode()
                    quiet[name] = min(quiet.get(name, float("inf")), consumer["idle"] / 1000)
            return sorted(n for n in names if quiet.get(n, 0.0) > stall)
        return []


class FarmPublisher(Publisher):
    """Publishes thread ``i`` on crew ``i mod K``'s bus."""

    def __init__(
        self,
        buses: Sequence[Bus],
        watch: Watch,
        backlog: int,
        rng: random.Random,
        delegate: float,
    ) -> None:
        super().__init__(buses[0], watch, backlog, rng, delegate)
        self.buses = list(buses)

    def bus_for(self, index: int) -> Bus:
        return self.buses[index % len(self.buses)]


async def pool_ready(redis: aioredis.Redis, namespace: str, processes: int, within: float) -> None:
    """Until ``processes`` pool processes read their wake-ups."""
    stream = FarmKeys(namespace).wake(WORK, 0)

    async def reading() -> bool:
        with contextlib.suppress(RedisError):
            consumers: Any = await redis.xinfo_consumers(stream, POOL_GROUP)
            return len(consumers) >= processes
        return False  # its group is not made yet

    what = f"{processes} pool processes starting"
    await wait_until(reading, timeout=within, interval=0.05, what=what)
