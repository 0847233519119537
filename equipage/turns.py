"""An agent thread's turn: one envelope of a thread handled at a time, in publish order.

A worker takes a thread's turn for one entry with a lease (``Keys.lock``) when no other
worker holds it and no earlier entry of the thread (``Keys.order``) is left unhandled; it
renews the lease while the turn runs and releases it at the end (the bus's commit releases
it too). ``Turns`` is the bus's part that does this; ``Bus`` inherits it.

A turn granted when the entry was written (``equipage.entries``) belongs to whoever has the
entry in the consumer group: its first reader runs it without asking, and a worker that
finds the grant in its way frees it when the entry is its own now (reclaimed from a worker
that stopped), settled, or held by a worker that stopped beating.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

from equipage.entries import GRANTED, TAKEN_FOR, Delivery, delivery_of, text
from equipage.keys import Keys
from equipage.lease import RELEASE, RENEW

__all__ = ["Begun", "Forsaken", "Turn", "Turns"]

# Takes an agent thread's turn for one entry. KEYS: done, lease, order list, attempts.
# ARGV: lease token, lease ttl (ms), entry id, attempts field. Answers {state, detail}:
# done (already committed), busy (detail: the token of the worker holding the thread),
# behind (detail: an earlier entry of the thread not handled yet), go (detail: this
# attempt's number).
_BEGIN_TURN = """
if redis.call('EXISTS', KEYS[1]) == 1 then return {'done', ''} end
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[1] then return {'busy', holder} end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
local head = redis.call('LINDEX', KEYS[3], 0)
if head and head ~= ARGV[3] then
  local hm, hs = string.match(head, '(%d+)-(%d+)')
  local em, es = string.match(ARGV[3], '(%d+)-(%d+)')
  hm, hs, em, es = tonumber(hm), tonumber(hs), tonumber(em), tonumber(es)
  if hm < em or (hm == em and hs < es) then return {'behind', head} end
end
return {'go', tostring(redis.call('HINCRBY', KEYS[4], ARGV[4], 1))}
"""


#: Told a lease token and the consumer that holds it: True when that consumer is the
#: caller and none of its runs holds the token any more (see ``Worker``).
Forsaken = Callable[[str, str], bool]


def _kept(token: str, owner: str) -> bool:
    return False


@dataclass(frozen=True)
class Turn:
    """An agent thread's turn a worker holds: its thread key and its lease token.

    The token starts with the worker's consumer name and a space, so a worker that finds
    the thread held can tell whether its holder is still alive.
    """

    thread: str
    token: str


@dataclass(frozen=True)
class Begun:
    """What ``Bus.begin_turn`` found: ``go`` (with ``attempt``), ``done``, ``busy``, or
    ``behind`` an earlier entry of the same thread (``head``)."""

    state: str
    attempt: int = 0
    head: str = ""


class Turns:
    """Begin, renew, release and skip a thread's turn; take over an earlier entry."""

    redis: aioredis.Redis
    keys: Keys
    group: str
    lease_ttl: float
    visibility_timeout: float
    #: A worker whose heartbeat is older than this is gone: its entries are taken over.
    heartbeat_stale: float

    @cached_property
    def _begin_turn(self) -> AsyncScript:
        return self.redis.register_script(_BEGIN_TURN)

    @cached_property
    def _release(self) -> AsyncScript:
        return self.redis.register_script(RELEASE)

    async def begin_turn(
        self, delivery: Delivery, turn: Turn, *, forsaken: Forsaken = _kept
    ) -> Begun:
        """Take ``turn``'s thread for ``delivery`` and count an attempt, if it is its turn.

        Its turn comes when no other worker holds the thread and no earlier envelope of
        the thread is left unhandled: a message never overtakes one a dead worker left.
        """
        assert delivery.envelope is not None
        reply: Any = await self._begin_turn(
            keys=[
                self.keys.done(delivery.envelope.id),
                self.keys.lock(turn.thread),
                self.keys.order(turn.thread),
                self.keys.attempts,
            ],
            args=[turn.token, int(self.lease_ttl * 1000), delivery.entry_id, delivery.key],
        )
        state, detail = text(reply[0]), text(reply[1])
        if state == "go":
            return Begun("go", attempt=int(detail))
        if state == "busy" and await self._lapsed(delivery, detail, forsaken):
            # Its holder died (a SIGKILL frees nothing), or it is the caller's own and no
            # run of the caller's has it (cut short while Redis was away, its release lost):
            # take the thread now rather than when the lease lapses. Only that exact token
            # is removed.
            await self._release(keys=[self.keys.lock(turn.thread)], args=[detail])
        return Begun(state, head=detail if state == "behind" else "")

    async def _lapsed(self, delivery: Delivery, holder: str, forsaken: Forsaken) -> bool:
        """True when the lease ``holder`` has is nobody's any more: its worker is gone or
        forsook it, or the entry it was taken (or granted) for is settled, now
        ``delivery``'s own, now another worker's, or untouched past the visibility timeout.

        A taken lease's token is ``<consumer> <random>@<entry id>`` (``Worker.draw``), a
        grant's ``granted@<entry id>``: a worker alive and beating whose run was cut short
        (Redis away) could not release its lease, and the reclaimer of that entry must not
        wait for the lease to lapse.
        """
        if holder.startswith(GRANTED):
            owner, entry = "", holder.removeprefix(GRANTED)
        else:
            owner, _, drawn = holder.rpartition(" ")
            entry = drawn.partition(TAKEN_FOR)[2]
            if forsaken(holder, owner):
                return True
            if not entry:
                return await self._gone(owner)
        if entry == delivery.entry_id:
            # This is a later delivery of that entry: the consumer group gave it here
            # because its first reader stopped (or stalled past the visibility timeout,
            # and then its writes are fenced off by the new token).
            return True
        pending: Any = await self.redis.xpending_range(delivery.stream, self.group, entry, entry, 1)
        if not pending:
            return True
        reader = text(pending[0]["consumer"])
        if owner and reader != owner:
            return True  # reclaimed from the lease's holder, whose writes are fenced off
        if pending[0]["time_since_delivered"] >= self.visibility_timeout * 1000:
            # A run touches its entry while it goes on (``Upkeep``): one untouched this long
            # is a run cut short (Redis away), or frozen, as a reclaimer would find it.
            return True
        return forsaken(holder, reader) or await self._gone(reader)

    async def _gone(self, consumer: str) -> bool:
        """True when ``consumer``'s process stopped beating (see ``Worker.run``)."""
        if not consumer:
            return False
        beat = await self.redis.zscore(self.keys.workers, consumer)
        return beat is None or time.time() - beat > self.heartbeat_stale

    async def renew_turn(self, turn: Turn) -> bool:
        """Extend the thread's lease while its turn runs; False if it was lost."""
        key = self.keys.lock(turn.thread)
        renewed = await self.redis.eval(RENEW, 1, key, turn.token, int(self.lease_ttl * 1000))
        return bool(renewed)

    async def renew_turns(self, turns: Sequence[Turn]) -> None:
        """Extend the leases of several turns in one round trip (a lost one stays lost)."""
        if not turns:
            return
        ttl = int(self.lease_ttl * 1000)
        async with self.redis.pipeline(transaction=False) as pipe:
            for turn in dict.fromkeys(turns):
                pipe.eval(RENEW, 1, self.keys.lock(turn.thread), turn.token, ttl)
            await pipe.execute()

    async def release_turn(self, turn: Turn) -> None:
        """Free the thread for the next worker (the envelope stays pending)."""
        await self._release(keys=[self.keys.lock(turn.thread)], args=[turn.token])

    async def earlier(
        self, stream: str, head: str, turn: Turn, consumer: str
    ) -> Delivery | Literal["handled", "owned"]:
        """Take over ``head``, an earlier entry of ``turn``'s thread, if its worker is gone.

        Returns the entry, now claimed by ``consumer``; ``handled`` when it needs nothing
        (handled since, or deleted: it leaves the order list); ``owned`` when a live worker
        still has it (the caller waits for that worker to finish it).
        """
        order = self.keys.order(turn.thread)
        entries: Any = await self.redis.xrange(stream, head, head)
        delivery = delivery_of(stream, head, entries[0][1]) if entries else None
        pending: Any = await self.redis.xpending_range(stream, self.group, head, head, 1)
        finished = (
            delivery is None
            or delivery.envelope is None
            or not pending
            or bool(await self.redis.exists(self.keys.done(delivery.envelope.id)))
        )
        if finished:
            await self.redis.lrem(order, 1, head)
            return "handled"
        owner = text(pending[0]["consumer"])
        idle = pending[0]["time_since_delivered"] / 1000
        if owner != consumer and idle < self.visibility_timeout and not await self._gone(owner):
            return "owned"
        claimed: Any = await self.redis.xclaim(stream, self.group, consumer, 0, [head])
        if not claimed or not claimed[0][1]:
            return "handled"  # acknowledged (or deleted) between our reads
        return delivery_of(stream, head, claimed[0][1])

    async def skip(self, delivery: Delivery, turn: Turn) -> None:
        """Acknowledge an entry whose envelope another delivery already committed."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(delivery.stream, self.group, delivery.entry_id)
            pipe.lrem(self.keys.order(turn.thread), 1, delivery.entry_id)
            await pipe.execute()
