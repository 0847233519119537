"""Replies shown while they are written: the draft of each, kept in Redis between processes.

A worker's model streams the text of a reply meant for a person (``on_text``); the worker
is not the process that holds the bots, so the text travels through Redis: ``DraftWriter``
keeps the whole text so far in the hash ``Keys.draft(cause)`` (``cause``: the envelope the
turn handles, which its reply names as its own cause) at most every ``every`` seconds, and
wakes the gateways on the capped stream ``Keys.drafts``. A gateway (``channels.streaming``)
shows it on a platform whose adapter is ``Drafting``: a first message, then edits at most
one per ``every`` seconds per draft, whichever gateway process is woken.

The outbox stays the one source of truth: the reply itself goes through it as before, and
the gateway turns the draft's message into it (``close``) instead of sending a new one.
A draft closed by an envelope shows nothing more of the run that wrote it; a later run
(the turn retried after a failure, whose notice closed the draft) starts a new message.
Fields of the hash: the worker's ``text``, ``run``, ``seq``, ``origin``, ``sender``; the
gateway's ``shown`` (the seq last shown), ``next`` (earliest time of the next edit),
``msg`` (the platform's reference of the message, or ``pending:<deadline>`` while it is
being sent) and ``final`` (the envelope that closed it).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from equipage.chat import Outgoing
from equipage.envelope import Origin
from equipage.keys import Keys

__all__ = ["Claim", "Closing", "DraftWriter", "Drafting", "Drafts"]

log = logging.getLogger(__name__)

#: Seconds between two edits of a draft's message, counted from when the platform took the
#: last one (Telegram allows about one a second per chat); drafts are written twice as often.
EVERY = 1.05  # a margin under the limit for clocks and jitter
_TTL = 3600  # a draft nobody closed (its turn asked a question, or died for good) lapses
_MAXLEN = 1000  # wake-ups kept on the drafts stream
_PENDING = 10.0  # longest a first message may take to be sent before another try

_WRITE = """
local final = redis.call('HGET', KEYS[1], 'final')
if final then
  if redis.call('HGET', KEYS[1], 'run') == ARGV[1] then return 0 end
  redis.call('HDEL', KEYS[1], 'final', 'msg', 'shown', 'next')
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('HSET', KEYS[1], 'text', ARGV[2], 'run', ARGV[1], 'origin', ARGV[3], 'sender', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'cause', ARGV[7], 'channel', ARGV[8])
return seq
"""

# -> {} nothing to show | {'wait', seconds} | {'start'|'edit', text, origin, sender, msg}
_CLAIM = """
local h = redis.call('HMGET', KEYS[1], 'seq', 'shown', 'next', 'msg', 'final', 'text', 'origin',
  'sender')
if not h[1] or h[5] then return {} end
if tonumber(h[1]) <= tonumber(h[2] or '0') then return {} end
local now = tonumber(ARGV[1])
local msg = h[4] or ''
if string.sub(msg, 1, 8) == 'pending:' then
  local deadline = tonumber(string.sub(msg, 9))
  if now < deadline then return {'wait', tostring(deadline - now)} end
  msg = ''
end
local next = tonumber(h[3] or '0')
if now < next then return {'wait', tostring(next - now)} end
redis.call('HSET', KEYS[1], 'shown', h[1], 'next', tostring(now + tonumber(ARGV[2])))
if msg == '' then
  redis.call('HSET', KEYS[1], 'msg', 'pending:' .. tostring(now + tonumber(ARGV[3])))
  return {'start', h[6], h[7], h[8] or '', ''}
end
return {'edit', h[6], h[7], h[8] or '', msg}
"""

# -> {'send'} | {'pending', seconds} | {'edit', msg, seconds to wait}
_CLOSE = """
local h = redis.call('HMGET', KEYS[1], 'seq', 'msg', 'final', 'next')
if not h[1] then return {'send'} end
local now = tonumber(ARGV[2])
local msg = h[2] or ''
if h[3] and h[3] ~= ARGV[1] then return {'send'} end
if string.sub(msg, 1, 8) == 'pending:' then
  local deadline = tonumber(string.sub(msg, 9))
  if now < deadline then return {'pending', tostring(deadline - now)} end
  msg = ''
end
redis.call('HSET', KEYS[1], 'final', ARGV[1])
if msg == '' then return {'send'} end
return {'edit', msg, tostring(math.max(tonumber(h[4] or '0') - now, 0))}
"""

_PACED = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'next', ARGV[1]) end
return 1
"""

_STARTED = """
local msg = redis.call('HGET', KEYS[1], 'msg')
if msg and string.sub(msg, 1, 8) == 'pending:' then
  if ARGV[1] == '' then redis.call('HDEL', KEYS[1], 'msg', 'next')
  else redis.call('HSET', KEYS[1], 'msg', ARGV[1]) end
end
return 1
"""


@runtime_checkable
class Drafting(Protocol):
    """An adapter that can show a reply while it is written, by editing one message.

    A platform that cannot edit (WhatsApp) does not implement it: its people get the
    final reply only.
    """

    async def draft(self, message: Outgoing, ref: str | None) -> str:
        """Show ``message.text`` so far: a new message when ``ref`` is None, else an edit of
        ``ref``; return the reference of the message (``ref`` itself after an edit)."""
        ...

    async def settle(self, message: Outgoing, ref: str) -> None:
        """Turn the draft ``ref`` into the whole ``message`` (what does not fit follows in
        new messages); an edit that changes nothing is no error (a redelivery)."""
        ...


@dataclass(frozen=True)
class Claim:
    """What a gateway is to do for a draft now: nothing, wait, show it anew or edit it."""

    action: Literal["none", "wait", "start", "edit"]
    wait: float = 0.0
    text: str = ""
    origin: Origin | None = None
    sender: str = ""
    ref: str | None = None


@dataclass(frozen=True)
class Closing:
    """How a reply goes out: as a new message, as the draft's message (after ``wait`` s), or
    not yet (its first message is being sent, for at most ``wait`` s)."""

    action: Literal["send", "edit", "pending"]
    ref: str | None = None
    wait: float = 0.0


class Drafts:
    """The drafts of one crew, as gateways read and close them."""

    def __init__(
        self,
        redis: aioredis.Redis,
        keys: Keys,
        *,
        every: float = EVERY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.every = every
        self.clock = clock  # wall time: every gateway process reads the same ``next``
        self._claim = redis.register_script(_CLAIM)
        self._close = redis.register_script(_CLOSE)
        self._started = redis.register_script(_STARTED)
        self._paced = redis.register_script(_PACED)

    async def claim(self, cause: str) -> Claim:
        """Take the next showing of a draft that grew since it was last shown, if it is due."""
        now = self.clock()
        got = await self._claim(keys=[self.keys.draft(cause)], args=[now, self.every, _PENDING])
        if not got:
            return Claim("none")
        words = [_text(part) for part in got]
        if words[0] == "wait":
            return Claim("wait", wait=float(words[1]))
        origin = Origin.model_validate_json(words[2])
        action: Literal["start", "edit"] = "start" if words[0] == "start" else "edit"
        return Claim(action, text=words[1], origin=origin, sender=words[3], ref=words[4] or None)

    async def started(self, cause: str, ref: str | None) -> None:
        """The first message of a draft was sent as ``ref`` (None: it failed, try again)."""
        await self._started(keys=[self.keys.draft(cause)], args=[ref or ""])

    async def shown(self, cause: str) -> None:
        """The platform took a showing now: the next waits ``every`` from here, so its
        network time cannot bring two edits closer than that."""
        await self._paced(keys=[self.keys.draft(cause)], args=[self.clock() + self.every])

    async def close(self, cause: str, envelope: str) -> Closing:
        """Close a draft with the reply ``envelope``: nothing more of its run is shown.

        Closing again with the same envelope (its delivery retried) gives the same message.
        """
        now = self.clock()
        got = [
            _text(part)
            for part in await self._close(keys=[self.keys.draft(cause)], args=[envelope, now])
        ]
        if got[0] == "pending":
            return Closing("pending", wait=float(got[1]))
        if got[0] == "edit":
            return Closing("edit", ref=got[1], wait=float(got[2]))
        return Closing("send")


class DraftWriter:
    """The text a model streams for a person, written to its draft at most every ``every`` s.

    Showing a reply as it grows is a courtesy: a Redis failure here is logged once and the
    rest of the text goes with the reply only.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        keys: Keys,
        *,
        cause: str,
        origin: Origin,
        sender: str,
        every: float = EVERY / 2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.keys = keys
        self.cause = cause
        self.origin = origin.model_dump_json()
        self.channel = origin.channel
        self.sender = sender
        self.every = every
        self.clock = clock
        self.run = secrets.token_hex(8)  # a retried turn's writer starts a new message
        self.text = ""
        self._written = ""
        self._at = 0.0
        self._broken = False
        self._write = redis.register_script(_WRITE)

    async def __call__(self, delta: str) -> None:
        """Add a streamed piece; write the text so far when the last write is old enough.

        The first write waits ``every`` too: a first message of one word reads as a glitch.
        """
        if not self.text:
            self._at = self.clock()
        self.text += delta
        if self.clock() - self._at >= self.every:
            await self._flush()

    async def close(self) -> None:
        """Write the whole text streamed, whatever the time since the last write."""
        await self._flush()

    async def _flush(self) -> None:
        if self._broken or self.text == self._written or not self.text.strip():
            return
        self._at = self.clock()
        keys = [self.keys.draft(self.cause), self.keys.drafts]
        args: list[str | int] = [self.run, self.text, self.origin, self.sender, _TTL, _MAXLEN]
        try:
            await self._write(keys=keys, args=[*args, self.cause, self.channel])
        except RedisError as err:
            self._broken = True
            log.warning("the reply being written is not shown as it grows: %s", err)
            return
        self._written = self.text


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
