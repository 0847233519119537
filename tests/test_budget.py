"""Budgets: never exceeded by the calls the framework makes; a paused thread resumes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from equipage.app import Session, raise_budget
from equipage.approvals import Approvals
from equipage.budget import DEFAULT_OUTPUT_TOKENS, Budget, Refusal, sample_of
from equipage.config import CompanyConfig, Settings
from equipage.connection import RedisTarget
from equipage.crew import build_crew
from equipage.envelope import Kind
from equipage.keys import Keys
from equipage.llm.messages import Completion, Message, ToolSpec, Usage
from equipage.llm.pricing import price_of, worst_case
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
    config = tight(daily=0.051)
    async with crew_running(redis, keys, config, models={"ceo": ceo}) as crew:
        await crew.tell("remember that we sell hosting")
        [paused] = await crew.outbox(1)
        assert len(ceo.calls) == 1  # even the second call's usual cost did not fit
        assert paused.kind is Kind.QUESTION and paused.question is not None
        assert paused.question.topic == "budget"
        assert paused.text.startswith("Budget reached: ceo has spent 0.0500 USD of its 0.05 USD")
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
        await crew.outbox(2)  # the notice that it failed and is retried, then the answer
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


async def test_eight_concurrent_calls_at_half_the_limit_are_all_made(
    redis: aioredis.Redis, keys: Keys
) -> None:
    budget = Budget(redis, keys, daily={"ceo": 1.0}, monthly=100.0)
    await _spent(budget, "ceo", 0.5)
    amount = await budget.usual_cost("ceo", SONNET_SPEC, 2000, 8192)
    # Each call's worst case is a seventh of the limit: eight could not all be held.
    assert 8 * worst_case(SONNET_SPEC, 2000, 8192) > 0.5

    verdicts = await asyncio.gather(*(budget.reserve("ceo", amount) for _ in range(8)))

    assert all(isinstance(v, str) for v in verdicts), verdicts


async def test_call_whose_usual_cost_fits_is_made_though_its_worst_case_would_not(
    redis: aioredis.Redis, keys: Keys
) -> None:
    ceo = ScriptedModel([priced("Hello.", cost=0.001)], name=SONNET_SPEC)
    await _spent(Budget(redis, keys, daily={"ceo": 0.1}, monthly=100.0), "ceo", 0.05)
    async with crew_running(redis, keys, tight(daily=0.1), models={"ceo": ceo}) as crew:
        await crew.tell("hello")
        [reply] = await crew.outbox(1)
    assert reply.text == "Hello."  # not a budget question: half the limit is left
    assert worst_case(SONNET_SPEC, 0, 4096) > 0.05  # the old hold: max_tokens of output


async def test_holds_are_sized_from_what_the_roles_recent_calls_really_used(
    redis: aioredis.Redis, keys: Keys
) -> None:
    budget = Budget(redis, keys, daily={"ceo": 1.0}, monthly=100.0)
    price = price_of(SONNET_SPEC)
    assert price is not None
    first = await budget.usual_cost("ceo", SONNET_SPEC, 2000, 8192)
    assert first == (2000 * price.cache_write + DEFAULT_OUTPUT_TOKENS * price.output) / 1e6
    assert await budget.usual_cost("ceo", SONNET_SPEC, 2000, 500) < first  # capped

    for output in (300, 120):
        hold = await budget.reserve("ceo", first)
        assert isinstance(hold, str)
        usage = Usage(input_tokens=500, output_tokens=output, cost=0.01)
        await budget.settle(hold, "ceo", 0.01, "ceo:t", sample_of(SONNET_SPEC, 2000, usage))

    # The longest recent output, and the input billed per token of the prompt's bound.
    learned = (2000 * price.input * 500 / 2000 + 300 * price.output) / 1e6
    assert await budget.usual_cost("ceo", SONNET_SPEC, 2000, 8192) == pytest.approx(learned)
    assert await budget.usual_cost("cto", SONNET_SPEC, 2000, 8192) == first


async def test_limit_is_overrun_by_at_most_what_the_calls_in_flight_cost_beyond_their_holds(
    redis: aioredis.Redis, keys: Keys
) -> None:
    budget = Budget(redis, keys, daily={"ceo": 1.0}, monthly=100.0)
    await _spent(budget, "ceo", 0.5)
    amount = await budget.usual_cost("ceo", SONNET_SPEC, 2000, 8192)
    holds = [await budget.reserve("ceo", amount) for _ in range(40)]
    admitted = [h for h in holds if isinstance(h, str)]
    assert 8 <= len(admitted) < 40  # the usual costs fill the limit, then refusal

    # Every admitted call turns out to be a worst case: full output, input all cache writes.
    worst = worst_case(SONNET_SPEC, 2000, 8192)
    usage = Usage(input_tokens=0, cache_write_tokens=2000, output_tokens=8192, cost=worst)
    for hold in admitted:
        await budget.settle(hold, "ceo", worst, "ceo:t", sample_of(SONNET_SPEC, 2000, usage))

    spent = (await budget.spend()).day["ceo"]
    assert spent > 1.0
    assert spent <= 1.0 + len(admitted) * (worst - amount) + 1e-9  # the bound budget.py states
    assert isinstance(await budget.reserve("ceo", 0.0001), Refusal)
    # The long outputs teach the next holds: the usual cost is now the worst case.
    assert await budget.usual_cost("ceo", SONNET_SPEC, 2000, 8192) == pytest.approx(worst)


async def test_hold_of_a_killed_call_is_released_when_its_envelope_comes_again(
    redis: aioredis.Redis, keys: Keys
) -> None:
    budget = Budget(redis, keys, daily={"ceo": 1.0}, monthly=100.0)
    assert isinstance(await budget.reserve("ceo", 0.8, envelope="env-killed"), str)
    alive = await budget.reserve("ceo", 0.1, envelope="env-alive")
    assert isinstance(alive, str)
    assert isinstance(await budget.reserve("ceo", 0.5, envelope="env-next"), Refusal)

    assert await budget.release_for("env-killed") == 1

    assert isinstance(await budget.reserve("ceo", 0.5, envelope="env-next"), str)
    assert await budget.release_for("env-killed") == 0
    assert isinstance(await budget.reserve("ceo", 0.5), Refusal)  # the live hold still counts


async def test_agent_tags_its_hold_with_the_envelope_it_handles(
    redis: aioredis.Redis, keys: Keys
) -> None:
    model = _Stuck(SONNET_SPEC)
    async with crew_running(redis, keys, tight(daily=1.0), models={"ceo": model}) as crew:
        try:
            told = await crew.tell("hello")
            await wait_until(lambda: redis.hlen(keys.reservations), what="a call in flight")
            [held] = (await redis.hgetall(keys.reservations)).values()
            assert json.loads(held)["envelope"] == told.id
            budget = Budget(redis, keys, daily={}, monthly=0)
            # What the runtime does when the envelope of a dead attempt comes again.
            assert await budget.release_for(told.id) == 1
            assert await redis.hlen(keys.reservations) == 0
        finally:
            model.release.set()  # lets the worker stop


class _Stuck:
    """A priced model whose call hangs until released, as if its worker were killed."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.release = asyncio.Event()

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        *,
        on_text: Callable[[str], Awaitable[None]] | None = None,
    ) -> Completion:
        await self.release.wait()
        raise RuntimeError("connection reset")


async def _spent(budget: Budget, role: str, amount: float) -> None:
    hold = await budget.reserve(role, amount)
    assert isinstance(hold, str)
    await budget.settle(hold, role, amount, f"{role}:earlier")


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
