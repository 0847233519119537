"""The bus: typed envelopes on Redis Streams with at-least-once delivery.

One inbox stream per role, read by the ``workers`` consumer group; one outbox for people.
A handler's effects (the envelopes it emits) are committed by one Lua script together
with the envelope's ``done`` marker and its XACK, so a redelivered envelope never repeats
its effects. Entries left pending by a dead worker are reclaimed with XAUTOCLAIM after the
visibility timeout; after ``max_attempts`` an envelope moves to the dead-letter stream
with its last error.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import redis.asyncio as aioredis
from pydantic import ValidationError
from redis.exceptions import ResponseError

from equipage.envelope import BUS_SENDER, Envelope, Kind
from equipage.events import Event, EventType
from equipage.failure_text import failure_text
from equipage.keys import CONSUMER_GROUP, GATEWAY_GROUP, Keys, thread_key
from equipage.lease import RELEASE, RENEW

__all__ = ["Begun", "Bus", "Delivery", "Turn"]

log = logging.getLogger(__name__)

# KEYS: stream, events, then the thread's order list for an inbox.
# ARGV: envelope, events maxlen, published event.
_PUBLISH = """
local id = redis.call('XADD', KEYS[1], '*', 'env', ARGV[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'event', ARGV[3])
if KEYS[3] then redis.call('RPUSH', KEYS[3], id) end
return id
"""

# KEYS: done, source stream, attempts, errors, events, source thread's order list, its
#       lease, then per output: its stream, and its thread's order list for an inbox.
# ARGV: group, entry id, envelope id, done ttl, events maxlen, handled event, lease token
#       ('' when the source stream is not ordered), then (envelope, event, ordered) triples.
# Answers 1 (committed), 0 (an earlier delivery had committed: nothing repeated) or -1
# (another worker holds the thread now, this one lost it while frozen: nothing written,
# the entry stays for that worker).
_COMMIT = """
if ARGV[7] ~= '' then
  local holder = redis.call('GET', KEYS[7])
  if holder and holder ~= ARGV[7] then return -1 end
end
local fresh = redis.call('SET', KEYS[1], ARGV[2], 'NX', 'EX', ARGV[4])
if fresh then
  local k = 8
  for a = 8, #ARGV, 3 do
    local id = redis.call('XADD', KEYS[k], '*', 'env', ARGV[a])
    redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[5], '*', 'event', ARGV[a + 1])
    if ARGV[a + 2] == '1' then
      redis.call('RPUSH', KEYS[k + 1], id)
      k = k + 2
    else
      k = k + 1
    end
  end
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[5], '*', 'event', ARGV[6])
end
redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[3])
redis.call('HDEL', KEYS[4], ARGV[3])
if ARGV[7] ~= '' then
  redis.call('LREM', KEYS[6], 1, ARGV[2])
  if redis.call('GET', KEYS[7]) == ARGV[7] then redis.call('DEL', KEYS[7]) end
end
if fresh then return 1 end
return 0
"""

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


@dataclass(frozen=True)
class Delivery:
    """One stream entry handed to a worker; ``envelope`` is None when it did not parse."""

    stream: str
    entry_id: str
    raw: bytes
    envelope: Envelope | None
    error: str = ""

    @property
    def key(self) -> str:
        """Id used for attempts and idempotency: the envelope's, else the entry's."""
        return self.envelope.id if self.envelope else f"entry-{self.entry_id}"


class Bus:
    """Publish, read, commit and dead-letter envelopes of one company."""

    def __init__(
        self,
        redis: aioredis.Redis,
        keys: Keys,
        *,
        max_attempts: int = 5,
        visibility_timeout: float = 60.0,
        events_maxlen: int = 10_000,
        done_ttl: int = 7 * 24 * 3600,
        group: str = CONSUMER_GROUP,
        lease_ttl: float = 30.0,
        heartbeat_stale: float = 10.0,
        language: str = "en",
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.max_attempts = max_attempts
        self.visibility_timeout = visibility_timeout
        self.events_maxlen = events_maxlen
        self.done_ttl = done_ttl
        self.group = group
        self.lease_ttl = lease_ttl
        self.language = language  # the company's: what the bus says to people follows it
        #: A worker whose heartbeat is older than this is gone: its entries are taken over.
        self.heartbeat_stale = heartbeat_stale
        self._publish = redis.register_script(_PUBLISH)
        self._commit = redis.register_script(_COMMIT)
        self._begin_turn = redis.register_script(_BEGIN_TURN)
        self._release = redis.register_script(RELEASE)

    # -- setup -----------------------------------------------------------------------
    async def ensure_groups(self, roles: Iterable[str]) -> None:
        """Create the consumer groups (and streams) if they do not exist yet."""
        streams = [(self.keys.inbox(role), self.group) for role in roles]
        streams.append((self.keys.outbox, GATEWAY_GROUP))
        for stream, group in streams:
            try:
                await self.redis.xgroup_create(stream, group, id="0", mkstream=True)
            except ResponseError as err:
                if "BUSYGROUP" not in str(err):
                    raise

    def stream_for(self, envelope: Envelope) -> str:
        return self.keys.outbox if envelope.for_human else self.keys.inbox(envelope.to)

    # -- producing ---------------------------------------------------------------------
    async def publish(self, envelope: Envelope) -> str:
        """Append an envelope to its stream (and an event); returns the entry id.

        An envelope for a role also joins its thread's order list, so the thread's
        envelopes are handled one at a time in the order they were published.
        """
        keys = [self.stream_for(envelope), self.keys.events]
        if not envelope.for_human:
            keys.append(self._order(envelope))
        args: list[str | bytes | int] = [
            envelope.encode(),
            self.events_maxlen,
            _event(EventType.PUBLISHED, envelope).encode(),
        ]
        return _text(await self._publish(keys=keys, args=args))

    def _order(self, envelope: Envelope) -> str:
        return self.keys.order(thread_key(envelope.to, envelope.thread))

    async def emit(self, event: Event) -> None:
        """Record a step that is not an envelope (a tool call, a model call...)."""
        await self.redis.xadd(
            self.keys.events,
            {"event": event.encode()},
            maxlen=self.events_maxlen,
            approximate=True,
        )

    # -- consuming ---------------------------------------------------------------------
    async def read(
        self, streams: Sequence[str], consumer: str, *, count: int = 10, block_ms: int = 1000
    ) -> list[Delivery]:
        """New entries for ``consumer`` from any of ``streams``, waiting up to ``block_ms``."""
        reply: Any = await self.redis.xreadgroup(
            self.group,
            consumer,
            streams=dict.fromkeys(streams, ">"),
            count=count,
            block=block_ms,
        )
        out: list[Delivery] = []
        for stream, entries in reply or []:
            for entry_id, fields in entries:
                out.append(_delivery(_text(stream), entry_id, fields))
        return out

    async def reclaim(self, stream: str, consumer: str, *, count: int = 10) -> list[Delivery]:
        """Take over entries that stayed pending longer than the visibility timeout."""
        min_idle = int(self.visibility_timeout * 1000)
        reply = await self.redis.xautoclaim(
            stream, self.group, consumer, min_idle_time=min_idle, start_id="0-0", count=count
        )
        claimed = reply[1]
        out = [_delivery(stream, entry_id, fields) for entry_id, fields in claimed if fields]
        # An entry deleted from the stream while pending comes back without fields:
        # nothing to redo, so it is acknowledged rather than retried forever.
        gone = [entry_id for entry_id, fields in claimed if not fields]
        if gone:
            await self.redis.xack(stream, self.group, *gone)
        for delivery in out:
            await self.emit(_event(EventType.RECLAIMED, delivery.envelope, detail=consumer))
        return out

    async def touch(self, delivery: Delivery, consumer: str) -> None:
        """Reset an in-flight entry's idle time so no other worker reclaims it."""
        await self.redis.xclaim(
            delivery.stream,
            self.group,
            consumer,
            min_idle_time=0,
            message_ids=[delivery.entry_id],
            justid=True,
        )

    async def trim(self, stream: str, *, keep_seconds: float) -> None:
        """Drop acknowledged entries older than ``keep_seconds``; pending or unread ones stay.

        Without this an inbox keeps every envelope ever handled. Events and the
        dead-letter stream keep the history worth keeping.
        """
        summary: Any = await self.redis.xpending(stream, self.group)
        groups: Any = await self.redis.xinfo_groups(stream)
        group = next((g for g in groups if _text(g["name"]) == self.group), None)
        if group is None:
            return
        # Everything below the oldest pending entry, or else up to the last one delivered
        # to the group, has been acknowledged.
        safe = _id(summary["min"]) if summary["pending"] else _id(group["last-delivered-id"])
        cutoff = (int((time.time() - keep_seconds) * 1000), 0)
        limit = min(safe, cutoff)
        if limit > (0, 0):
            await self.redis.xtrim(stream, minid=f"{limit[0]}-{limit[1]}", approximate=False)

    async def begin(self, delivery: Delivery) -> int:
        """Count one more attempt at handling this delivery; returns the attempt number."""
        return int(await self.redis.hincrby(self.keys.attempts, delivery.key, 1))

    # -- agent threads: one turn at a time, in order -------------------------------------
    async def begin_turn(self, delivery: Delivery, turn: Turn) -> Begun:
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
        state, detail = _text(reply[0]), _text(reply[1])
        if state == "go":
            return Begun("go", attempt=int(detail))
        if state == "busy" and await self._gone(detail.rpartition(" ")[0]):
            # Its holder died (a SIGKILL frees nothing): take the thread now rather than
            # when the lease lapses. Only that exact token is removed.
            await self._release(keys=[self.keys.lock(turn.thread)], args=[detail])
        return Begun(state, head=detail if state == "behind" else "")

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
        delivery = _delivery(stream, head, entries[0][1]) if entries else None
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
        owner = _text(pending[0]["consumer"])
        idle = pending[0]["time_since_delivered"] / 1000
        if owner != consumer and idle < self.visibility_timeout and not await self._gone(owner):
            return "owned"
        claimed: Any = await self.redis.xclaim(stream, self.group, consumer, 0, [head])
        if not claimed or not claimed[0][1]:
            return "handled"  # acknowledged (or deleted) between our reads
        return _delivery(stream, head, claimed[0][1])

    async def skip(self, delivery: Delivery, turn: Turn) -> None:
        """Acknowledge an entry whose envelope another delivery already committed."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(delivery.stream, self.group, delivery.entry_id)
            pipe.lrem(self.keys.order(turn.thread), 1, delivery.entry_id)
            await pipe.execute()

    async def commit(
        self, delivery: Delivery, outputs: Sequence[Envelope], turn: Turn | None = None
    ) -> bool:
        """Store the outputs, mark the envelope done and ack it, atomically.

        With ``turn``, the entry also leaves its thread's order list and the thread's lease
        is released. Returns False when an earlier delivery had already committed (nothing
        was repeated), or when another worker took the thread over (nothing written).
        """
        envelope = delivery.envelope
        assert envelope is not None, "a malformed delivery is dead-lettered, not committed"
        keys = [
            self.keys.done(envelope.id),
            delivery.stream,
            self.keys.attempts,
            self.keys.errors,
            self.keys.events,
            self.keys.order(turn.thread) if turn else delivery.stream,
            self.keys.lock(turn.thread) if turn else delivery.stream,
        ]
        args: list[str | bytes | int] = [
            self.group,
            delivery.entry_id,
            envelope.id,
            self.done_ttl,
            self.events_maxlen,
            _event(EventType.HANDLED, envelope).encode(),
            turn.token if turn else "",
        ]
        for out in outputs:
            keys.append(self.stream_for(out))
            ordered = not out.for_human
            if ordered:
                keys.append(self._order(out))
            args.extend([out.encode(), _event(EventType.PUBLISHED, out).encode(), int(ordered)])
        outcome = int(await self._commit(keys=keys, args=args))
        if outcome < 0:
            log.warning("%s: another worker holds its thread now; not committed", envelope.id)
            return False
        fresh = outcome == 1
        if not fresh:
            await self.emit(_event(EventType.DUPLICATE, envelope))
        return fresh

    async def fail(
        self,
        delivery: Delivery,
        error: str,
        attempt: int,
        turn: Turn | None = None,
        *,
        shown: str = "",
    ) -> bool:
        """Record a handler failure; dead-letter after the last attempt. True if dead.

        The entry stays pending (and first in its thread's order), so it is retried before
        anything later in its thread; ``turn``'s lease is released for that retry. The person
        it came from is told at the first failure, with ``shown`` (an error written for
        people), and again if it lands in the dead letters.
        """
        if attempt >= self.max_attempts:
            await self.dead_letter(delivery, error, attempt, turn, shown=shown)
            return True
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.errors, delivery.key, error)
            pipe.xadd(
                self.keys.events,
                {"event": _event(EventType.FAILED, delivery.envelope, detail=error).encode()},
                maxlen=self.events_maxlen,
                approximate=True,
            )
            if attempt == 1 and (notice := self._notice(delivery, shown, attempt)) is not None:
                pipe.xadd(self.keys.outbox, {"env": notice.encode()})
            await pipe.execute()
        if turn is not None:
            await self.release_turn(turn)
        return False

    async def last_error(self, delivery: Delivery) -> str:
        raw = await self.redis.hget(self.keys.errors, delivery.key)
        return _text(raw) if raw else ""

    async def dead_letter(
        self,
        delivery: Delivery,
        error: str,
        attempts: int,
        turn: Turn | None = None,
        *,
        shown: str = "",
    ) -> None:
        """Move a delivery to the dead-letter stream with its error, and ack it.

        When it came from a person's conversation, that person is told in the same
        transaction: a request never fails in silence. With ``turn``, the entry leaves its
        thread's order (what comes after it runs) and the thread's lease is released.
        """
        notice = self._notice(delivery, shown, attempts, dead=True)
        async with self.redis.pipeline(transaction=True) as pipe:
            if notice is not None:
                pipe.xadd(self.keys.outbox, {"env": notice.encode()})
            pipe.xadd(
                self.keys.dead,
                {
                    "env": delivery.raw,
                    "error": error,
                    "attempts": attempts,
                    "stream": delivery.stream,
                    "entry": delivery.entry_id,
                },
            )
            pipe.xack(delivery.stream, self.group, delivery.entry_id)
            pipe.hdel(self.keys.attempts, delivery.key)
            pipe.hdel(self.keys.errors, delivery.key)
            pipe.xadd(
                self.keys.events,
                {"event": _event(EventType.DEAD, delivery.envelope, detail=error).encode()},
                maxlen=self.events_maxlen,
                approximate=True,
            )
            if turn is not None:
                pipe.lrem(self.keys.order(turn.thread), 1, delivery.entry_id)
            await pipe.execute()
        if turn is not None:
            await self.release_turn(turn)
        log.warning(
            "envelope %s dead-lettered after %d attempts: %s", delivery.key, attempts, error
        )

    def _notice(
        self, delivery: Delivery, shown: str, attempts: int, *, dead: bool = False
    ) -> Envelope | None:
        """What the person whose conversation this came from is told, in their language."""
        envelope = delivery.envelope
        if envelope is None or envelope.origin is None or delivery.stream == self.keys.outbox:
            return None  # nobody to tell, or the telling itself is what failed
        text = failure_text(
            envelope.origin.language or self.language,
            kind=envelope.kind.value,
            to=envelope.to,
            error=shown,
            attempts=attempts,
            left=max(self.max_attempts - attempts, 0),
            entry=delivery.entry_id,
            dead=dead,
        )
        return Envelope(
            kind=Kind.REPLY,
            company=envelope.company,
            to="human",
            sender=BUS_SENDER,
            thread=envelope.thread,
            text=text,
            origin=envelope.origin,
            cause=envelope.id,
        )

    # -- housekeeping ----------------------------------------------------------------------
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
            removed += [f"{stream} {_text(entry)}" for entry in reply]
        await self.redis.zremrangebyscore(self.keys.workers, "-inf", time.time() - idle_seconds)
        if removed:
            log.info("removed %d departed consumer(s): %s", len(removed), ", ".join(removed))
        return removed


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


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _id(value: bytes | str) -> tuple[int, int]:
    ms, _, seq = _text(value).partition("-")
    return int(ms), int(seq or 0)


def _delivery(stream: str, entry_id: bytes | str, fields: dict[bytes, bytes]) -> Delivery:
    raw = fields.get(b"env", b"")
    try:
        envelope: Envelope | None = Envelope.decode(raw)
        error = ""
    except (ValidationError, json.JSONDecodeError, UnicodeDecodeError) as err:
        envelope = None
        error = f"malformed envelope: {err}".replace("\n", " ")[:500]
    return Delivery(
        stream=stream, entry_id=_text(entry_id), raw=raw, envelope=envelope, error=error
    )


def _event(kind: EventType, envelope: Envelope | None, *, detail: str = "") -> Event:
    if envelope is None:
        return Event(type=kind, detail=detail)
    if not detail and envelope.answer is not None:
        verdict = "approved" if envelope.answer.approved else "rejected"
        detail = f"{verdict} {envelope.answer.question_id} {envelope.answer.text}".strip()
    return Event(
        type=kind,
        envelope=envelope.id,
        kind=envelope.kind.value,
        sender=envelope.sender,
        to=envelope.to,
        thread=envelope.thread,
        detail=detail or envelope.text[:200],
    )
