"""The bus's stream entries: the one place their format is written, in Python and in Lua.

An envelope is an entry ``env`` (its JSON) on its stream: the outbox when it is for people,
else its role's inbox, where its id also joins the thread's order list (``Keys.order``).
Every envelope sent is told on the events stream as an entry ``event``, trimmed to about
``maxlen``. ``Emitting`` runs a Lua script that may change its caller's own keys and send
envelopes in the same atomic step; the bus's publish and commit are such scripts, and so is
any handler outside the worker's turn that must not send twice (``Bus.script``).

An envelope that opens an idle agent thread (nothing of the thread unhandled, its lease free,
the envelope not handled before) is written with its thread's turn already *granted*: the
lease holds ``granted@<entry id>`` and the entry a ``turn`` field, so the worker that reads
it first runs it at once, without a round trip to take the turn (``equipage.turns`` says
who a grant belongs to afterwards). Its first attempt is counted then, too.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis
from pydantic import ValidationError
from redis.exceptions import NoScriptError
from redis.typing import EncodableT, FieldT

from equipage.envelope import Envelope
from equipage.events import Event, EventType
from equipage.keys import Keys, thread_key
from equipage.tracing import stamp

__all__ = [
    "GRANTED",
    "GRANT_TTL_MS",
    "TAKEN_FOR",
    "Delivery",
    "Emitting",
    "Signal",
    "delivery_of",
    "envelope_fields",
    "event_fields",
    "event_of",
    "route",
    "text",
]

#: How a granted turn's lease token starts; the entry id follows. No consumer name has a
#: "@", and no space is in it, so a grant is never taken for a worker's own token.
GRANTED = "granted@"
#: Between a drawn lease token and the entry it was drawn for (``Worker.draw``).
TAKEN_FOR = "@"
#: How long a grant waits for its entry's first reader: the longest a queue is kept.
GRANT_TTL_MS = 24 * 3600 * 1000

# Put before a caller's script, whose KEYS and ARGV keep their numbers: the bus appends the
# events key and the attempts hash, then four keys per staged envelope (its stream, then its
# thread's order list, lease and the envelope's done marker, or the stream again when not
# ordered), and as arguments the events maxlen, the grant's TTL (ms), four per envelope
# (envelope, event, '1' when ordered, envelope id), the caller's key count and its argument
# count. ``emit(i)`` sends the i-th staged envelope and returns its entry id;
# ``record(event)`` adds an event of the caller's.
_PRELUDE = (
    """
local _k = tonumber(ARGV[#ARGV - 1])
local _a = tonumber(ARGV[#ARGV])
local staged = (#ARGV - _a - 4) / 4
local function record(event)
  redis.call('XADD', KEYS[_k + 1], 'MAXLEN', '~', ARGV[_a + 1], '*', 'event', event)
end
local function emit(i)
  local k, a = _k + 4 * i - 1, _a + 4 * i - 1
  local ordered = ARGV[a + 2] == '1'
  local id
  if ordered and redis.call('LLEN', KEYS[k + 1]) == 0 and redis.call('EXISTS', KEYS[k + 2]) == 0
     and redis.call('EXISTS', KEYS[k + 3]) == 0 then
    id = redis.call('XADD', KEYS[k], '*', 'env', ARGV[a], 'turn', '1')
    redis.call('SET', KEYS[k + 2], '"""
    + GRANTED
    + """' .. id, 'PX', ARGV[_a + 2])
    redis.call('HSET', KEYS[_k + 2], ARGV[a + 3], 1)
  else
    id = redis.call('XADD', KEYS[k], '*', 'env', ARGV[a])
  end
  record(ARGV[a + 1])
  if ordered then redis.call('RPUSH', KEYS[k + 1], id) end
  return id
end
"""
)


@dataclass(frozen=True)
class Delivery:
    """One stream entry handed to a worker; ``envelope`` is None when it did not parse."""

    stream: str
    entry_id: str
    raw: bytes
    envelope: Envelope | None
    error: str = ""
    #: Its first delivery, written with its thread's turn granted (see the module's doc):
    #: it runs under ``granted_token`` without taking the turn. A redelivery never is.
    granted: bool = False

    @property
    def granted_token(self) -> str:
        return f"{GRANTED}{self.entry_id}"

    @property
    def key(self) -> str:
        """Id used for attempts and idempotency: the envelope's, else the entry's."""
        return self.envelope.id if self.envelope else f"entry-{self.entry_id}"


class Signal(Protocol):
    """Told around the writes of envelopes, so a farm's shared pool learns a crew has work.

    A crew served alone reads its streams itself and has none. ``before`` runs before an
    envelope from outside a handler is written (the crew is marked as having work, so a
    process killed before ``after`` leaves it findable); ``after`` names the streams
    written to.
    """

    async def before(self, keys: Keys) -> None: ...

    async def after(self, keys: Keys, streams: Collection[str]) -> None: ...


class Emitting:
    """A Lua script that changes its caller's keys and sends ``staged`` envelopes at once.

    Its body sees ``emit(i)``, ``record(event)`` and ``staged`` (see ``_PRELUDE``); what it
    returns is returned. Redis runs the whole script or, should the server die, none of it.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        keys: Keys,
        body: str,
        *,
        maxlen: int,
        signal: Signal | None = None,
    ) -> None:
        self.keys = keys
        self.maxlen = maxlen
        self.signal = signal
        self._redis = redis
        self._script = redis.register_script(_PRELUDE + body)

    async def __call__(
        self,
        keys: Sequence[str] = (),
        args: Sequence[EncodableT] = (),
        staged: Sequence[Envelope] = (),
    ) -> Any:
        all_keys = [*keys, self.keys.events, self.keys.attempts]
        all_args: list[EncodableT] = [*args, self.maxlen, GRANT_TTL_MS]
        for envelope in staged:
            stream, order = route(self.keys, envelope)
            if order is None:
                all_keys += [stream] * 4
            else:
                lock = self.keys.lock(thread_key(envelope.to, envelope.thread))
                all_keys += [stream, order, lock, self.keys.done(envelope.id)]
            published = event_of(EventType.PUBLISHED, envelope).encode()
            # Sent inside a span (a worker's run), it carries the trace on to its reader.
            sent = stamp(envelope).encode()
            all_args += [sent, published, int(order is not None), envelope.id]
        all_args += [len(keys), len(args)]
        try:
            # EVALSHA itself rather than through the Script object, whose per-call checks
            # (pipelines, clusters) cost a sixth of a hop on the worker's path.
            result = await self._redis.evalsha(
                self._script.sha, len(all_keys), *all_keys, *all_args
            )
        except NoScriptError:  # a server restarted without its script cache
            result = await self._script(keys=all_keys, args=all_args)
        if self.signal is not None and staged:
            await self.signal.after(self.keys, {route(self.keys, e)[0] for e in staged})
        return result


def route(keys: Keys, envelope: Envelope) -> tuple[str, str | None]:
    """The stream an envelope goes to, and its thread's order list when it is for a role."""
    if envelope.for_human:
        return keys.outbox, None
    return keys.inbox(envelope.to), keys.order(thread_key(envelope.to, envelope.thread))


def envelope_fields(raw: bytes | str) -> dict[FieldT, EncodableT]:
    """The fields of an envelope's entry, for a caller that XADDs in its own pipeline."""
    return {"env": raw}


def event_fields(event: Event) -> dict[FieldT, EncodableT]:
    """The fields of an event's entry on the events stream."""
    return {"event": event.encode()}


def delivery_of(
    stream: str, entry_id: bytes | str, fields: dict[bytes, bytes], *, first: bool = False
) -> Delivery:
    """An entry as read from a stream; a malformed envelope is kept with its error.

    ``first``: read as new (``>``) in the consumer group, so its turn is this reader's when
    it was written granted; a reclaimed or claimed entry never is.
    """
    raw = fields.get(b"env", b"")
    try:
        envelope: Envelope | None = Envelope.decode(raw)
        error = ""
    except (ValidationError, json.JSONDecodeError, UnicodeDecodeError) as err:
        envelope = None
        error = f"malformed envelope: {err}".replace("\n", " ")[:500]
    granted = first and envelope is not None and fields.get(b"turn") == b"1"
    return Delivery(
        stream=stream,
        entry_id=text(entry_id),
        raw=raw,
        envelope=envelope,
        error=error,
        granted=granted,
    )


def event_of(kind: EventType, envelope: Envelope | None, *, detail: str = "") -> Event:
    """The event that tells what became of ``envelope``."""
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


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
