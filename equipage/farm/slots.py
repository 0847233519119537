"""A farm crew's quota of runs at once, held across every process of the pool.

Each run of a crew holds a slot in the crew's ``runs`` sorted set (``Keys.runs``): its
process, stream and entry, scored with when it lapses. Taking new entries (``take``) and
holding their slots is one script on the crew's hash tag, so two processes never both take
the last slot. A process renews its slots while their runs go on (``renew``, from the pool's
beat) and frees each when its run ends (``leave``); a process that dies stops renewing, and
its slots lapse as its entries become reclaimable. A process that finds the quota taken
leaves a flag (``Keys.runs_wanted``): the next run of the crew to end, in any process, says
so, and that process serves the crew again instead of leaving its entries to the sweep.
Times are the server's (``TIME``), the same clock for every process.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from equipage.entries import Delivery, delivery_of, text
from equipage.keys import CONSUMER_GROUP, Keys

__all__ = ["RunSlots"]

# Reads up to ARGV[3] new entries of one crew across its streams, starting with the
# stream at ARGV[4], in the workers' group, and holds a run slot for each: no more than
# the crew's quota of runs at once (ARGV[5]) are held in all the pool's processes together.
# KEYS: paused flag, runs, runs wanted, then the streams. ARGV: group, consumer, count,
# first stream, quota of runs, slot ttl (ms). Answers -1 when the crew is paused, -2 when
# its quota is taken (the next run to end is told, by the runs-wanted flag), else the
# entries as {stream, id, fields}. A slot lapses ``slot ttl`` after it was last renewed
# (its process died); the server's clock times it, the same for every process.
_TAKE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local left = math.min(tonumber(ARGV[3]), tonumber(ARGV[5]) - redis.call('ZCARD', KEYS[2]))
if left <= 0 then
  redis.call('SET', KEYS[3], '1', 'PX', ARGV[6])
  return -2
end
local lapses = now + tonumber(ARGV[6])
local n = #KEYS - 3
local found = {}
for i = 0, n - 1 do
  if left <= 0 then break end
  local stream = KEYS[4 + (tonumber(ARGV[4]) + i) % n]
  local got = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', left,
                         'STREAMS', stream, '>')
  if got then
    for _, entry in ipairs(got[1][2]) do
      found[#found + 1] = {stream, entry[1], entry[2]}
      redis.call('ZADD', KEYS[2], lapses, ARGV[2] .. ' ' .. stream .. ' ' .. entry[1])
      left = left - 1
    end
  end
end
return found
"""

# How many run slots the crew has free (its quota, ARGV[1], less those held); sets the
# runs-wanted flag for ARGV[2] ms when none. KEYS: runs, runs wanted.
_FREE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local free = tonumber(ARGV[1]) - redis.call('ZCARD', KEYS[1])
if free <= 0 then redis.call('SET', KEYS[2], '1', 'PX', ARGV[2]) end
return free
"""

# Holds (ARGV[2] 'NX': new) or renews ('XX': still held) the run slots ARGV[3...] for
# ARGV[1] ms from now. KEYS: runs.
_HOLD = """
local t = redis.call('TIME')
local lapses = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
for i = 3, #ARGV do redis.call('ZADD', KEYS[1], ARGV[2], lapses, ARGV[i]) end
return #ARGV - 2
"""

# A run ended: its slot is freed; answers 1 when a process found the quota taken since.
# KEYS: runs, runs wanted. ARGV: the slot.
_ENDED = """
redis.call('ZREM', KEYS[1], ARGV[1])
return redis.call('DEL', KEYS[2])
"""


class RunSlots:
    """The run slots of the crews one pool process serves."""

    def __init__(self, redis: aioredis.Redis, consumer: str, *, lapse: float) -> None:
        self.redis = redis
        self.consumer = consumer
        self._lapse_ms = max(int(lapse * 1000), 1)
        #: Seconds between renewals: three before a slot would lapse.
        self.renew_every = self._lapse_ms / 3000
        self._take = redis.register_script(_TAKE)
        self._free = redis.register_script(_FREE)
        self._hold = redis.register_script(_HOLD)
        self._ended = redis.register_script(_ENDED)
        #: The slots this process holds, by crew, and when it last renewed them.
        self._held: dict[str, set[str]] = {}
        self._renewed: dict[str, float] = {}

    def name(self, delivery: Delivery) -> str:
        """The slot of ``delivery`` (as ``_TAKE`` names it)."""
        return f"{self.consumer} {delivery.stream} {delivery.entry_id}"

    async def take(
        self, keys: Keys, streams: Sequence[str], quota: int, count: int, first: int
    ) -> list[Delivery] | None:
        """Up to ``count`` new entries of the crew, its streams read from ``first`` on, each
        with its slot held; fewer when the crew's quota is nearly taken, none when it is.
        None when its owner paused it."""
        reply: Any = await self._take(
            keys=[keys.paused, keys.runs, keys.runs_wanted, *streams],
            args=[CONSUMER_GROUP, self.consumer, count, first, quota, self._lapse_ms],
        )
        if isinstance(reply, int):
            # Paused by its owner; or its quota of runs is taken by other processes, and
            # the first of those runs to end has this crew served again.
            return None if reply == -1 else []
        found = []
        for stream, entry_id, flat in reply:
            fields = dict(zip(flat[::2], flat[1::2], strict=True))
            found.append(delivery_of(text(stream), entry_id, fields, first=True))
        return found

    async def free(self, keys: Keys, quota: int) -> int:
        """How many more runs the crew may start now, in all the pool's processes."""
        args = [quota, self._lapse_ms]
        return int(await self._free(keys=[keys.runs, keys.runs_wanted], args=args))

    async def hold(self, keys: Keys, deliveries: Sequence[Delivery]) -> None:
        """Hold the slots of entries taken otherwise than by ``take`` (reclaimed ones).

        Counted after ``free`` said there was room, not atomically with it: processes
        reclaiming one crew at the same instant may pass its quota for as long as those
        runs last. Reclaiming is rare (a process died), new entries go through ``take``.
        """
        if deliveries:
            slots = [self.name(delivery) for delivery in deliveries]
            await self._hold(keys=[keys.runs], args=[self._lapse_ms, "NX", *slots])

    def enter(self, keys: Keys, delivery: Delivery) -> str:
        """Note that this process runs ``delivery`` (its slot is held): renewed from now."""
        slot = self.name(delivery)
        self._held.setdefault(keys.company, set()).add(slot)
        return slot

    async def leave(self, keys: Keys, slot: str) -> bool:
        """Free the slot of a run that ended; True when a process found the quota taken
        meanwhile (the caller serves the crew again)."""
        held = self._held.get(keys.company, set())
        held.discard(slot)
        if not held:
            self._held.pop(keys.company, None)
        try:
            return bool(await self._ended(keys=[keys.runs, keys.runs_wanted], args=[slot]))
        except RedisError:
            return False  # it lapses on its own; the sweep finds what waits

    async def renew(self, keys: Keys) -> None:
        """Keep the slots of this process's runs of the crew from lapsing."""
        now = time.monotonic()
        held = self._held.get(keys.company)
        if not held or now - self._renewed.get(keys.company, float("-inf")) < self.renew_every:
            return
        self._renewed[keys.company] = now
        await self._hold(keys=[keys.runs], args=[self._lapse_ms, "XX", *held])
