"""Budgets: never exceeded by the calls the framework makes; a paused thread resumes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from equipage.app import Session, raise_budget
from equipage.approvals import Approvals
from equipage.budget import Budget, Refusal
from equipage.config import CompanyConfig, Settings
from equipage.connection import RedisTarget
from equipage.crew import build_crew
from equipage.envelope import Kind
from equipage.keys import Keys
from equipage.llm.messages import Completion, Usage
from equipage.testing import SONNET_SPEC, ScriptedModel, call, wait_until
from tests.test_crew import company, crew_running


def priced(content: str = "", cost: float = 0.0, **tool: Any) -> Completion:
    """A completion of a priced model that reports ``cost`` for itself."""
    done = (
        call(tool.pop("tool"), tool.pop("call_id"), **tool) if tool else Completion(content=content)
    )
    return done.model_copy(update={"usage": Usage(input_tokens=1000, output_tokens=100, cost=cost)})


def tight(daily: float) -> CompanyConfig:
    data: dict[str, Any] = company().model_dump(mode="json", exclude_unset=True)
    data["roles"]["ceo"]["daily_budget"] = daily
    return CompanyConfig.model_validate(data)


async def test_concurrent_reservations_never_add_up_past_the_limit(
    redis: aioredis.Redis, keys: Keys
) -> None:
    budget = Budget(redis, keys, daily={"ceo": 1.0}, monthly=100.0)
    verdicts = await asyncio.gather(*(budget.reserve("ceo", 0.3) for _ in range(10)))
    holds = [v for v in verdicts if isinstance(v, str)]
    assert len(holds) == 3
    refusal = next(v for v in verdicts if isinstance(v, Refusal))
    assert refusal.scope == "role" and refusal.held > 0.89

    for hold in holds:
        await budget.settle(hold, "ceo", 0.25, "ceo:t")
    assert (await budget.spend()).day == {"ceo": 0.75}
    assert await budget.thread_spend("ceo:t") == 0.75
    assert isinstance(await budget.reserve("ceo", 0.3), Refusal)
    assert isinstance(await budget.reserve("ceo", 0.2), str)


async def test_monthly_company_limit_binds_across_roles(redis: aioredis.Redis, keys: Keys) -> None:
    budget = Budget(redis, keys, daily={"ceo": 10.0, "cto": 10.0}, monthly=1.0)
    hold = await budget.reserve("ceo", 0.8)
    assert isinstance(hold, str)
    await budget.settle(hold, "ceo", 0.8, "t")
    refusal = await budget.reserve("cto", 0.3)
    assert isinstance(refusal, Refusal) and refusal.scope == "company"
    assert "equipage budget --monthly" in refusal.message()


async def test_expired_hold_of_a_dead_worker_frees_the_budget(
    redis: aioredis.Redis, keys: Keys
) -> None:
    budget = Budget(redis, keys, daily={"ceo": 1.0}, monthly=100.0, hold_seconds=0.0)
    assert isinstance(await budget.reserve("ceo", 0.9), str)  # never settled: a dead worker
    assert isinstance(await budget.reserve("ceo", 0.9), str)


async def test_call_over_budget_is_not_made_and_the_thread_resumes_when_raised(
    redis_target: RedisTarget, redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    ceo = ScriptedModel(
        [
            priced(tool="remember", call_id="c1", fact="we sell hosting", cost=0.05),
            priced("Noted: we sell hosting.", cost=0.01),
        ],
        name=SONNET_SPEC,
    )
    config = tight(daily=0.12)
    async with crew_running(redis, keys, config, models={"ceo": ceo}) as crew:
        await crew.tell("remember that we sell hosting")
        [paused] = await crew.outbox(1)
        assert len(ceo.calls) == 1  # the second call's worst case did not fit
        assert paused.kind is Kind.QUESTION and paused.question is not None
        assert paused.question.topic == "budget"
        assert paused.text.startswith("Budget reached: ceo has spent 0.0500 USD of its 0.12 USD")
        assert "equipage budget --role ceo --daily" in paused.text

        session = _session(config, redis, keys)
        [resumed] = await raise_budget(session, role="ceo", amount=1.0)
        assert resumed.id == paused.question.id
        _, reply = await crew.outbox(2)
    assert reply.text == "Noted: we sell hosting."
    spend = await Budget(redis, keys, daily={}, monthly=0).spend()
    assert spend.day == {"ceo": 0.06}
    assert await Approvals(redis, keys).all() == []


async def test_failed_call_releases_its_hold(redis: aioredis.Redis, keys: Keys) -> None:
    ceo = ScriptedModel(
        [RuntimeError("connection reset"), priced("done", cost=0.01), priced("", cost=0.0)],
        name=SONNET_SPEC,
    )
    async with crew_running(redis, keys, tight(daily=1.0), models={"ceo": ceo}) as crew:
        await crew.tell("hello")
        await crew.outbox(1)
        await wait_until(lambda: _no_holds(redis, keys), what="holds released")
    assert (await Budget(redis, keys, daily={}, monthly=0).spend()).day == {"ceo": 0.01}


async def test_same_tool_call_repeated_in_one_turn_stops_the_thread(
    redis: aioredis.Redis, keys: Keys
) -> None:
    again = call("recall", "x", query="pricing")
    ceo = ScriptedModel(
        [
            again.model_copy(
                update={"tool_calls": (again.tool_calls[0].model_copy(update={"id": f"c{n}"}),)}
            )
            for n in range(3)
        ]
    )
    async with crew_running(redis, keys, models={"ceo": ceo}) as crew:
        await crew.tell("what about pricing?")
        [stopped] = await crew.outbox(1)
    assert "asked for recall with the same arguments 3 times in one turn" in stopped.text
    assert len(ceo.calls) == 3


async def _no_holds(redis: aioredis.Redis, keys: Keys) -> bool:
    return not await redis.hlen(keys.reservations)


def _session(config: CompanyConfig, redis: aioredis.Redis, keys: Keys) -> Session:
    crew = build_crew(config, redis, keys)
    return Session(Settings(), config, RedisTarget(), redis, keys, crew, [])


def test_unknown_anthropic_model_is_charged_at_the_dearest_known_price() -> None:
    from equipage.llm.pricing import PRICES, price_of

    newer = price_of("anthropic:claude-sonnet-9")
    assert newer is not None and newer.as_of == "fallback"
    assert newer.output == max(p.output for p in PRICES.values())
    assert price_of("anthropic:claude-sonnet-4-5-20250929") == PRICES["anthropic:claude-sonnet-4-5"]
    assert price_of("openai:llama3.1") is None
