"""RedisSaver against the LangGraph conformance suite, a real Redis restart, and pruning."""

from __future__ import annotations

import asyncio
import operator
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, TypedDict
from uuid import uuid4

import pytest
import redis.asyncio as aioredis
from langchain_core.runnables import RunnableConfig
from langgraph.channels.delta import DeltaChannel
from langgraph.checkpoint.base import Checkpoint, CheckpointMetadata, empty_checkpoint
from langgraph.checkpoint.base.id import uuid6
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.capabilities import Capability
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from equipage import fence
from equipage.checkpoint import RedisSaver
from equipage.checkpoint.prune import Pruner
from equipage.connection import EmbeddedRedis, RedisTarget, connect
from equipage.errors import TurnLost
from equipage.keys import Keys
from equipage.testing.cluster import info_of_masters


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
    graph = journal_graph(saver)
    config: RunnableConfig = {"configurable": {"thread_id": "journal"}}
    for day in range(3):
        await graph.ainvoke({"entries": [f"day {day}"]}, config)

    await saver.aprune(["journal"], strategy="keep_latest")

    kept = [checkpoint async for checkpoint in saver.alist(config)]
    state = await graph.aget_state(config)
    assert state.values == {"entries": ["day 0", "noted", "day 1", "noted", "day 2", "noted"]}
    assert 1 < len(kept) < 9, "prune drops what no delta channel replays, and only that"


class Chat(TypedDict, total=False):
    messages: Annotated[list[str], operator.add]
    steps: int


def plan(state: Chat) -> dict[str, Any]:
    return {"messages": ["plan"], "steps": 1}


def act(state: Chat) -> dict[str, Any]:
    return {"messages": [f"act on {len(state['messages'])}"], "steps": state["steps"] + 1}


def reply(state: Chat) -> dict[str, Any]:
    return {"messages": ["reply"], "steps": state["steps"] + 1}


def chat_graph(saver: RedisSaver) -> Any:
    builder = StateGraph(Chat)
    for node in (plan, act, reply):
        builder.add_node(node.__name__, node)
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "act")
    builder.add_edge("act", "reply")
    builder.add_edge("reply", END)
    return builder.compile(checkpointer=saver)


def text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


async def stored_keys(redis: aioredis.Redis, keys: Keys, thread_id: str) -> set[str]:
    """The keys a thread's bookkeeping set names, after checking each exists and nothing
    of the thread's lies outside it (the test's namespace holds this one thread)."""
    owned = {text(m) for m in await redis.smembers(keys.cp_thread_keys(thread_id))}
    present = {text(k) async for k in redis.scan_iter(f"{keys.prefix}cp:*")}
    bookkeeping = {keys.cp_threads, keys.cp_thread_keys(thread_id)}
    assert present - bookkeeping == owned, "the bookkeeping set names exactly the thread's keys"
    return owned


async def test_a_thread_pruned_after_every_turn_keeps_a_bounded_number_of_keys(
    redis: aioredis.Redis,
) -> None:
    keys = fresh_keys()
    saver = RedisSaver(redis, keys)
    graph = chat_graph(saver)
    config: RunnableConfig = {"configurable": {"thread_id": "chat"}}
    counts = []
    for turn in range(30):
        await graph.ainvoke({"messages": [f"turn {turn}"]}, config, durability="sync")
        await saver.aprune_thread("chat")
        counts.append(len(await stored_keys(redis, keys, "chat")))

    # One checkpoint, its index and namespace set, one blob per channel the graph has.
    assert counts[4] == counts[-1] <= 12, counts
    assert [t.config async for t in saver.alist(config)] == [
        (await saver.aget_tuple(config) or pytest.fail("no checkpoint")).config
    ]
    state = await graph.aget_state(config)
    assert state.values["steps"] == 3 and len(state.values["messages"]) == 4 * 30


async def test_an_unpruned_thread_grows_by_every_checkpoint_of_every_turn(
    redis: aioredis.Redis,
) -> None:
    keys = fresh_keys()
    graph = chat_graph(RedisSaver(redis, keys))
    config: RunnableConfig = {"configurable": {"thread_id": "chat"}}
    counts = []
    for turn in range(3):
        await graph.ainvoke({"messages": [f"turn {turn}"]}, config, durability="sync")
        counts.append(len(await stored_keys(redis, keys, "chat")))

    assert counts[0] < counts[1] < counts[2], counts


async def test_pruning_deletes_the_blobs_and_writes_no_kept_checkpoint_references(
    redis: aioredis.Redis,
) -> None:
    keys = fresh_keys()
    saver = RedisSaver(redis, keys)
    graph = chat_graph(saver)
    config: RunnableConfig = {"configurable": {"thread_id": "chat"}}
    for turn in range(3):
        await graph.ainvoke({"messages": [f"turn {turn}"]}, config, durability="sync")
    before = await stored_keys(redis, keys, "chat")
    head = await saver.aget_tuple(config)
    assert head is not None

    await saver.aprune_thread("chat")

    after = await stored_keys(redis, keys, "chat")
    versions = head.checkpoint["channel_versions"]
    referenced = {keys.cp_blob("chat", "", ch, str(v)) for ch, v in versions.items()}
    assert {k for k in after if ":cp:bl:" in k} <= referenced
    assert {k for k in after if ":cp:ck:" in k} == {
        keys.cp_checkpoint("chat", "", head.config["configurable"]["checkpoint_id"])
    }
    assert not {k for k in after if ":cp:wr:" in k} - {
        keys.cp_writes("chat", "", head.config["configurable"]["checkpoint_id"])
    }
    assert len(after) < len(before)
    assert await saver.aget_tuple(config) == head


async def test_a_pruned_thread_resumes_its_pending_interrupt_with_an_unchanged_state(
    redis: aioredis.Redis,
) -> None:
    saver = RedisSaver(redis, fresh_keys())
    graph = approval_graph(saver)
    config: RunnableConfig = {"configurable": {"thread_id": "deal-42"}}
    await graph.ainvoke({"request": "sign the lease"}, config, durability="sync")
    paused = await graph.aget_state(config)
    assert len([t async for t in saver.alist(config)]) > 1

    await saver.aprune_thread("deal-42")

    assert await graph.aget_state(config) == paused
    assert [t.config async for t in saver.alist(config)] == [paused.config]
    resumed = await graph.ainvoke(Command(resume="yes"), config, durability="sync")
    assert resumed == {"request": "sign the lease", "answer": "yes"}


def inner_graph() -> Any:
    builder = StateGraph(Approval)
    builder.add_node("ask_for_approval", ask_for_approval)
    builder.add_edge(START, "ask_for_approval")
    builder.add_edge("ask_for_approval", END)
    return builder.compile()


async def test_a_thread_paused_inside_a_subgraph_resumes_after_pruning_every_namespace(
    redis: aioredis.Redis,
) -> None:
    keys = fresh_keys()
    saver = RedisSaver(redis, keys)
    builder = StateGraph(Approval)
    builder.add_node("inner", inner_graph())
    builder.add_edge(START, "inner")
    builder.add_edge("inner", END)
    graph = builder.compile(checkpointer=saver)
    config: RunnableConfig = {"configurable": {"thread_id": "deal-7"}}
    await graph.ainvoke({"request": "renew"}, config, durability="sync")
    namespaces = {text(m) for m in await redis.smembers(keys.cp_namespaces("deal-7"))}
    assert len(namespaces) == 2, namespaces
    paused = await graph.aget_state(config, subgraphs=True)

    await saver.aprune_thread("deal-7")

    assert await graph.aget_state(config, subgraphs=True) == paused
    for ns in namespaces:
        ns_config: RunnableConfig = {"configurable": {"thread_id": "deal-7", "checkpoint_ns": ns}}
        assert len([t async for t in saver.alist(ns_config)]) == 1, ns
    await stored_keys(redis, keys, "deal-7")
    resumed = await graph.ainvoke(Command(resume="yes"), config, durability="sync")
    assert resumed == {"request": "renew", "answer": "yes"}


class PutDuringPrune(Pruner):
    """Stores a newer checkpoint, through another saver, after the prune read the thread."""

    newer: tuple[RunnableConfig, Checkpoint, CheckpointMetadata] | None = None

    async def _read_heads(self, thread_id: str, newest: dict[str, str]) -> list[Any]:
        heads = await super()._read_heads(thread_id, newest)
        if self.newer is not None:
            config, checkpoint, metadata = self.newer
            self.newer = None
            await RedisSaver(self.redis, self.keys).aput(config, checkpoint, metadata, {})
        return heads


def journal_graph(saver: RedisSaver) -> Any:
    builder = StateGraph(Journal)
    builder.add_node("note", note)
    builder.add_edge(START, "note")
    builder.add_edge("note", END)
    return builder.compile(checkpointer=saver)


async def test_a_checkpoint_put_while_a_delta_thread_is_planned_for_pruning_is_not_lost(
    redis: aioredis.Redis,
) -> None:
    # A delta channel makes Python choose what stays, so a put can come in between.
    saver = RedisSaver(redis, fresh_keys())
    pruner = saver._pruner = PutDuringPrune(redis, saver.keys, saver._load, saver._fetch)
    graph = journal_graph(saver)
    config: RunnableConfig = {"configurable": {"thread_id": "journal"}}
    for day in range(3):
        await graph.ainvoke({"entries": [f"day {day}"]}, config, durability="sync")
    head = await saver.aget_tuple(config)
    assert head is not None
    newer: Checkpoint = {**head.checkpoint, "id": str(uuid6()), "channel_values": {}}
    pruner.newer = (head.config, newer, head.metadata)

    await saver.aprune_thread("journal")

    latest = await saver.aget_tuple(config)
    assert latest is not None and latest.checkpoint["id"] == newer["id"]
    assert latest.checkpoint["channel_values"] == head.checkpoint["channel_values"]
    kept = [t.checkpoint["id"] async for t in saver.alist(config)]
    assert kept[0] == newer["id"] and head.checkpoint["id"] in kept
    state = await graph.aget_state(config)
    assert state.values == {"entries": ["day 0", "noted", "day 1", "noted", "day 2", "noted"]}


async def test_turns_and_prunes_running_together_lose_nothing(redis: aioredis.Redis) -> None:
    keys = fresh_keys()
    saver = RedisSaver(redis, keys)
    graph = chat_graph(saver)
    config: RunnableConfig = {"configurable": {"thread_id": "chat"}}
    for turn in range(10):
        prunes = [saver.aprune_thread("chat") for _ in range(3)]
        turn_input = {"messages": [f"turn {turn}"]}
        await asyncio.gather(graph.ainvoke(turn_input, config, durability="sync"), *prunes)

    await saver.aprune_thread("chat")
    state = await graph.aget_state(config)
    assert state.values["messages"][::4] == [f"turn {turn}" for turn in range(10)]
    assert len(state.values["messages"]) == 40
    assert [t.config async for t in saver.alist(config)] == [state.config]
    await stored_keys(redis, keys, "chat")


async def test_a_checkpoint_stored_before_the_blob_list_still_loads_and_prunes(
    redis: aioredis.Redis,
) -> None:
    keys = fresh_keys()
    saver = RedisSaver(redis, keys)
    graph = chat_graph(saver)
    config: RunnableConfig = {"configurable": {"thread_id": "chat"}}
    await graph.ainvoke({"messages": ["hello"]}, config, durability="sync")
    head = await saver.aget_tuple(config)
    assert head is not None
    for checkpoint in [t async for t in saver.alist(config)]:
        checkpoint_id = checkpoint.config["configurable"]["checkpoint_id"]
        await redis.hdel(keys.cp_checkpoint("chat", "", checkpoint_id), "blobs")

    assert await saver.aget_tuple(config) == head
    values = {"messages": ["hello", "plan", "act on 2", "reply"], "steps": 3}
    assert (await graph.aget_state(config)).values == values

    await saver.aprune_thread("chat")

    assert [t.config async for t in saver.alist(config)] == [head.config]
    assert (await graph.aget_state(config)).values == values


async def test_checkpoint_ids_with_colons_and_percent_signs_load_by_id_and_as_newest(
    redis: aioredis.Redis,
) -> None:
    saver = RedisSaver(redis, fresh_keys())
    config: RunnableConfig = {"configurable": {"thread_id": "t:1", "checkpoint_ns": "a:b%"}}
    head = await saver.aget_tuple(config)
    assert head is None
    checkpoint = empty_checkpoint()
    checkpoint["id"], checkpoint["channel_versions"] = "z:9%3A", {"x": "1"}
    stored = await saver.aput(config, checkpoint, {"step": 1}, {"x": "1"})

    newest = await saver.aget_tuple(config)
    by_id = await saver.aget_tuple(stored)
    assert newest is not None and by_id is not None
    assert newest.checkpoint["id"] == by_id.checkpoint["id"] == "z:9%3A"
    assert by_id.config == stored


async def test_pruning_a_thread_without_checkpoints_changes_nothing(
    redis: aioredis.Redis,
) -> None:
    keys = fresh_keys()
    saver = RedisSaver(redis, keys)

    await saver.aprune_thread("nobody")

    assert [k async for k in redis.scan_iter(f"{keys.prefix}*")] == []
    assert await saver.aget_tuple({"configurable": {"thread_id": "nobody"}}) is None


async def _evalsha_calls(redis: aioredis.Redis) -> int:
    stats = await info_of_masters(redis, "commandstats")
    return sum(int(node.get("cmdstat_evalsha", {}).get("calls", 0)) for node in stats)


def _next_checkpoint(parent: Checkpoint) -> Checkpoint:
    return {**empty_checkpoint(), "id": str(uuid6(clock_seq=1)), "channel_values": {}}


async def test_a_tasks_writes_ride_with_the_put_of_the_checkpoint_they_lead_to(
    redis: aioredis.Redis,
) -> None:
    # LangGraph saves a task's writes and puts the next checkpoint side by side: one script
    # stores both, so a step costs one round trip and the two land together.
    saver = RedisSaver(redis, fresh_keys())
    first = empty_checkpoint()
    on_first = await saver.aput(
        {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}, first, {"step": -1}, {}
    )
    before = await _evalsha_calls(redis)

    await asyncio.gather(
        saver.aput_writes(on_first, [("messages", "hello")], "task-1"),
        saver.aput(on_first, _next_checkpoint(first), {"step": 0}, {}),
    )

    assert await _evalsha_calls(redis) == before + 1
    stored = await saver.aget_tuple(on_first)
    assert stored is not None
    assert stored.pending_writes == [("task-1", "messages", "hello")]
    newest = await saver.aget_tuple({"configurable": {"thread_id": "t"}})
    assert newest is not None and newest.metadata["step"] == 0


async def test_writes_no_put_carries_are_stored_alone(redis: aioredis.Redis) -> None:
    saver = RedisSaver(redis, fresh_keys())
    on_first = await saver.aput(
        {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}, empty_checkpoint(), {}, {}
    )

    await saver.aput_writes(on_first, [("__interrupt__", "approve?")], "task-1")

    stored = await saver.aget_tuple(on_first)
    assert stored is not None
    assert stored.pending_writes == [("task-1", "__interrupt__", "approve?")]


async def test_writes_carried_by_a_put_that_lost_its_thread_fail_with_it(
    redis: aioredis.Redis,
) -> None:
    keys = fresh_keys()
    saver = RedisSaver(redis, keys)
    first = empty_checkpoint()
    on_first = await saver.aput(
        {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}, first, {}, {}
    )
    await redis.set(keys.lock("t"), "another worker")
    held = fence.current.set(fence.Fence("t", "this worker"))
    try:
        writes, put = await asyncio.gather(
            saver.aput_writes(on_first, [("messages", "hello")], "task-1"),
            saver.aput(on_first, _next_checkpoint(first), {}, {}),
            return_exceptions=True,
        )
    finally:
        fence.current.reset(held)

    assert isinstance(writes, TurnLost) and isinstance(put, TurnLost)
    stored = await saver.aget_tuple(on_first)
    assert stored is not None and stored.pending_writes == []
