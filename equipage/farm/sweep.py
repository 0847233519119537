"""The pool's sweep: what a lost wake-up or a dead process left in a busy crew's streams.

Every few seconds a pool process looks at the crews marked busy (``FarmKeys.busy``), and
only at them: an idle crew is never looked at. For each, one script on the crew's own hash
tag tells whether its inboxes or its outbox hold unread entries, or entries pending past
the visibility timeout (their worker died). Those crews are handed to the pool as if woken;
a crew with nothing unread and nothing pending, marked long enough ago, leaves the busy set.

Leaving is guarded by the mark's time: a producer marks the crew before it writes, so a
crew marked within ``grace`` seconds stays, even if its envelope is not written yet.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from equipage.keys import CONSUMER_GROUP, GATEWAY_GROUP, FarmKeys, Keys

__all__ = ["Found", "Sweep"]

# KEYS: the crew's streams (every key a script touches is named: a cluster routes by them).
# ARGV: the workers' group, the gateway's group, the outbox, the visibility timeout (ms).
# Answers {work unread, work stalled, out unread, out stalled, pending}: 1/0 flags and the
# number of entries pending in any group.
_LOOK = """
local function newer(a, b)
  local am, as = string.match(a, '(%d+)-(%d+)')
  local bm, bs = string.match(b, '(%d+)-(%d+)')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am > bm or (am == bm and as > bs)
end
local found = {0, 0, 0, 0, 0}
for _, stream in ipairs(KEYS) do
  local out = stream == ARGV[3]
  local group = out and ARGV[2] or ARGV[1]
  local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', stream)
  local mine = false
  if ok then
    for _, g in ipairs(groups) do
      local f = {}
      for i = 1, #g, 2 do f[g[i]] = g[i + 1] end
      if f['name'] == group then
        mine = true
        local unread = false
        if f['lag'] then
          unread = tonumber(f['lag']) > 0
        else
          local last = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
          unread = #last > 0 and newer(last[1][1], f['last-delivered-id'])
        end
        local pending = tonumber(f['pending'])
        local stalled = false
        if pending > 0 then
          found[5] = found[5] + pending
          local idle = redis.call('XPENDING', stream, group, 'IDLE', ARGV[4], '-', '+', 1)
          stalled = #idle > 0
        end
        local at = out and 3 or 1
        if unread then found[at] = 1 end
        if stalled then found[at + 1] = 1 end
      end
    end
  end
  -- Written before any pool made its group (a crew never loaded): all of it is unread.
  if not mine and redis.call('XLEN', stream) > 0 then found[out and 3 or 1] = 1 end
end
return found
"""

# KEYS: busy. ARGV: crew, the mark's time as read. Removes the crew only if not marked since.
_LEAVE = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
return 0
"""


@dataclass(frozen=True)
class Found:
    """What one look at a busy crew found."""

    crew: str
    work: bool = False
    work_stalled: bool = False
    out: bool = False
    out_stalled: bool = False
    pending: int = 0

    @property
    def todo(self) -> bool:
        """Something to read or to take back: the pool should serve the crew."""
        return self.work or self.work_stalled or self.out or self.out_stalled

    @property
    def idle(self) -> bool:
        return not (self.todo or self.pending)


class Sweep:
    """Looks at the busy crews of one farm; forgets those that are done."""

    def __init__(
        self,
        redis: aioredis.Redis,
        namespace: str,
        *,
        visibility_timeout: float = 60.0,
        grace: float = 30.0,
    ) -> None:
        self.redis = redis
        self.namespace = namespace
        self.farm = FarmKeys(namespace)
        self.visibility_timeout = visibility_timeout
        self.grace = grace
        self._look = redis.register_script(_LOOK)
        self._leave = redis.register_script(_LEAVE)
        #: crew -> (when read, its streams), for the busy crews only.
        self._known: dict[str, tuple[float, list[str]]] = {}

    async def busy(self) -> list[tuple[str, float]]:
        reply: Any = await self.redis.zrange(self.farm.busy, 0, -1, withscores=True)
        return [(_text(name), float(score)) for name, score in reply]

    async def look(self, crew: str, *, fresh: bool = False) -> Found:
        """What ``crew``'s streams hold; ``fresh`` reads the list of its streams again."""
        keys = Keys(crew, self.namespace)
        args: list[str | int] = [
            CONSUMER_GROUP,
            GATEWAY_GROUP,
            keys.outbox,
            int(self.visibility_timeout * 1000),
        ]
        streams = await self._streams_of(keys, fresh=fresh)
        if not streams:
            return Found(crew)
        reply: Any = await self._look(keys=streams, args=args)
        work, work_stalled, out, out_stalled, pending = (int(x) for x in reply)
        return Found(crew, bool(work), bool(work_stalled), bool(out), bool(out_stalled), pending)

    async def _streams_of(self, keys: Keys, *, fresh: bool) -> list[str]:
        """The crew's streams, read again a minute after they were last read (a crew's
        streams change when it is first served or gains a workflow, rarely after), or now
        if ``fresh``."""
        now = time.monotonic()
        known = self._known.get(keys.company)
        if fresh or known is None or now - known[0] > 60.0:
            members: Any = await self.redis.smembers(keys.streams)
            known = (now, sorted(_text(m) for m in members))
            if known[1]:  # none yet: its first writer is listing them now
                self._known[keys.company] = known
        return known[1]

    async def once(self) -> list[Found]:
        """Look at every busy crew; return those with something to do, forget the done.

        A crew whose entries are only pending, in a live worker's hands, is neither.
        """
        now = time.time()
        todo = []
        for crew, marked in await self.busy():
            try:
                found = await self.look(crew)
            except ValueError:  # not a crew id: nothing of it can be served
                await self.redis.zrem(self.farm.busy, crew)
                continue
            if found.todo:
                todo.append(found)
            elif found.idle and marked < now - self.grace:
                # Looked at once more, with its streams listed now, before it goes: the list
                # kept may be older than a stream that has work (a gateway listed the first
                # inbox, then a pool loaded the crew and a role delegated to another).
                found = await self.look(crew, fresh=True)
                if found.todo:
                    todo.append(found)
                if not found.idle:
                    continue
                await self._leave(keys=[self.farm.busy], args=[crew, repr(marked)])
                self._known.pop(crew, None)
        return todo


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
