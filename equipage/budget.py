"""Budgets: per role per day, per company per month, overrun by a known margin at most.

Before every model call the caller reserves what the call usually costs: its prompt's
input at the rate the role's recent calls on that model were really billed per token of
the prompt's size bound, plus the longest output among them (``usual_cost``). One Lua
script checks the role's spend today and the company's spend this month, plus every
other call still in flight, against the limits, and holds the amount; afterwards the
real cost replaces the hold and teaches the next estimate (``settle``).

Why not the worst case: a call's worst case (every prompt byte a token written to the
cache, ``max_tokens`` of output) is several times its usual cost, so a few concurrent
threads were paused on a budget question with half the limit unspent. The price is a
bounded overrun: a limit is crossed by at most what the calls in flight when it is
crossed cost beyond their holds, each at most its worst case minus its hold (in practice
only output longer than any of the role's last ``SAMPLES`` calls), and once crossed
every further call is refused until the limit is raised. A budget is a spending
control, not a prepaid balance: a few cents past it, once, beats stopping work that fits.

A hold expires after ``hold_seconds``; sooner, ``release_for`` frees the holds of an
envelope whose handling died, when the envelope is delivered again.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import redis.asyncio as aioredis

from equipage.keys import Keys
from equipage.llm.messages import Message, ToolSpec, Usage
from equipage.llm.pricing import CURRENCY, cost, price_of

__all__ = [
    "DEFAULT_OUTPUT_TOKENS",
    "SAMPLES",
    "Budget",
    "Refusal",
    "Sample",
    "Spend",
    "sample_of",
    "worst_case_tokens",
]

#: Output tokens held for a role's call on a model before any of its calls finished.
DEFAULT_OUTPUT_TOKENS = 1024
#: Finished calls per role and model whose usage the next holds are sized from.
SAMPLES = 20

# KEYS: day hash, month hash, reservations hash, limits hash
# ARGV: role, amount, role daily limit, company monthly limit, now, hold id, expiry,
#       envelope
_RESERVE = """
local role, amount = ARGV[1], tonumber(ARGV[2])
local now = tonumber(ARGV[5])
local daily = tonumber(redis.call('HGET', KEYS[4], 'daily:' .. role) or ARGV[3])
local monthly = tonumber(redis.call('HGET', KEYS[4], 'monthly') or ARGV[4])
local held_role, held_all = 0, 0
local holds = redis.call('HGETALL', KEYS[3])
for i = 1, #holds, 2 do
  local h = cjson.decode(holds[i + 1])
  if h.expires < now then
    redis.call('HDEL', KEYS[3], holds[i])
  else
    held_all = held_all + h.amount
    if h.role == role then held_role = held_role + h.amount end
  end
end
local spent_role = tonumber(redis.call('HGET', KEYS[1], role) or '0')
local spent_month = 0
local month = redis.call('HVALS', KEYS[2])
for i = 1, #month do spent_month = spent_month + tonumber(month[i]) end
if spent_role + held_role + amount > daily then
  return {'role', tostring(spent_role), tostring(daily), tostring(held_role)}
end
if spent_month + held_all + amount > monthly then
  return {'company', tostring(spent_month), tostring(monthly), tostring(held_all)}
end
redis.call('HSET', KEYS[3], ARGV[6],
  cjson.encode({role = role, amount = amount, expires = tonumber(ARGV[7]),
                envelope = ARGV[8]}))
return {'ok'}
"""

# KEYS: day hash, month hash, reservations hash, thread spend hash, usual hash
# ARGV: hold id, role, cost, thread, usual field ('' for none), output tokens,
#       input rate, samples kept
_SETTLE = """
redis.call('HDEL', KEYS[3], ARGV[1])
local cost = tonumber(ARGV[3])
if cost > 0 then
  redis.call('HINCRBYFLOAT', KEYS[1], ARGV[2], ARGV[3])
  redis.call('HINCRBYFLOAT', KEYS[2], ARGV[2], ARGV[3])
  redis.call('HINCRBYFLOAT', KEYS[4], ARGV[4], ARGV[3])
  redis.call('EXPIRE', KEYS[1], 8 * 86400)
  redis.call('EXPIRE', KEYS[2], 400 * 86400)
end
if ARGV[5] ~= '' then
  local raw = redis.call('HGET', KEYS[5], ARGV[5])
  local old = raw and cjson.decode(raw) or {}
  local out, rate = {tonumber(ARGV[6])}, {tonumber(ARGV[7])}
  local keep = tonumber(ARGV[8])
  for i = 1, math.min(#(old.out or {}), keep - 1) do out[#out + 1] = old.out[i] end
  for i = 1, math.min(#(old.rate or {}), keep - 1) do rate[#rate + 1] = old.rate[i] end
  redis.call('HSET', KEYS[5], ARGV[5], cjson.encode({out = out, rate = rate}))
end
return 1
"""

# KEYS: reservations hash; ARGV: envelope
_RELEASE = """
local freed = 0
local holds = redis.call('HGETALL', KEYS[1])
for i = 1, #holds, 2 do
  if cjson.decode(holds[i + 1]).envelope == ARGV[1] then
    redis.call('HDEL', KEYS[1], holds[i])
    freed = freed + 1
  end
end
return freed
"""


@dataclass(frozen=True)
class Refusal:
    """Why a call was not made: which limit, what was spent, and how to raise it."""

    scope: str  # "role" or "company"
    role: str
    spent: float
    limit: float
    held: float
    needed: float

    def message(self) -> str:
        c = CURRENCY
        if self.scope == "role":
            what = f"{self.role} has spent {self.spent:.4f} {c} of its {self.limit:.2f} {c} today"
            fix = (
                f"raise it with 'equipage budget --role {self.role} --daily <amount>' "
                f"(or roles.{self.role}.daily_budget in company.yaml)"
            )
        else:
            what = f"the company has spent {self.spent:.4f} {c} of {self.limit:.2f} {c} this month"
            fix = (
                "raise it with 'equipage budget --monthly <amount>' "
                "(or runtime.monthly_budget in company.yaml)"
            )
        in_flight = f", {self.held:.4f} {c} held by calls in flight" if self.held else ""
        return (
            f"Budget reached: {what}{in_flight}; the next call is expected to cost "
            f"{self.needed:.4f} {c}, so it was not made and this thread is paused. "
            f"To go on, {fix}; the thread resumes by itself."
        )


@dataclass(frozen=True)
class Sample:
    """What one finished call tells of its role's usual calls on ``model``."""

    model: str
    output_tokens: int
    #: what its input was billed, per million tokens of the prompt's size bound
    input_rate: float


def sample_of(model: str, input_bound: int, usage: Usage) -> Sample | None:
    """The sample a finished call leaves; None for an unpriced model."""
    if price_of(model) is None or input_bound <= 0:
        return None
    billed_input = cost(model, usage.model_copy(update={"output_tokens": 0}))
    return Sample(model, usage.output_tokens, billed_input * 1_000_000 / input_bound)


@dataclass(frozen=True)
class Spend:
    """Spend per role today, per role this month, and the limits in force."""

    day: dict[str, float]
    month: dict[str, float]
    daily_limits: dict[str, float]
    monthly_limit: float

    @property
    def month_total(self) -> float:
        return sum(self.month.values())


class Budget:
    """The ledger and limits of one company."""

    def __init__(
        self,
        redis: aioredis.Redis,
        keys: Keys,
        *,
        daily: dict[str, float],
        monthly: float,
        hold_seconds: float = 600.0,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.daily = dict(daily)
        self.monthly = monthly
        self.hold_seconds = hold_seconds
        self._reserve = redis.register_script(_RESERVE)
        self._settle = redis.register_script(_SETTLE)
        self._release = redis.register_script(_RELEASE)

    def _now_keys(self) -> tuple[str, str]:
        now = datetime.now(UTC)
        return self.keys.spend_day(now.strftime("%Y-%m-%d")), self.keys.spend_month(
            now.strftime("%Y-%m")
        )

    async def usual_cost(self, role: str, model: str, input_bound: int, max_tokens: int) -> float:
        """What to hold for a call of ``role`` on ``model`` whose prompt has at most
        ``input_bound`` tokens: its usual cost, learned from the role's recent calls.

        Until a call finished, input is priced at its worst (every token a cache write)
        and output at ``DEFAULT_OUTPUT_TOKENS``; output is never held beyond
        ``max_tokens``, the most a call can make.
        """
        price = price_of(model)
        if price is None:
            return 0.0
        raw = await self.redis.hget(self.keys.spend_usual, _usual_field(role, model))
        seen = json.loads(raw) if raw else {}
        outputs: list[int] = seen.get("out") or []
        rates: list[float] = seen.get("rate") or []
        output = min(max(outputs, default=DEFAULT_OUTPUT_TOKENS), max_tokens)
        rate = max(rates, default=max(price.input, price.cache_write))
        return (input_bound * rate + output * price.output) / 1_000_000

    async def reserve(self, role: str, amount: float, *, envelope: str = "") -> str | Refusal:
        """Hold ``amount`` for a call of ``role``: a hold id, or why it is refused.

        ``envelope`` is the envelope being handled: a redelivery of it frees the hold
        its dead attempt left (``release_for``).
        """
        day, month = self._now_keys()
        hold = uuid.uuid4().hex
        now = time.time()
        reply = await self._reserve(
            keys=[day, month, self.keys.reservations, self.keys.limits],
            args=[
                role,
                repr(amount),
                repr(self.daily.get(role, 0.0)),
                repr(self.monthly),
                repr(now),
                hold,
                repr(now + self.hold_seconds),
                envelope,
            ],
        )
        verdict = [r.decode() if isinstance(r, bytes) else str(r) for r in reply]
        if verdict[0] == "ok":
            return hold
        spent, limit, held = (float(v) for v in verdict[1:4])
        return Refusal(verdict[0], role, spent, limit, held, amount)

    async def settle(
        self, hold: str, role: str, cost: float, thread: str, sample: Sample | None = None
    ) -> None:
        """Replace the hold by the call's real cost, counted for the role and thread;
        a finished call's ``sample`` sizes the role's next holds on its model."""
        day, month = self._now_keys()
        usual = (
            ("", "0", "0")
            if sample is None
            else (
                _usual_field(role, sample.model),
                str(sample.output_tokens),
                repr(sample.input_rate),
            )
        )
        await self._settle(
            keys=[
                day,
                month,
                self.keys.reservations,
                self.keys.spend_threads,
                self.keys.spend_usual,
            ],
            args=[hold, role, repr(cost), thread, *usual, str(SAMPLES)],
        )

    async def release_for(self, envelope: str) -> int:
        """Free the holds left by calls made while handling ``envelope``; how many.

        Call it when ``envelope`` is delivered again, under its thread's lease: the
        attempt that held them is dead, so its calls will never settle.
        """
        if not envelope:
            return 0  # holds of calls made outside any envelope are not tagged
        return int(await self._release(keys=[self.keys.reservations], args=[envelope]))

    async def raise_limit(self, *, role: str | None = None, amount: float) -> None:
        """Change a limit at run time: a role's daily one, or the company's monthly one."""
        field = f"daily:{role}" if role else "monthly"
        await self.redis.hset(self.keys.limits, field, repr(amount))

    async def spend(self) -> Spend:
        day, month = self._now_keys()
        raw_limits = await self.redis.hgetall(self.keys.limits)
        limits = {_s(k): float(v) for k, v in raw_limits.items()}
        daily = {role: limits.get(f"daily:{role}", default) for role, default in self.daily.items()}
        return Spend(
            day=await self._floats(day),
            month=await self._floats(month),
            daily_limits=daily,
            monthly_limit=limits.get("monthly", self.monthly),
        )

    async def thread_spend(self, thread: str) -> float:
        raw = await self.redis.hget(self.keys.spend_threads, thread)
        return float(raw) if raw else 0.0

    async def top_threads(self, count: int = 5) -> list[tuple[str, float]]:
        """The threads that spent the most, most first."""
        raw = await self.redis.hgetall(self.keys.spend_threads)
        spent = sorted(((_s(k), float(v)) for k, v in raw.items()), key=lambda t: -t[1])
        return spent[:count]

    async def _floats(self, key: str) -> dict[str, float]:
        raw = await self.redis.hgetall(key)
        return {_s(k): float(v) for k, v in raw.items()}


def _usual_field(role: str, model: str) -> str:
    return f"{role}\0{model}"


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def worst_case_tokens(messages: Sequence[Message], tools: Sequence[ToolSpec]) -> int:
    """An upper bound on the input tokens of a request.

    A tokenizer never makes more tokens than the text has UTF-8 bytes, so the byte count
    bounds it from above, whatever the language; a fixed allowance covers each message's
    framing and the provider's tool-use preamble.
    """
    size = sum(len(m.model_dump_json().encode()) + 16 for m in messages)
    size += sum(len(t.model_dump_json().encode()) for t in tools)
    return size + (600 if tools else 0)
