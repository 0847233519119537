"""Keeping the bus's streams and groups small: handled entries and departed consumers go.

An inbox keeps every envelope ever handled unless trimmed; a consumer group keeps every
consumer a SIGKILLed process left. ``Housekeeping`` is the bus's part that removes them,
never an entry or a consumer that a live worker may still need; ``Bus`` inherits it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

import redis.asyncio as aioredis

from equipage.entries import text
from equipage.keys import Keys

__all__ = ["Housekeeping"]

log = logging.getLogger(__name__)

# KEYS: stream. ARGV: idle limit (ms). Every group of the stream, so the gateway's outbox
# group is cleaned as the workers' inbox groups are. Returns "group consumer" per removal.
_FORGET_IDLE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
local removed = {}
for _, group in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local name
  for i = 1, #group, 2 do
    if group[i] == 'name' then name = group[i + 1] end
  end
  for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], name)) do
    local f = {}
    for i = 1, #consumer, 2 do f[consumer[i]] = consumer[i + 1] end
    if f['pending'] == 0 and f['idle'] >= tonumber(ARGV[1]) then
      redis.call('XGROUP', 'DELCONSUMER', KEYS[1], name, f['name'])
      table.insert(removed, name .. ' ' .. f['name'])
    end
  end
end
return removed
"""


class Housekeeping:
    """Trim handled entries of a stream; forget the consumers of departed processes."""

    redis: aioredis.Redis
    keys: Keys
    group: str

    async def trim(self, stream: str, *, keep_seconds: float) -> None:
        """Drop acknowledged entries older than ``keep_seconds``; pending or unread ones stay.

        Without this an inbox keeps every envelope ever handled. Events and the
        dead-letter stream keep the history worth keeping.
        """
        summary: Any = await self.redis.xpending(stream, self.group)
        groups: Any = await self.redis.xinfo_groups(stream)
        group = next((g for g in groups if text(g["name"]) == self.group), None)
        if group is None:
            return
        # Everything below the oldest pending entry, or else up to the last one delivered
        # to the group, has been acknowledged.
        safe = _id(summary["min"]) if summary["pending"] else _id(group["last-delivered-id"])
        cutoff = (int((time.time() - keep_seconds) * 1000), 0)
        limit = min(safe, cutoff)
        if limit > (0, 0):
            await self.redis.xtrim(stream, minid=f"{limit[0]}-{limit[1]}", approximate=False)

    async def forget_departed(
        self, streams: Iterable[str], *, idle_seconds: float = 3600.0
    ) -> list[str]:
        """Remove the consumers and heartbeats that processes gone for good left behind.

        A SIGKILLed process never leaves: its consumer stays in every group of
        ``streams`` (inboxes and the outbox alike) and its name in ``workers``. A consumer
        idle for ``idle_seconds`` is removed only while it holds no pending entry, checked
        in the script that deletes it: XGROUP DELCONSUMER drops the deleted consumer's
        pending entries, and those must stay for XAUTOCLAIM to hand to a live worker.
        Returns ``stream group consumer`` for each consumer removed.
        """
        forget = self.redis.register_script(_FORGET_IDLE)
        removed: list[str] = []
        for stream in streams:
            reply: Any = await forget(keys=[stream], args=[int(idle_seconds * 1000)])
            removed += [f"{stream} {text(entry)}" for entry in reply]
        await self.redis.zremrangebyscore(self.keys.workers, "-inf", time.time() - idle_seconds)
        if removed:
            log.info("removed %d departed consumer(s): %s", len(removed), ", ".join(removed))
        return removed


def _id(value: bytes | str) -> tuple[int, int]:
    ms, _, seq = text(value).partition("-")
    return int(ms), int(seq or 0)
