"""RedisSaver against the LangGraph conformance suite, a real Redis restart, and pruning."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, TypedDict
from uuid import uuid4

import pytest
import redis.asyncio as aioredis
from langchain_core.runnables import RunnableConfig
from langgraph.channels.delta import DeltaChannel
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.capabilities import Capability
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from equipage.checkpoint import RedisSaver
from equipage.connection import EmbeddedRedis, RedisTarget, connect
from equipage.keys import Keys


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """An embedded server of this test's own, to restart; its append-only file survives."""
    embedded = EmbeddedRedis(tmp_path / "data").start()
    try:
        yield embedded
    finally:
        embedded.stop()


def client_of(server: EmbeddedRedis) -> aioredis.Redis:
    return connect(RedisTarget(socket=server.socket_file))


def fresh_keys() -> Keys:
    return Keys("acme", namespace=f"t{uuid4().hex[:8]}")


async def test_redis_saver_passes_every_conformance_capability(redis: aioredis.Redis) -> None:
    @checkpointer_test(name="RedisSaver")
    async def fresh_saver() -> AsyncIterator[RedisSaver]:
        yield RedisSaver(redis, fresh_keys())

    report = await validate(fresh_saver)

    report.print_report()
    failures = {
        name: result.failures for name, result in report.results.items() if not result.passed
    }
    for name, messages in failures.items():
        print(f"{name} failed:", *messages, sep="\n  ")
    assert set(report.results) == {capability.value for capability in Capability}
    assert not failures, f"conformance failures: {failures}"
    assert all(result.detected for result in report.results.values())


class Approval(TypedDict, total=False):
    request: str
    answer: str


def ask_for_approval(state: Approval) -> dict[str, Any]:
    return {"answer": interrupt("approve?")}


def approval_graph(saver: RedisSaver) -> Any:
    builder = StateGraph(Approval)
    builder.add_node("ask_for_approval", ask_for_approval)
    builder.add_edge(START, "ask_for_approval")
    builder.add_edge("ask_for_approval", END)
    return builder.compile(checkpointer=saver)


async def test_interrupted_graph_resumes_after_redis_restart(server: EmbeddedRedis) -> None:
    keys = fresh_keys()
    config = {"configurable": {"thread_id": "deal-42"}}

    first_client = client_of(server)
    paused = await approval_graph(RedisSaver(first_client, keys)).ainvoke(
        {"request": "sign the lease"}, config
    )
    await first_client.aclose()
    assert [i.value for i in paused["__interrupt__"]] == ["approve?"]

    server.stop()
    server.start()

    second_client = client_of(server)
    try:
        graph = approval_graph(RedisSaver(second_client, keys))
        resumed = await graph.ainvoke(Command(resume="yes"), config)
    finally:
        await second_client.aclose()
    assert resumed == {"request": "sign the lease", "answer": "yes"}


def append_batches(log: list[str] | None, batches: Sequence[list[str]]) -> list[str]:
    return [*(log or []), *(item for batch in batches for item in batch)]


class Journal(TypedDict):
    entries: Annotated[list[str], DeltaChannel(append_batches, snapshot_frequency=4)]


def note(state: Journal) -> dict[str, Any]:
    return {"entries": ["noted"]}


async def test_pruning_keeps_the_ancestors_a_delta_channel_replays(
    redis: aioredis.Redis,
) -> None:
    saver = RedisSaver(redis, fresh_keys())
    builder = StateGraph(Journal)
    builder.add_node("note", note)
    builder.add_edge(START, "note")
    builder.add_edge("note", END)
    graph = builder.compile(checkpointer=saver)
    config: RunnableConfig = {"configurable": {"thread_id": "journal"}}
    for day in range(3):
        await graph.ainvoke({"entries": [f"day {day}"]}, config)

    await saver.aprune(["journal"], strategy="keep_latest")

    kept = [checkpoint async for checkpoint in saver.alist(config)]
    state = await graph.aget_state(config)
    assert state.values == {"entries": ["day 0", "noted", "day 1", "noted", "day 2", "noted"]}
    assert 1 < len(kept) < 9, "prune drops what no delta channel replays, and only that"
