"""Reaching a member's live call from chat: which session is theirs, and what to tell it.

A live call's transcript arrives on a Redis stream (``keys.live_segments(session)``);
that stream is the contract with whatever listens to it (the ``live_assist`` workflow,
whose ``segments`` module documents the fields). Chat can put two kinds of segment on
it: ``ask`` (a suggestion now, on an optional focus) and ``end``. The listener says
which session a member is in with ``mark_active`` when it starts and ``mark_ended``
when it ends; the gateway finds it with ``active``. Nothing here imports the workflow:
the stream fields are written out, and live_assist's own parser reads them.
"""

from __future__ import annotations

import hashlib

import redis.asyncio as aioredis
from redis.typing import EncodableT, FieldT

from equipage.keys import Keys

__all__ = ["MAXLEN", "MAX_FOCUS", "active", "ask", "end", "mark_active", "mark_ended"]

#: Entries kept per session stream, as live_assist's own producers keep them.
MAXLEN = 20_000
#: The longest ``text`` a segment may carry; a longer one would be read as plain speech.
MAX_FOCUS = 4000
_MAX_ID = 200  # a segment's ``id`` field, likewise

_END_IF_OURS = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


async def active(redis: aioredis.Redis, keys: Keys, member: str) -> str | None:
    """The id of the member's running live session, or None."""
    raw = await redis.get(keys.live_active(member))
    if raw is None:
        return None
    return raw.decode() if isinstance(raw, bytes) else str(raw)


async def mark_active(
    redis: aioredis.Redis, keys: Keys, member: str, session: str, *, seconds: float
) -> None:
    """Say that ``member`` is in ``session`` for at most ``seconds`` (its time limit)."""
    # The expiry ends the claim of a session whose listener died without a word.
    await redis.set(keys.live_active(member), session, px=max(int(seconds * 1000), 1))


async def mark_ended(redis: aioredis.Redis, keys: Keys, member: str, session: str) -> None:
    """``session`` is over: forget it, unless the member has started another one since."""
    await redis.eval(_END_IF_OURS, 1, keys.live_active(member), session)


async def ask(
    redis: aioredis.Redis, keys: Keys, session: str, focus: str = "", *, producer: str = ""
) -> str:
    """Ask ``session`` for a suggestion now, on ``focus`` if given; returns the entry id.

    ``producer`` names the request (a platform message id): sent twice, it counts once.
    """
    return await _add(redis, keys, session, "ask", focus.strip()[:MAX_FOCUS], producer)


async def end(redis: aioredis.Redis, keys: Keys, session: str, *, producer: str = "") -> str:
    """End ``session``; returns the entry id."""
    return await _add(redis, keys, session, "end", "", producer)


async def _add(
    redis: aioredis.Redis, keys: Keys, session: str, kind: str, text: str, producer: str
) -> str:
    # The fields of the stream contract; an empty one is left out, as every producer does.
    fields: dict[FieldT, EncodableT] = {"kind": kind}
    if text:
        fields["text"] = text
    if producer:
        fields["id"] = _producer_id(producer)
    entry = await redis.xadd(keys.live_segments(session), fields, maxlen=MAXLEN, approximate=True)
    return entry.decode() if isinstance(entry, bytes) else str(entry)


def _producer_id(producer: str) -> str:
    if len(producer) <= _MAX_ID:
        return producer
    return "sha256:" + hashlib.sha256(producer.encode()).hexdigest()
