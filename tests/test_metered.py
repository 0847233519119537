"""One budget-aware model call: held before, settled after, never a hold left behind."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from equipage.budget import Budget, Refusal, worst_case_tokens
from equipage.keys import Keys
from equipage.llm.messages import Completion, Message, Usage
from equipage.llm.pricing import worst_case
from equipage.metered import Metered
from equipage.testing import SONNET_SPEC, ScriptedModel

PROMPT = [Message.system("Be brief."), Message.user("Hello")]


def billed(cost: float) -> Completion:
    usage = Usage(input_tokens=1000, output_tokens=100, cost=cost)
    return Completion(content="Hi.", model="sonnet", usage=usage)


async def test_a_call_is_billed_to_its_thread_and_teaches_the_usual_cost(
    redis: aioredis.Redis, keys: Keys
) -> None:
    budget = Budget(redis, keys, daily={"ceo": 5.0}, monthly=50.0)
    before = await budget.usual_cost("ceo", SONNET_SPEC, 2000, 4096)
    metered = Metered(ScriptedModel([billed(0.02)], name=SONNET_SPEC), budget, "ceo")
    done = await metered.complete(PROMPT, [], thread="ceo:t1")
    assert isinstance(done, Completion) and done.content == "Hi."
    assert await budget.thread_spend("ceo:t1") == pytest.approx(0.02)
    assert await redis.hlen(keys.reservations) == 0
    assert await budget.usual_cost("ceo", SONNET_SPEC, 2000, 4096) != before


async def test_a_failed_call_frees_its_hold_and_bills_nothing(
    redis: aioredis.Redis, keys: Keys
) -> None:
    budget = Budget(redis, keys, daily={"ceo": 5.0}, monthly=50.0)
    model = ScriptedModel([RuntimeError("provider down")], name=SONNET_SPEC)
    with pytest.raises(RuntimeError, match="provider down"):
        await Metered(model, budget, "ceo").complete(PROMPT, [], thread="ceo:t1")
    assert await redis.hlen(keys.reservations) == 0
    assert await budget.thread_spend("ceo:t1") == 0.0


async def test_a_call_past_the_budget_is_not_made_and_the_refusal_says_why(
    redis: aioredis.Redis, keys: Keys
) -> None:
    budget = Budget(redis, keys, daily={"ceo": 0.000001}, monthly=50.0)
    model = ScriptedModel([billed(0.02)], name=SONNET_SPEC)
    refused = await Metered(model, budget, "ceo").complete(PROMPT, [], thread="ceo:t1")
    assert isinstance(refused, Refusal) and refused.role == "ceo"
    assert model.calls == []


async def test_the_worst_case_hold_is_what_the_call_can_cost_and_learns_nothing(
    redis: aioredis.Redis, keys: Keys
) -> None:
    budget = Budget(redis, keys, daily={"ceo": 5.0}, monthly=50.0)
    held: list[float] = []

    async def reserve(on: Budget, amount: float) -> str | Refusal:
        held.append(amount)
        return await on.reserve("ceo", amount)

    model = ScriptedModel([billed(0.02)], name=SONNET_SPEC)
    metered = Metered(model, budget, "ceo", max_tokens=500, hold="worst")
    await metered.complete(PROMPT, [], thread="workflow.digest", reserve=reserve)
    assert held == [worst_case(SONNET_SPEC, worst_case_tokens(PROMPT, []), 500)]
    assert await budget.thread_spend("workflow.digest") == pytest.approx(0.02)
    assert await redis.hlen(keys.spend_usual) == 0


async def test_an_unpriced_model_or_no_budget_is_called_without_a_hold(
    redis: aioredis.Redis, keys: Keys
) -> None:
    budget = Budget(redis, keys, daily={"ceo": 0.000001}, monthly=50.0)
    unpriced = Metered(ScriptedModel([billed(0.02)]), budget, "ceo")
    assert isinstance(await unpriced.complete(PROMPT, [], thread="ceo:t1"), Completion)
    free = Metered(ScriptedModel([billed(0.02)], name=SONNET_SPEC), None, "ceo")
    assert isinstance(await free.complete(PROMPT, [], thread="ceo:t1"), Completion)
    assert await budget.thread_spend("ceo:t1") == 0.0
