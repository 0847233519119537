"""The bus's stream entries: the one place their format is written, in Python and in Lua.

An envelope is an entry ``env`` (its JSON) on its stream: the outbox when it is for people,
else its role's inbox, where its id also joins the thread's order list (``Keys.order``).
Every envelope sent is told on the events stream as an entry ``event``, trimmed to about
``maxlen``. ``Emitting`` runs a Lua script that may change its caller's own keys and send
envelopes in the same atomic step; the bus's publish and commit are such scripts, and so is
any handler outside the worker's turn that must not send twice (``Bus.script``).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis
from pydantic import ValidationError
from redis.typing import EncodableT, FieldT

from equipage.envelope import Envelope
from equipage.events import Event, EventType
from equipage.keys import Keys, thread_key

__all__ = [
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

# Put before a caller's script, whose KEYS and ARGV keep their numbers: the bus appends the
# events key, then two keys per staged envelope (its stream, its order list or the stream
# again), and as arguments the events maxlen, three per envelope (envelope, event, '1' when
# ordered), the caller's key count and its argument count. ``emit(i)`` sends the i-th
# staged envelope and returns its entry id; ``record(event)`` adds an event of the caller's.
_PRELUDE = """
local _k = tonumber(ARGV[#ARGV - 1])
local _a = tonumber(ARGV[#ARGV])
local staged = (#ARGV - _a - 3) / 3
local function record(event)
  redis.call('XADD', KEYS[_k + 1], 'MAXLEN', '~', ARGV[_a + 1], '*', 'event', event)
end
local function emit(i)
  local k, a = _k + 2 * i, _a + 3 * i - 1
  local id = redis.call('XADD', KEYS[k], '*', 'env', ARGV[a])
  record(ARGV[a + 1])
  if ARGV[a + 2] == '1' then redis.call('RPUSH', KEYS[k + 1], id) end
  return id
end
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
        self._script = redis.register_script(_PRELUDE + body)

    async def __call__(
        self,
        keys: Sequence[str] = (),
        args: Sequence[EncodableT] = (),
        staged: Sequence[Envelope] = (),
    ) -> Any:
        all_keys = [*keys, self.keys.events]
        all_args: list[EncodableT] = [*args, self.maxlen]
        for envelope in staged:
            stream, order = route(self.keys, envelope)
            all_keys += [stream, order or stream]
            published = event_of(EventType.PUBLISHED, envelope).encode()
            all_args += [envelope.encode(), published, int(order is not None)]
        all_args += [len(keys), len(args)]
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


def delivery_of(stream: str, entry_id: bytes | str, fields: dict[bytes, bytes]) -> Delivery:
    """An entry as read from a stream; a malformed envelope is kept with its error."""
    raw = fields.get(b"env", b"")
    try:
        envelope: Envelope | None = Envelope.decode(raw)
        error = ""
    except (ValidationError, json.JSONDecodeError, UnicodeDecodeError) as err:
        envelope = None
        error = f"malformed envelope: {err}".replace("\n", " ")[:500]
    return Delivery(stream=stream, entry_id=text(entry_id), raw=raw, envelope=envelope, error=error)


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
