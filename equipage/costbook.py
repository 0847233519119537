"""What model calls cost, day by day, per role, model and workflow, with their tokens.

The budget's ledger keeps what each role spent today and this month, which is what its
limits need; the console's costs page wants more: which model and which workflow the
money went to, over the last weeks, and how much of the input the prompt cache served.
Every metered call adds its cost and tokens to one hash per day (UTC), whose fields are
``<role>|<model>|<workflow>|<measure>``: a bounded set (roles, models and workflows are
the crew's config, never a thread), so a day's hash stays small whatever the traffic.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict

from equipage.keys import Keys
from equipage.llm.messages import Usage

__all__ = ["KEPT_DAYS", "CostBook", "CostLine", "Spent", "read_costbook", "record_call"]

#: Days a day's hash is kept: a year and a month, so a year ago is still there to compare.
KEPT_DAYS = 400

_MEASURES = ("calls", "cost", "input", "output", "cache_read", "cache_write")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Spent(_Model):
    """Cost and tokens summed over some calls."""

    calls: int = 0
    cost: float = 0.0
    input: int = 0  # uncached input tokens
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0

    @property
    def all_input(self) -> int:
        return self.input + self.cache_read + self.cache_write

    @property
    def cached_share(self) -> float | None:
        """Share of the input tokens read from the prompt cache; None without input."""
        total = self.all_input
        return self.cache_read / total if total else None

    def plus(self, other: Spent) -> Spent:
        return Spent(**{m: getattr(self, m) + getattr(other, m) for m in _MEASURES})


class CostLine(_Model):
    """What one role spent on one model for one workflow ("" for its own turns) one day."""

    day: date
    role: str
    model: str
    workflow: str
    spent: Spent


class CostBook(_Model):
    """The lines of a range of days, and their sums by each dimension."""

    first: date
    last: date
    lines: tuple[CostLine, ...]

    def total(self) -> Spent:
        return _sum(line.spent for line in self.lines)

    def by(self, dimension: str) -> list[tuple[str, Spent]]:
        """Sums by ``role``, ``model`` or ``workflow``, costliest first."""
        groups: dict[str, list[Spent]] = defaultdict(list)
        for line in self.lines:
            groups[str(getattr(line, dimension))].append(line.spent)
        sums = [(name, _sum(spent)) for name, spent in groups.items()]
        return sorted(sums, key=lambda item: (-item[1].cost, item[0]))

    def by_day(self) -> list[tuple[date, Spent]]:
        """Every day of the range, oldest first, with what it spent (zero for none)."""
        groups: dict[date, list[Spent]] = defaultdict(list)
        for line in self.lines:
            groups[line.day].append(line.spent)
        days = (self.last - self.first).days + 1
        every = (self.first + timedelta(days=n) for n in range(days))
        return [(day, _sum(groups.get(day, []))) for day in every]


def _sum(items: Iterable[Spent]) -> Spent:
    total = Spent()
    for item in items:
        total = total.plus(item)
    return total


def _escape(value: str) -> str:
    # '|' separates a field's parts: a model spec may hold anything.
    return value.replace("%", "%25").replace("|", "%7C")


def _unescape(value: str) -> str:
    return value.replace("%7C", "|").replace("%25", "%")


async def record_call(
    redis: aioredis.Redis,
    keys: Keys,
    *,
    role: str,
    model: str,
    workflow: str,
    usage: Usage,
    at: datetime | None = None,
) -> None:
    """Add one finished call's cost and tokens to today's hash (UTC)."""
    day = (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%d")
    key = keys.cost_book(day)
    head = "|".join(_escape(p) for p in (role, model, workflow))
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hincrby(key, f"{head}|calls", 1)
        if usage.cost:
            pipe.hincrbyfloat(key, f"{head}|cost", usage.cost)
        counts = {
            "input": usage.input_tokens,
            "output": usage.output_tokens,
            "cache_read": usage.cache_read_tokens,
            "cache_write": usage.cache_write_tokens,
        }
        for measure, count in counts.items():
            if count:
                pipe.hincrby(key, f"{head}|{measure}", count)
        pipe.expire(key, KEPT_DAYS * 86400)
        await pipe.execute()


async def read_costbook(
    redis: aioredis.Redis, keys: Keys, *, days: int = 30, today: date | None = None
) -> CostBook:
    """The last ``days`` days up to ``today`` (UTC), one round trip."""
    last = today or datetime.now(UTC).date()
    first = last - timedelta(days=days - 1)
    every = [first + timedelta(days=n) for n in range(days)]
    async with redis.pipeline(transaction=False) as pipe:
        for day in every:
            pipe.hgetall(keys.cost_book(day.isoformat()))
        hashes: list[Any] = await pipe.execute()
    lines = []
    for day, fields in zip(every, hashes, strict=True):
        lines += _lines(day, fields)
    return CostBook(first=first, last=last, lines=tuple(lines))


def _lines(day: date, fields: dict[Any, Any]) -> list[CostLine]:
    found: dict[tuple[str, str, str], dict[str, float]] = defaultdict(dict)
    for raw, value in fields.items():
        name = raw.decode() if isinstance(raw, bytes) else str(raw)
        parts = name.split("|")
        if len(parts) != 4 or parts[3] not in _MEASURES:
            continue  # written by another version: not ours to read
        role, model, workflow = (_unescape(p) for p in parts[:3])
        found[(role, model, workflow)][parts[3]] = float(value)
    lines = []
    for (role, model, workflow), measures in sorted(found.items()):
        spent = Spent(
            **{
                m: measures.get(m, 0.0) if m == "cost" else int(measures.get(m, 0))
                for m in _MEASURES
            }
        )
        lines.append(CostLine(day=day, role=role, model=model, workflow=workflow, spent=spent))
    return lines
