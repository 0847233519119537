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
from typing import Any

import redis.asyncio as aioredis
from pydantic import ValidationError
from redis.exceptions import ResponseError

from equipage.envelope import Envelope, Kind
from equipage.events import Event, EventType
from equipage.keys import CONSUMER_GROUP, GATEWAY_GROUP, Keys

__all__ = ["Bus", "Delivery"]

log = logging.getLogger(__name__)

# KEYS: done, source stream, attempts, errors, events, output streams...
# ARGV: group, entry id, envelope id, done ttl, events maxlen, handled event,
#       then (envelope, event) pairs, one per output stream.
_COMMIT = """
local fresh = redis.call('SET', KEYS[1], ARGV[2], 'NX', 'EX', ARGV[4])
if fresh then
  for i = 6, #KEYS do
    local a = 7 + (i - 6) * 2
    redis.call('XADD', KEYS[i], '*', 'env', ARGV[a])
    redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[5], '*', 'event', ARGV[a + 1])
  end
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[5], '*', 'event', ARGV[6])
end
redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[3])
redis.call('HDEL', KEYS[4], ARGV[3])
if fresh then return 1 end
return 0
"""


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
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.max_attempts = max_attempts
        self.visibility_timeout = visibility_timeout
        self.events_maxlen = events_maxlen
        self.done_ttl = done_ttl
        self.group = group
        self._commit = redis.register_script(_COMMIT)

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
        """Append an envelope to its stream (and an event); returns the entry id."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xadd(self.stream_for(envelope), {"env": envelope.encode()})
            pipe.xadd(
                self.keys.events,
                {"event": _event(EventType.PUBLISHED, envelope).encode()},
                maxlen=self.events_maxlen,
                approximate=True,
            )
            entry_id, _ = await pipe.execute()
        return _text(entry_id)

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

    async def commit(self, delivery: Delivery, outputs: Sequence[Envelope]) -> bool:
        """Store the outputs, mark the envelope done and ack it, atomically.

        Returns False when an earlier delivery had already committed: nothing was repeated.
        """
        envelope = delivery.envelope
        assert envelope is not None, "a malformed delivery is dead-lettered, not committed"
        keys = [
            self.keys.done(envelope.id),
            delivery.stream,
            self.keys.attempts,
            self.keys.errors,
            self.keys.events,
        ]
        args: list[str | bytes | int] = [
            self.group,
            delivery.entry_id,
            envelope.id,
            self.done_ttl,
            self.events_maxlen,
            _event(EventType.HANDLED, envelope).encode(),
        ]
        for out in outputs:
            keys.append(self.stream_for(out))
            args.extend([out.encode(), _event(EventType.PUBLISHED, out).encode()])
        fresh = bool(await self._commit(keys=keys, args=args))
        if not fresh:
            await self.emit(_event(EventType.DUPLICATE, envelope))
        return fresh

    async def fail(self, delivery: Delivery, error: str, attempt: int) -> bool:
        """Record a handler failure; dead-letter after the last attempt. True if dead."""
        if attempt >= self.max_attempts:
            await self.dead_letter(delivery, error, attempt)
            return True
        await self.redis.hset(self.keys.errors, delivery.key, error)
        await self.emit(_event(EventType.FAILED, delivery.envelope, detail=error))
        return False

    async def last_error(self, delivery: Delivery) -> str:
        raw = await self.redis.hget(self.keys.errors, delivery.key)
        return _text(raw) if raw else ""

    async def dead_letter(self, delivery: Delivery, error: str, attempts: int) -> None:
        """Move a delivery to the dead-letter stream with its error, and ack it.

        When it came from a person's conversation, that person is told in the same
        transaction: a request never fails in silence.
        """
        notice = self._dead_notice(delivery, attempts)
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
            await pipe.execute()
        log.warning(
            "envelope %s dead-lettered after %d attempts: %s", delivery.key, attempts, error
        )

    def _dead_notice(self, delivery: Delivery, attempts: int) -> Envelope | None:
        envelope = delivery.envelope
        if envelope is None or envelope.origin is None or delivery.stream == self.keys.outbox:
            return None  # nobody to tell, or the telling itself is what failed
        what = f"a {envelope.kind.value} for {envelope.to}"
        text = (
            f"I could not handle {what} after {attempts} attempt(s), so it was set aside "
            f"with its error (entry {delivery.entry_id}); 'equipage status' shows it. "
            "Nothing was lost: send the request again once the cause is fixed."
        )
        return Envelope(
            kind=Kind.REPLY,
            company=envelope.company,
            to="human",
            sender="equipage",
            thread=envelope.thread,
            text=text,
            origin=envelope.origin,
            cause=envelope.id,
        )


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
