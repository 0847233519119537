"""The crew end to end on a real Redis: delegation, approvals, restarts, limits, memory."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from equipage.agent import thread_id
from equipage.audit import AuditKey
from equipage.bus import Bus
from equipage.config import CompanyConfig
from equipage.connection import EmbeddedRedis, RedisTarget, connect
from equipage.crew import build_crew
from equipage.envelope import Answer, Attachment, Envelope, Kind, Origin
from equipage.keys import Keys
from equipage.llm.base import ChatModel
from equipage.llm.messages import Completion
from equipage.testing import ScriptedModel, call, wait_for_stream
from equipage.worker import Worker

ORIGIN = Origin(channel="console", chat="alice", member="alice")
#: Signs the audit of crews these tests run, so a test can check the chain they wrote.
AUDIT_KEY = AuditKey("tests-audit-key-" + "0" * 32)
REQUEST = "We launch next week: I need a launch post and a hosting cost note, then we publish."


def company(**runtime: Any) -> CompanyConfig:
    return CompanyConfig.model_validate(
        {
            "company": {"id": "acme", "name": "Acme", "profile": {"sells": "cloud hosting"}},
            "members": [
                {
                    "id": "alice",
                    "name": "Alice",
                    "role": "owner",
                    "identities": {"console": "alice"},
                }
            ],
            "roles": {
                "ceo": {"description": "runs the company"},
                "cto": {"description": "hosting and costs", "handles": ["hosting", "cost"]},
                "marketing": {"description": "launch posts", "handles": ["launch post"]},
                "support": {"description": "customers", "handles": ["customer"]},
            },
            "runtime": {"visibility_timeout": 0.3, "max_attempts": 3, **runtime},
        }
    )


@dataclass
class Running:
    redis: aioredis.Redis
    keys: Keys
    bus: Bus

    async def tell(
        self,
        text: str,
        *,
        to: str = "ceo",
        thread: str = "console:alice",
        files: tuple[Attachment, ...] = (),
    ) -> Envelope:
        envelope = Envelope(
            kind=Kind.TASK,
            company="acme",
            to=to,
            sender="member:alice",
            thread=thread,
            text=text,
            origin=ORIGIN,
            attachments=files,
        )
        await self.bus.publish(envelope)
        return envelope

    async def answer(self, question: Envelope, approved: bool = True, text: str = "") -> None:
        assert question.question is not None
        await self.bus.publish(
            Envelope(
                kind=Kind.ANSWER,
                company="acme",
                to=question.sender,
                sender="member:alice",
                thread=question.thread,
                origin=ORIGIN,
                answer=Answer(question_id=question.question.id, approved=approved, text=text),
            )
        )

    async def outbox(self, count: int, timeout: float = 20) -> list[Envelope]:
        entries = await wait_for_stream(self.redis, self.keys.outbox, count, timeout=timeout)
        return [Envelope.decode(fields[b"env"]) for _, fields in entries]

    async def published(self, kind: str) -> list[dict[str, Any]]:
        events: Any = await self.redis.xrange(self.keys.events)
        found = [json.loads(f[b"event"]) for _, f in events]
        return [e for e in found if e["type"] == "published" and e["kind"] == kind]


@asynccontextmanager
async def crew_running(
    redis: aioredis.Redis,
    keys: Keys,
    config: CompanyConfig | None = None,
    models: Mapping[str, str | ChatModel] | None = None,
) -> AsyncIterator[Running]:
    crew = build_crew(config or company(), redis, keys, models=models, audit_key=AUDIT_KEY)
    await crew.bus.ensure_groups(crew.handlers)
    stop = asyncio.Event()
    task = asyncio.create_task(
        Worker(crew.bus, crew.handlers, name="w", concurrency=4, block_ms=20).run(stop)
    )
    try:
        yield Running(redis, keys, crew.bus)
    finally:
        stop.set()
        await task


async def test_request_needing_two_roles_is_delegated_and_both_results_come_back(
    redis: aioredis.Redis, keys: Keys
) -> None:
    async with crew_running(redis, keys) as crew:
        await crew.tell(REQUEST)
        ack, question = await crew.outbox(2)

    assert ack.kind is Kind.REPLY and "I have asked cto and marketing" in ack.text
    assert question.kind is Kind.QUESTION and question.question is not None
    assert "**marketing**" in question.text and "**cto**" in question.text
    assert "Hosting cost note" in question.text and "launch post" in question.text.lower()
    tasks = await crew.published("task")
    assert sorted(e["to"] for e in tasks if e["sender"] == "ceo") == ["cto", "marketing"]
    results = await crew.published("result")
    assert sorted(e["sender"] for e in results) == ["cto", "marketing"]


async def test_paused_thread_resumes_with_the_answer_after_workers_and_redis_restart(
    tmp_path: Path, keys: Keys
) -> None:
    home = tmp_path / "data"
    server = EmbeddedRedis(home).start()
    redis = connect(RedisTarget(socket=server.socket_file))
    async with crew_running(redis, keys) as crew:
        await crew.tell(REQUEST)
        _, question = await crew.outbox(2)
    await redis.aclose()
    server.stop()  # the last process leaves: the server saves and exits, AOF on disk

    server = EmbeddedRedis(home).start()
    redis = connect(RedisTarget(socket=server.socket_file))
    try:
        async with crew_running(redis, keys) as crew:
            await crew.answer(question, approved=True)
            *_, confirmation = await crew.outbox(3)
        assert confirmation.kind is Kind.REPLY
        assert confirmation.text.startswith("Approved, thank you.")
        assert await redis.hlen(keys.approvals) == 0
    finally:
        await redis.aclose()
        server.stop()


async def test_rejection_resumes_the_thread_and_nothing_is_published(
    redis: aioredis.Redis, keys: Keys
) -> None:
    async with crew_running(redis, keys) as crew:
        await crew.tell(REQUEST)
        _, question = await crew.outbox(2)
        await crew.answer(question, approved=False, text="wait for the pricing page")
        *_, last = await crew.outbox(3)
    assert "nothing was published (wait for the pricing page)" in last.text


async def test_thread_over_the_hop_limit_stops_and_tells_the_founder(
    redis: aioredis.Redis, keys: Keys
) -> None:
    async with crew_running(redis, keys, company(max_hops=1)) as crew:
        await crew.tell(REQUEST)
        messages = await crew.outbox(3)
    stops = [m for m in messages if "over the limit of 1" in m.text]
    # Both results (hop 2) are stopped before the CEO sees them; the founder hears why.
    assert len(stops) == 2
    assert all(m.kind is Kind.REPLY and m.origin == ORIGIN for m in stops)
    assert "raise runtime.max_hops" in stops[0].text


async def test_message_sent_while_waiting_is_kept_and_the_founder_is_reminded(
    redis: aioredis.Redis, keys: Keys
) -> None:
    async with crew_running(redis, keys) as crew:
        await crew.tell(REQUEST)
        _, question = await crew.outbox(2)
        await crew.tell("Remember that our VAT number is FR123")
        reminder = (await crew.outbox(3))[-1]
        assert question.question is not None
        assert f"/approve {question.question.id}" in reminder.text
        await crew.answer(question)
        *_, confirmation, parked_answer = await crew.outbox(5)
    # The answer resumes the thread first; the parked message is then its own turn.
    assert confirmation.text.startswith("Approved, thank you.")
    assert parked_answer.text.startswith("remembered: our VAT number is FR123")
    assert await redis.hlen(keys.memory) == 1


@pytest.mark.parametrize(
    ("language", "refusal"),
    [
        (None, "Question deadbeef is no longer open; nothing was changed."),
        ("fr", "La question deadbeef n'est plus ouverte ; rien n'a été changé."),
    ],
)
async def test_answer_to_a_question_that_is_not_open_changes_nothing_and_says_so_in_their_language(
    redis: aioredis.Redis, keys: Keys, language: str | None, refusal: str
) -> None:
    async with crew_running(redis, keys) as crew:
        await crew.bus.publish(
            Envelope(
                kind=Kind.ANSWER,
                company="acme",
                to="ceo",
                sender="member:alice",
                thread="console:alice",
                origin=ORIGIN.model_copy(update={"language": language}),
                answer=Answer(question_id="deadbeef", approved=True),
            )
        )
        [reply] = await crew.outbox(1)
    assert reply.text == refusal


async def test_fact_remembered_by_one_role_is_recalled_by_another(
    redis: aioredis.Redis, keys: Keys
) -> None:
    async with crew_running(redis, keys) as crew:
        await crew.tell("Remember that our VAT number is FR123")
        await crew.outbox(1)
        await crew.tell("What do you know about our VAT number?", to="support", thread="s1")
        *_, answer = await crew.outbox(2)
    assert "our VAT number is FR123" in answer.text


async def test_worker_failing_mid_run_finishes_from_the_checkpoint_without_repeating_effects(
    redis: aioredis.Redis, keys: Keys
) -> None:
    ceo = ScriptedModel(
        [
            call("delegate", "c1", role="marketing", brief="write the launch post"),
            RuntimeError("the model's server closed the connection"),
            Completion(content="Waiting for marketing."),
            call("reply", "c2", text="Here is the launch post."),
            Completion(content=""),
        ]
    )
    async with crew_running(redis, keys, models={"ceo": ceo, "marketing": "offline"}) as crew:
        await crew.tell("launch post please")
        notice, reply = await crew.outbox(2)
    # Told once that it failed and is being retried, then answered.
    assert notice.sender == "equipage" and "I will retry it by myself" in notice.text
    assert reply.text == "Here is the launch post."
    # Call 1 (the delegation) was checkpointed: the retry replayed only the failed call.
    assert len(ceo.calls) == 5
    assert ceo.calls[2] == ceo.calls[1]
    assert sum(m.role == "assistant" and bool(m.tool_calls) for m in ceo.calls[2]) == 1
    assert await redis.xlen(keys.inbox("marketing")) == 1
    delegated = [e for e in await crew.published("task") if e["to"] == "marketing"]
    assert len(delegated) == 1


@pytest.mark.parametrize("role", ["ceo"])
async def test_thread_state_lives_in_the_redis_checkpointer(
    redis: aioredis.Redis, keys: Keys, role: str
) -> None:
    async with crew_running(redis, keys) as crew:
        await crew.tell("Remember that we are closed in August")
        await crew.outbox(1)
    assert await redis.sismember(keys.cp_threads, thread_id(role, "console:alice"))
