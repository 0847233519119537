"""Budgets that cannot be overrun: per role per day, per company per month.

Before every model call the caller reserves the call's worst case. One Lua script
checks the role's spend today and the company's spend this month, plus every other
call still in flight, against the limits, and holds the amount; afterwards the real
cost replaces the hold. So concurrent workers cannot, together, spend past a limit.
A hold expires after ``hold_seconds``, so a worker that died mid-call frees it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import redis.asyncio as aioredis

from equipage.keys import Keys
from equipage.llm.messages import Message, ToolSpec
from equipage.llm.pricing import CURRENCY

__all__ = ["Budget", "Refusal", "Spend", "worst_case_tokens"]

# KEYS: day hash, month hash, reservations hash, limits hash
# ARGV: role, amount, role daily limit, company monthly limit, now, hold id, expiry
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
  cjson.encode({role = role, amount = amount, expires = tonumber(ARGV[7])}))
return {'ok'}
"""

# KEYS: day hash, month hash, reservations hash, thread spend hash
# ARGV: hold id, role, cost, thread
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
return 1
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
            f"Budget reached: {what}{in_flight}; the next call could cost up to "
            f"{self.needed:.4f} {c}, so it was not made and this thread is paused. "
            f"To go on, {fix}; the thread resumes by itself."
        )


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

    def _now_keys(self) -> tuple[str, str]:
        now = datetime.now(UTC)
        return self.keys.spend_day(now.strftime("%Y-%m-%d")), self.keys.spend_month(
            now.strftime("%Y-%m")
        )

    async def reserve(self, role: str, amount: float) -> str | Refusal:
        """Hold ``amount`` for a call of ``role``: a hold id, or why it is refused."""
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
            ],
        )
        verdict = [r.decode() if isinstance(r, bytes) else str(r) for r in reply]
        if verdict[0] == "ok":
            return hold
        spent, limit, held = (float(v) for v in verdict[1:4])
        return Refusal(verdict[0], role, spent, limit, held, amount)

    async def settle(self, hold: str, role: str, cost: float, thread: str) -> None:
        """Replace the hold by the call's real cost, counted for the role and thread."""
        day, month = self._now_keys()
        await self._settle(
            keys=[day, month, self.keys.reservations, self.keys.spend_threads],
            args=[hold, role, repr(cost), thread],
        )

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
