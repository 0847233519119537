"""A worker killed between any two checkpoint writes: the redelivered turn runs once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest
import redis.asyncio as aioredis
from langchain_core.runnables import RunnableConfig

from equipage import fence
from equipage.checkpoint import RedisSaver
from equipage.config import CompanyConfig
from equipage.crew import build_crew
from equipage.effects import Effects
from equipage.envelope import Envelope, Kind, Origin
from equipage.errors import TurnLost
from equipage.keys import Keys
from equipage.llm.messages import INTERRUPTED, Completion, Message, ToolCall, ToolSpec, Usage
from equipage.runtime import ThreadRunner

ORIGIN = Origin(channel="console", chat="alice", member="alice")


class Killed(BaseException):
    """What SIGKILL does to a run: nothing after it happens (not an Exception: no retry)."""


class EchoModel:
    """Answers each message of the founder with one reply call, then ends its turn."""

    name = "echo"

    def __init__(self) -> None:
        self.calls: list[list[Message]] = []

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        *,
        on_text: Callable[[str], Awaitable[None]] | None = None,
    ) -> Completion:
        self.calls.append(list(messages))
        last = messages[-1]
        if last.role == "user":
            said = last.content
            reply = ToolCall(
                id=f"call-{len(said)}-{said[:12]}",
                name="reply",
                arguments={"text": f"done: {said}"},
            )
            return Completion(content="", tool_calls=(reply,), usage=Usage())
        return Completion(content="", usage=Usage())


def company() -> CompanyConfig:
    return CompanyConfig.model_validate(
        {
            "company": {"id": "acme", "name": "Acme", "profile": {"sells": "hosting"}},
            "members": [
                {
                    "id": "alice",
                    "name": "Alice",
                    "role": "owner",
                    "identities": {"console": "alice"},
                }
            ],
            "roles": {"ceo": {"description": "runs the company"}},
        }
    )


def task(text: str) -> Envelope:
    return Envelope(
        kind=Kind.TASK,
        company="acme",
        to="ceo",
        sender="member:alice",
        thread="console:alice",
        text=text,
        origin=ORIGIN,
    )


@pytest.mark.parametrize("kill_at", range(1, 14))
async def test_turn_killed_between_checkpoint_writes_runs_once_on_redelivery(
    redis: aioredis.Redis, keys: Keys, kill_at: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes = 0
    put, put_writes = RedisSaver.aput, RedisSaver.aput_writes

    def counted(real: Any) -> Any:
        async def write(self: RedisSaver, *args: Any, **kwargs: Any) -> Any:
            nonlocal writes
            writes += 1
            if writes >= kill_at:  # dead: nothing more reaches Redis
                raise Killed()
            return await real(self, *args, **kwargs)

        return write

    monkeypatch.setattr(RedisSaver, "aput", counted(put))
    monkeypatch.setattr(RedisSaver, "aput_writes", counted(put_writes))
    model = EchoModel()
    crew = build_crew(company(), redis, keys, models={"ceo": model})
    first, second = task("first"), task("second")
    writes = -10_000
    assert [e.text for e in await crew.handlers["ceo"](first)] == ["done: first"]
    writes = 0
    try:
        await crew.handlers["ceo"](second)
        killed = False
    except Killed:
        killed = True
    writes = -10_000  # the redelivery runs without kills
    out = await crew.handlers["ceo"](second)
    again = await crew.handlers["ceo"](second)
    print(kill_at, killed, [e.text for e in out], len(model.calls))
    assert [e.text for e in out] == ["done: second"]
    assert [e.text for e in again] == ["done: second"]
    history = model.calls[-1]
    users = [m.content for m in history if m.role == "user"]
    assert users == ["first", "second"]
    tools = [m for m in history if m.role == "tool"]
    assert len(tools) == 2


async def test_a_call_left_without_result_reaches_the_model_as_interrupted(
    redis: aioredis.Redis, keys: Keys
) -> None:
    """Issue 11, cause 2: a dead turn's call with no result made every later request a 400."""
    model = EchoModel()
    crew = build_crew(company(), redis, keys, models={"ceo": model})
    runner = crew.handlers["ceo"]
    assert isinstance(runner, ThreadRunner)
    await runner(task("first"))
    cut = ToolCall(id="cut-1", name="remember", arguments={"fact": "half done"})
    config: RunnableConfig = {"configurable": {"thread_id": "ceo:console:alice"}}
    await runner.graph.aupdate_state(config, {"messages": [Message.assistant("", (cut,))]})

    await runner(task("second"))
    sent = model.calls[-2]  # the call that answered "second"
    at = next(i for i, m in enumerate(sent) if cut in m.tool_calls)
    assert sent[at + 1].role == "tool" and sent[at + 1].tool_call_id == "cut-1"
    assert sent[at + 1].content == INTERRUPTED
    calls = {c.id for m in sent for c in m.tool_calls}
    assert calls <= {m.tool_call_id for m in sent if m.role == "tool"}


async def test_an_effectful_call_runs_once_and_a_cut_one_is_reported_not_rerun(
    redis: aioredis.Redis, keys: Keys
) -> None:
    effects = Effects(redis, keys)
    runs: list[str] = []

    async def send() -> tuple[str, bool]:
        runs.append("sent")
        return "mail sent", False

    assert await effects.once("ceo:t", "env1", "c1", send) == ("mail sent", False)
    assert await effects.once("ceo:t", "env1", "c1", send) == ("mail sent", False)
    assert runs == ["sent"]

    async def killed() -> tuple[str, bool]:
        raise Killed()

    with pytest.raises(Killed):
        await effects.once("ceo:t", "env1", "c2", killed)
    assert await effects.once("ceo:t", "env1", "c2", send) == (INTERRUPTED, False)
    assert runs == ["sent"]
    # Another envelope's call with the same id (the offline model reuses ids) runs.
    assert await effects.once("ceo:t", "env2", "c1", send) == ("mail sent", False)
    assert runs == ["sent", "sent"]


async def test_a_run_that_lost_its_thread_while_frozen_does_not_overwrite_the_newer_turns(
    redis: aioredis.Redis, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the chaos suite: a worker frozen past its heartbeat woke and stored its
    stale checkpoint over the turns another worker had run since (answers with no turn)."""
    crew = build_crew(company(), redis, keys, models={"ceo": EchoModel()})
    handler = crew.handlers["ceo"]
    assert isinstance(handler, ThreadRunner)
    thread = "ceo:console:alice"
    await handler(task("first"))
    paused, thaw = asyncio.Event(), asyncio.Event()
    real = RedisSaver.aput
    writes = 0

    async def aput(self: RedisSaver, *args: Any, **kwargs: Any) -> Any:
        nonlocal writes
        fenced = fence.current.get()
        if fenced is not None and fenced.token == "frozen":
            writes += 1
            if writes == 2:  # SIGSTOP mid-run
                paused.set()
                await thaw.wait()
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(RedisSaver, "aput", aput)

    async def holding(token: str, envelope: Envelope) -> Sequence[Envelope]:
        await redis.set(keys.lock(thread), token)
        fence.current.set(fence.Fence(thread, token))
        return await handler(envelope)

    second, third = task("second"), task("third")
    stale = asyncio.create_task(holding("frozen", second))
    await paused.wait()
    # Its heartbeat went stale: another worker took the thread and the thread went on.
    assert [e.text for e in await holding("rescuer", second)] == ["done: second"]
    assert [e.text for e in await holding("rescuer", third)] == ["done: third"]
    thaw.set()
    with pytest.raises(TurnLost):
        await stale

    config: RunnableConfig = {"configurable": {"thread_id": thread}}
    snapshot = await handler.graph.aget_state(config)
    users = [m.content for m in snapshot.values["messages"] if m.role == "user"]
    assert users == ["first", "second", "third"]
