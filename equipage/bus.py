"""The bus: typed envelopes on Redis Streams with at-least-once delivery.

One inbox stream per role, read by the ``workers`` consumer group; one outbox for people.
A handler's effects (the envelopes it emits) are committed by one Lua script together
with the envelope's ``done`` marker and its XACK, so a redelivered envelope never repeats
its effects. Entries left pending by a dead worker are reclaimed with XAUTOCLAIM after the
visibility timeout; after ``max_attempts`` an envelope moves to the dead-letter stream
with its last error.

Beside it: ``entries`` (the stream entry format, and ``Bus.script`` for a handler outside
the worker's turn that stores its state and sends in one step), ``turns`` (an agent
thread's turn, in order) and ``housekeeping`` (trimming, departed consumers).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from equipage.entries import (
    Delivery,
    Emitting,
    Signal,
    delivery_of,
    envelope_fields,
    event_fields,
    event_of,
    route,
    text,
)
from equipage.envelope import BUS_SENDER, Envelope, Kind
from equipage.events import Event, EventType
from equipage.failure_text import failure_text
from equipage.housekeeping import Housekeeping
from equipage.keys import CONSUMER_GROUP, GATEWAY_GROUP, Keys
from equipage.metrics import dead_lettered, stream_role
from equipage.turns import Begun, Turn, Turns

__all__ = ["Begun", "Bus", "Delivery", "Signal", "Turn"]

log = logging.getLogger(__name__)

# Sends the one staged envelope (see ``equipage.entries``); answers its entry id.
_PUBLISH = "return emit(1)"

# KEYS: done, source stream, attempts, errors, source thread's order list, its lease.
# ARGV: group, entry id, envelope id, done ttl, handled event, lease token ('' when the
#       source stream is not ordered). The outputs are the staged envelopes.
# Answers 1 (committed), 0 (an earlier delivery had committed: nothing repeated) or -1
# (another worker holds the thread now, this one lost it while frozen: nothing written,
# the entry stays for that worker).
_COMMIT = """
local holder = false
if ARGV[6] ~= '' then
  holder = redis.call('GET', KEYS[6])
  if holder and holder ~= ARGV[6] then return -1 end
end
local fresh = redis.call('SET', KEYS[1], ARGV[2], 'NX', 'EX', ARGV[4])
if fresh then
  for i = 1, staged do emit(i) end
  record(ARGV[5])
end
redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[3])
redis.call('HDEL', KEYS[4], ARGV[3])
if ARGV[6] ~= '' then
  redis.call('LREM', KEYS[5], 1, ARGV[2])
  if holder then redis.call('DEL', KEYS[6]) end  -- ours: nothing above writes it
end
if fresh then return 1 end
return 0
"""


class Bus(Turns, Housekeeping):
    """Publish, read, commit and dead-letter envelopes of one company.

    Its agent threads' turns (``begin_turn``, ``renew_turn``...) come from ``Turns``,
    ``trim`` and ``forget_departed`` from ``Housekeeping``.
    """

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
        signal: Signal | None = None,
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
        self.heartbeat_stale = heartbeat_stale
        #: A farm's pool is told of every envelope written (see ``entries.Signal``).
        self.signal = signal
        self._publish = self.script(_PUBLISH)
        self._commit = self.script(_COMMIT)

    # -- setup -----------------------------------------------------------------------
    async def ensure_groups(self, roles: Iterable[str]) -> None:
        """Create the consumer groups (and streams) if they do not exist yet."""
        streams = [(self.keys.inbox(role), self.group) for role in roles]
        streams.append((self.keys.outbox, GATEWAY_GROUP))
        await self.redis.sadd(self.keys.streams, *(stream for stream, _ in streams))
        for stream, group in streams:
            try:
                await self.redis.xgroup_create(stream, group, id="0", mkstream=True)
            except ResponseError as err:
                if "BUSYGROUP" not in str(err):
                    raise

    def stream_for(self, envelope: Envelope) -> str:
        return route(self.keys, envelope)[0]

    def script(self, body: str) -> Emitting:
        """A Lua script that changes its caller's own keys and sends envelopes, atomically.

        For a handler outside the worker's turn (a live call) whose state and messages must
        change together: ``body`` calls ``emit(i)`` for the i-th envelope it is given (see
        ``equipage.entries``), so the stream format stays the bus's.
        """
        return Emitting(self.redis, self.keys, body, maxlen=self.events_maxlen, signal=self.signal)

    # -- producing ---------------------------------------------------------------------
    async def publish(self, envelope: Envelope) -> str:
        """Append an envelope to its stream (and an event); returns the entry id.

        An envelope for a role also joins its thread's order list, so the thread's
        envelopes are handled one at a time in the order they were published.
        """
        if self.signal is not None:
            await self.signal.before(self.keys)
        return text(await self._publish(staged=[envelope]))

    async def emit(self, event: Event) -> None:
        """Record a step that is not an envelope (a tool call, a model call...)."""
        await self.redis.xadd(
            self.keys.events, event_fields(event), maxlen=self.events_maxlen, approximate=True
        )

    # -- consuming ---------------------------------------------------------------------
    async def read(
        self,
        streams: Sequence[str],
        consumer: str,
        *,
        count: int = 10,
        block_ms: int | None = 1000,
    ) -> list[Delivery]:
        """New entries for ``consumer`` from any of ``streams``, waiting up to ``block_ms``
        (None: answers at once, for a farm's pool that was told there is work)."""
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
                out.append(delivery_of(text(stream), entry_id, fields, first=True))
        return out

    async def reclaim(self, stream: str, consumer: str, *, count: int = 10) -> list[Delivery]:
        """Take over entries that stayed pending longer than the visibility timeout."""
        min_idle = int(self.visibility_timeout * 1000)
        reply = await self.redis.xautoclaim(
            stream, self.group, consumer, min_idle_time=min_idle, start_id="0-0", count=count
        )
        claimed = reply[1]
        out = [delivery_of(stream, entry_id, fields) for entry_id, fields in claimed if fields]
        # An entry deleted from the stream while pending comes back without fields:
        # nothing to redo, so it is acknowledged rather than retried forever.
        gone = [entry_id for entry_id, fields in claimed if not fields]
        if gone:
            await self.redis.xack(stream, self.group, *gone)
        for delivery in out:
            await self.emit(event_of(EventType.RECLAIMED, delivery.envelope, detail=consumer))
        return out

    async def touch(self, deliveries: Sequence[Delivery], consumer: str) -> None:
        """Reset in-flight entries' idle time so no other worker reclaims them."""
        by_stream: dict[str, list[str]] = {}
        for delivery in deliveries:
            by_stream.setdefault(delivery.stream, []).append(delivery.entry_id)
        if not by_stream:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for stream, ids in by_stream.items():
                pipe.xclaim(stream, self.group, consumer, 0, list(dict.fromkeys(ids)), justid=True)
            await pipe.execute()

    async def begin(self, delivery: Delivery) -> int:
        """Count one more attempt at handling this delivery; returns the attempt number."""
        return int(await self.redis.hincrby(self.keys.attempts, delivery.key, 1))

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
            self.keys.order(turn.thread) if turn else delivery.stream,
            self.keys.lock(turn.thread) if turn else delivery.stream,
        ]
        args: list[str | bytes | int] = [
            self.group,
            delivery.entry_id,
            envelope.id,
            self.done_ttl,
            event_of(EventType.HANDLED, envelope).encode(),
            turn.token if turn else "",
        ]
        outcome = int(await self._commit(keys=keys, args=args, staged=outputs))
        if outcome < 0:
            log.warning("%s: another worker holds its thread now; not committed", envelope.id)
            return False
        fresh = outcome == 1
        if not fresh:
            await self.emit(event_of(EventType.DUPLICATE, envelope))
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
            failed = event_of(EventType.FAILED, delivery.envelope, detail=error)
            pipe.xadd(
                self.keys.events,
                event_fields(failed),
                maxlen=self.events_maxlen,
                approximate=True,
            )
            notice = self._notice(delivery, shown, attempt) if attempt == 1 else None
            if notice is not None:
                pipe.xadd(self.keys.outbox, envelope_fields(notice.encode()))
            await pipe.execute()
        if notice is not None and self.signal is not None:
            await self.signal.after(self.keys, [self.keys.outbox])
        if turn is not None:
            await self.release_turn(turn)
        return False

    async def last_error(self, delivery: Delivery) -> str:
        raw = await self.redis.hget(self.keys.errors, delivery.key)
        return text(raw) if raw else ""

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
                pipe.xadd(self.keys.outbox, envelope_fields(notice.encode()))
            pipe.xadd(
                self.keys.dead,
                {
                    **envelope_fields(delivery.raw),
                    "error": error,
                    "attempts": attempts,
                    "stream": delivery.stream,
                    "entry": delivery.entry_id,
                },
            )
            pipe.xack(delivery.stream, self.group, delivery.entry_id)
            pipe.hdel(self.keys.attempts, delivery.key)
            pipe.hdel(self.keys.errors, delivery.key)
            dead = event_of(EventType.DEAD, delivery.envelope, detail=error)
            pipe.xadd(
                self.keys.events, event_fields(dead), maxlen=self.events_maxlen, approximate=True
            )
            if turn is not None:
                pipe.lrem(self.keys.order(turn.thread), 1, delivery.entry_id)
            await pipe.execute()
        if notice is not None and self.signal is not None:
            await self.signal.after(self.keys, [self.keys.outbox])
        dead_lettered(stream_role(self.keys, delivery.stream))
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
        told = failure_text(
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
            text=told,
            origin=envelope.origin,
            cause=envelope.id,
        )
