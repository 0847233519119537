"""Workflows started by an agent run on their own inbox and report back to its thread."""

from __future__ import annotations

from typing import Any

import pytest
import redis.asyncio as aioredis

from equipage.config import CompanyConfig
from equipage.crew import build_crew
from equipage.envelope import Kind
from equipage.errors import ConfigError
from equipage.keys import Keys
from equipage.llm.messages import Completion, Message
from equipage.prompting import parse_result
from equipage.testing import ScriptedModel, call
from equipage.workflow import load_workflow
from tests.test_crew import company, crew_running


def with_workflows(*names: str) -> CompanyConfig:
    data: dict[str, Any] = company().model_dump(mode="json", exclude_unset=True)
    data["workflows"] = list(names)
    return CompanyConfig.model_validate(data)


def relay_result(messages: Any) -> Completion:
    """Reply to the founder with the workflow's result, as a model would."""
    last: Message = messages[-1]
    parsed = parse_result(last)
    assert parsed is not None, f"expected a workflow result, got {last}"
    return call("reply", "r1", text=parsed[2])


async def test_agent_starts_a_workflow_and_its_output_comes_back_to_the_thread(
    redis: aioredis.Redis, keys: Keys
) -> None:
    ceo = ScriptedModel(
        [
            call("start_workflow", "w1", name="digest", input={"hours": 1}),
            Completion(content=""),
            relay_result,
            Completion(content=""),
        ]
    )
    config = with_workflows("digest")
    async with crew_running(redis, keys, config, models={"ceo": ceo}) as crew:
        await crew.tell("what did the crew do?")
        [reply] = await crew.outbox(1)
    assert reply.kind is Kind.REPLY
    assert reply.text.startswith("**Crew activity over the last 1 h**")
    assert "- ceo: 1 message(s) handled" in reply.text
    assert await redis.xlen(keys.inbox("workflow.digest")) == 1


async def test_workflow_input_that_does_not_validate_comes_back_as_an_error(
    redis: aioredis.Redis, keys: Keys
) -> None:
    ceo = ScriptedModel(
        [
            call("start_workflow", "w1", name="digest", input={"hours": -3}),
            Completion(content=""),
            relay_result,
            Completion(content=""),
        ]
    )
    async with crew_running(redis, keys, with_workflows("digest"), models={"ceo": ceo}) as crew:
        await crew.tell("digest please")
        [reply] = await crew.outbox(1)
    assert reply.text.startswith("error: workflow digest refused its input: hours:")
    assert await redis.xlen(keys.dead) == 0


async def test_unknown_workflow_is_refused_to_the_model_not_raised(
    redis: aioredis.Redis, keys: Keys
) -> None:
    ceo = ScriptedModel(
        [
            call("start_workflow", "w1", name="tenders"),
            lambda messages: call("reply", "r1", text=messages[-1].content),
            Completion(content=""),
        ]
    )
    async with crew_running(redis, keys, with_workflows("digest"), models={"ceo": ceo}) as crew:
        await crew.tell("find tenders")
        [reply] = await crew.outbox(1)
    assert reply.text == "error: unknown workflow 'tenders'; available: digest"


def test_enabling_a_workflow_that_does_not_exist_fails_at_start_with_a_fix(
    redis: aioredis.Redis, keys: Keys
) -> None:
    with pytest.raises(ConfigError, match=r"no module workflows/nope\.py"):
        build_crew(with_workflows("nope"), redis, keys)
    assert load_workflow("digest").name == "digest"


async def test_offline_ceo_starts_the_digest_when_asked_what_the_crew_did(
    redis: aioredis.Redis, keys: Keys
) -> None:
    async with crew_running(redis, keys, with_workflows("digest")) as crew:
        await crew.tell("Quel est le bilan de l'activité de l'équipe ?")
        ack, summary = await crew.outbox(2)
    assert "the digest workflow" in ack.text
    assert "**Crew activity over the last 24 h**" in summary.text
    assert "modèle hors ligne" in summary.text
