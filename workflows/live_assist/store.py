"""A live session's state in Redis: cursor, rolling context, rate limit and counters.

All of it sits in one hash, ``keys.live_state(session)``, and changes in one Lua script
per segment: the cursor moves, the context is saved, the rate limit is checked and the
suggestion is sent, or none of it. So a worker that dies mid-segment leaves the segment
to be done again, a segment done once is never done twice (its entry id is at or below
the cursor), and any number of workers agree on the rate limit. The scripts are the bus's
(``Bus.script``): they send the suggestion as the bus sends every envelope.
"""

from __future__ import annotations

from typing import Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from equipage.bus import Bus
from equipage.entries import text
from equipage.envelope import Envelope
from workflows.live_assist.rolling import Rolling

__all__ = ["LiveState", "Outcome", "Snapshot", "Step"]

Outcome = Literal["sent", "dropped", "none", "duplicate", "old"]

_OPEN = """
if redis.call('HGET', KEYS[1], 'request') ~= ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'request', ARGV[1], 'started', ARGV[2], 'cursor', ARGV[3])
end
redis.call('PERSIST', KEYS[1])
redis.call('PERSIST', KEYS[2])
return redis.call('HGETALL', KEYS[1])
"""

# KEYS: state. ARGV: entry id, producer id, context, now, interval, asked, kind, topic,
# stale, written by a model, speech, ends the session. Staged: the suggestion, if any.
_STEP = """
local function after(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am > bm or (am == bm and as > bs)
end
local state = KEYS[1]
local cursor = redis.call('HGET', state, 'cursor')
if cursor and not after(ARGV[1], cursor) then return 'old' end
redis.call('HSET', state, 'cursor', ARGV[1])
if ARGV[2] ~= '' and redis.call('HSETNX', state, 'seen:' .. ARGV[2], '1') == 0 then
  redis.call('HINCRBY', state, 'n:duplicates', 1)
  return 'duplicate'
end
redis.call('HSET', state, 'context', ARGV[3])
if ARGV[11] == '1' then redis.call('HINCRBY', state, 'n:segments', 1) end
if ARGV[9] == '1' then redis.call('HINCRBY', state, 'n:stale', 1) end
if ARGV[12] == '1' then redis.call('HSET', state, 'ended', 'end') end
if ARGV[7] == '' then return 'none' end
local asked = ARGV[6] == '1'
local last = redis.call('HGET', state, 'last_sent')
local early = last and tonumber(ARGV[4]) - tonumber(last) < tonumber(ARGV[5])
if staged == 0 or (early and not asked) then
  redis.call('HINCRBY', state, 'n:dropped', 1)
  return 'dropped'
end
emit(1)
redis.call('HSET', state, 'last_sent', ARGV[4], 'given:' .. ARGV[8], '1')
redis.call('HINCRBY', state, 'n:kind:' .. ARGV[7], 1)
if asked then redis.call('HINCRBY', state, 'n:asked', 1) end
if ARGV[10] == '1' then redis.call('HINCRBY', state, 'n:model', 1) end
return 'sent'
"""

# KEYS: state; ARGV: notice name. Staged: the notice.
_ONCE = """
if redis.call('HSETNX', KEYS[1], 'notice:' .. ARGV[1], '1') == 0 then return 0 end
emit(1)
return 1
"""


class Snapshot(BaseModel):
    """What a (re)started session picks up from Redis."""

    model_config = ConfigDict(extra="forbid")

    started: float
    cursor: str
    context: Rolling = Field(default_factory=Rolling)
    last_sent: float | None = None
    given: set[str] = Field(default_factory=set)
    counts: dict[str, int] = Field(default_factory=dict)
    ended: str = ""  # why the session ended, once it has


class Step(BaseModel):
    """One segment's effects, for ``LiveState.step``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entry_id: str
    producer_id: str = ""
    context: Rolling
    now: float
    interval: float
    speech: bool = True
    stale: bool = False
    asked: bool = False
    kind: str = ""  # the suggestion's kind, '' when the segment calls for none
    topic: str = ""
    envelope: Envelope | None = None  # None when the local check saw the rate limit
    by_model: bool = False
    ends: bool = False  # an 'end' segment: the session is over once this step is applied


class LiveState:
    """The state hash of one session, changed only through its scripts."""

    def __init__(self, bus: Bus, session: str):
        self.redis = bus.redis
        self.key = bus.keys.live_state(session)
        self.segments = bus.keys.live_segments(session)
        self._open = bus.redis.register_script(_OPEN)
        self._step = bus.script(_STEP)
        self._once = bus.script(_ONCE)

    async def open(self, run: str, *, now: float, since_ms: int) -> Snapshot:
        """Resume ``run``'s state, or start afresh reading entries newer than ``since_ms``."""
        raw = await self._open(
            keys=[self.key, self.segments], args=[run, repr(now), f"{since_ms}-0"]
        )
        data = {text(raw[i]): text(raw[i + 1]) for i in range(0, len(raw), 2)}
        return Snapshot(
            started=float(data["started"]),
            cursor=data["cursor"],
            context=Rolling.model_validate_json(data["context"])
            if "context" in data
            else Rolling(),
            last_sent=float(data["last_sent"]) if "last_sent" in data else None,
            given={k.removeprefix("given:") for k in data if k.startswith("given:")},
            counts={k.removeprefix("n:"): int(v) for k, v in data.items() if k.startswith("n:")},
            ended=data.get("ended", ""),
        )

    async def step(self, step: Step) -> Outcome:
        """Apply one segment's effects atomically; says what became of its suggestion."""
        args = [
            step.entry_id,
            step.producer_id,
            step.context.model_dump_json(),
            repr(step.now),
            repr(step.interval),
            _flag(step.asked),
            step.kind,
            step.topic,
            _flag(step.stale),
            _flag(step.by_model),
            _flag(step.speech),
            _flag(step.ends),
        ]
        staged = [step.envelope] if step.envelope else []
        return cast(Outcome, text(await self._step(keys=[self.key], args=args, staged=staged)))

    async def once(self, name: str, envelope: Envelope) -> bool:
        """Send ``envelope`` unless a notice of that name was already sent this session."""
        return bool(await self._once(keys=[self.key], args=[name], staged=[envelope]))

    async def context(self) -> Rolling:
        """The rolling context as last committed."""
        raw = await self.redis.hget(self.key, "context")
        return Rolling.model_validate_json(raw) if raw else Rolling()

    async def seen(self, producer_id: str) -> bool:
        """True when a segment with this producer id was already taken."""
        return bool(await self.redis.hexists(self.key, f"seen:{producer_id}"))

    async def end(self, reason: str) -> None:
        await self.redis.hsetnx(self.key, "ended", reason)

    async def counts(self) -> dict[str, int]:
        raw = await self.redis.hgetall(self.key)
        return {
            text(k).removeprefix("n:"): int(v) for k, v in raw.items() if text(k).startswith("n:")
        }

    async def expire(self, seconds: int) -> None:
        """Let the session's state and segments go once nobody needs them."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.expire(self.key, seconds)
            pipe.expire(self.segments, seconds)
            await pipe.execute()


def _flag(value: bool) -> str:
    return "1" if value else "0"
