"""Per-turn latency of a checkpointed graph on RedisSaver against InMemorySaver, and memory.

The same 3-node ``StateGraph`` (a messages-like state: a list that grows each turn) runs
``--threads`` threads of ``--turns`` turns on langgraph's ``InMemorySaver``, on ``Floor``
and on ``RedisSaver`` over an embedded Valkey (unix socket), interleaved turn by turn so
machine noise hits all alike. A turn is one ``ainvoke`` with ``durability="sync"``, the
runtime's (a step's checkpoint is stored before the next step runs); ``"async"`` figures
are reported as information.

``Floor`` is InMemorySaver plus one PING where a checkpoint is read or stored: the least
any saver costs that makes each step durable in Redis before the next, measured in the
same run. On a 2-core VM a round trip costs about as much as a step of this graph, so the
floor alone is about 1.4 times InMemorySaver: a bound on the ratio to InMemorySaver below
that says nothing about the saver. Passes when RedisSaver's p50 per turn is at most
``--target-floor-ratio-p50`` times the floor's and ``--target-ratio-p50`` times
InMemorySaver's.

Memory: one thread runs ``--memory-turns`` turns with ``aprune_thread`` after each turn
and one without; the JSON gives the bytes (``MEMORY USAGE`` summed) and the key count of
each, and the time the prune took per turn.
"""

from __future__ import annotations

import argparse
import operator
import time
import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Literal, TypedDict

import redis.asyncio as aioredis
from _stats import add_redis_and_out, latency, with_redis
from _verdict import Check, Target, add_targets, finish
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

from equipage import Keys, RedisSaver, RedisTarget, connect

RATIO_P50 = Target("ratio_p50", 2.8, "highest RedisSaver/InMemorySaver p50 per turn that passes")
FLOOR_RATIO_P50 = Target(
    "floor_ratio_p50", 1.8, "highest RedisSaver/floor p50 per turn that passes (see Floor)"
)
Durability = Literal["sync", "async"]


class Chat(TypedDict, total=False):
    messages: Annotated[list[dict[str, str]], operator.add]
    steps: int


def plan(state: Chat) -> dict[str, Any]:
    return {"messages": [{"role": "planner", "content": "look up the order"}], "steps": 1}


def act(state: Chat) -> dict[str, Any]:
    found = {"role": "tool", "content": f"order has {len(state['messages'])} lines"}
    return {"messages": [found], "steps": state.get("steps", 0) + 1}


def reply(state: Chat) -> dict[str, Any]:
    return {"messages": [{"role": "assistant", "content": "done"}], "steps": state["steps"] + 1}


class Floor(InMemorySaver):
    """The least a saver can cost that makes each step durable in Redis before the next.

    InMemorySaver plus one PING, the cheapest round trip, where a checkpoint is read or
    stored: a Redis saver with ``durability="sync"`` waits for at least that many round
    trips (a task's writes can ride with the next put, so they add none).
    """

    def __init__(self, redis: aioredis.Redis) -> None:
        super().__init__()
        self.redis = redis

    async def aget_tuple(self, config: RunnableConfig) -> Any:
        await self.redis.ping()
        return self.get_tuple(config)

    async def aput(self, config: RunnableConfig, *args: Any, **kwargs: Any) -> RunnableConfig:
        await self.redis.ping()
        return self.put(config, *args, **kwargs)


def build(saver: BaseCheckpointSaver[Any]) -> Any:
    builder = StateGraph(Chat)
    builder.add_node("plan", plan)
    builder.add_node("act", act)
    builder.add_node("reply", reply)
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "act")
    builder.add_edge("act", "reply")
    builder.add_edge("reply", END)
    return builder.compile(checkpointer=saver)


def _turn_input(turn: int) -> Chat:
    text = f"Turn {turn}: where is my order, and can you change the delivery address? " * 2
    return {"messages": [{"role": "user", "content": text}]}


async def _turn(graph: Any, thread: str, turn: int, durability: Durability) -> float:
    config: RunnableConfig = {"configurable": {"thread_id": thread}}
    start = time.perf_counter()
    await graph.ainvoke(_turn_input(turn), config, durability=durability)
    return (time.perf_counter() - start) * 1000


async def _latency(
    graphs: dict[str, Any], args: argparse.Namespace, durability: Durability
) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in graphs}
    run = uuid.uuid4().hex[:6]
    for graph in graphs.values():
        for turn in range(args.warmup):
            await _turn(graph, f"warm-{run}-{durability}", turn, durability)
    for thread in range(args.threads):
        key = f"{durability}-{run}-{thread}"
        for turn in range(args.turns):
            # Turn by turn, each saver first in turn: a burst of load elsewhere on the
            # machine falls on both alike.
            for name in sorted(graphs, reverse=(thread + turn) % 2 == 1):
                samples[name].append(await _turn(graphs[name], key, turn, durability))
    return samples


async def _thread_memory(redis: aioredis.Redis, keys: Keys, thread: str) -> dict[str, int]:
    """Bytes and keys a thread holds: its checkpoint keys plus its bookkeeping sets."""
    owned: list[bytes | str] = list(await redis.smembers(keys.cp_thread_keys(thread)))
    owned.append(keys.cp_thread_keys(thread))
    async with redis.pipeline(transaction=False) as pipe:
        for key in owned:
            pipe.memory_usage(key, samples=0)
        sizes: list[int | None] = await pipe.execute()
    return {"keys": len([s for s in sizes if s]), "bytes": sum(s or 0 for s in sizes)}


async def _memory(saver: RedisSaver, args: argparse.Namespace) -> dict[str, object]:
    graph = build(saver)
    figures: dict[str, object] = {"turns": args.memory_turns}
    prune_ms: list[float] = []
    for pruned in (True, False):
        thread = f"memory-{'pruned' if pruned else 'unpruned'}"
        for turn in range(args.memory_turns):
            await _turn(graph, thread, turn, "sync")
            if pruned:
                start = time.perf_counter()
                await saver.aprune_thread(thread)
                prune_ms.append((time.perf_counter() - start) * 1000)
        figures["pruned" if pruned else "unpruned"] = await _thread_memory(
            saver.redis, saver.keys, thread
        )
    figures["prune_per_turn"] = latency(prune_ms, (50, 95))
    return figures


async def _measure(
    target: RedisTarget, args: argparse.Namespace
) -> tuple[dict[str, object], list[Check]]:
    keys = Keys("bench", namespace=f"bench{uuid.uuid4().hex[:8]}")
    redis = connect(target)
    saver = RedisSaver(redis, keys)
    graphs = {
        "in_memory": build(InMemorySaver()),
        "floor": build(Floor(redis)),
        "redis": build(saver),
    }
    try:
        sync = await _latency(graphs, args, "sync")
        unsynced = await _latency(graphs, args, "async")
        memory = await _memory(saver, args)
        info = await redis.info("server")
    finally:
        leftovers = [key async for key in redis.scan_iter(f"{keys.namespace}:*")]
        if leftovers:
            await redis.delete(*leftovers)
        await redis.aclose()

    stats = {name: latency(values, (50, 95)) for name, values in sync.items()}
    ratio_p50 = round(stats["redis"]["p50_ms"] / stats["in_memory"]["p50_ms"], 3)
    floor_ratio_p50 = round(stats["redis"]["p50_ms"] / stats["floor"]["p50_ms"], 3)
    async_stats = {name: latency(values, (50, 95)) for name, values in unsynced.items()}
    where = "url" if args.redis_url else "embedded"
    result: dict[str, object] = {
        "benchmark": "checkpoint_turn",
        "server": f"redis {info['redis_version']} {where}",
        "graph": "3 nodes: plan -> act -> reply, messages list state",
        "threads": args.threads,
        "turns_per_thread": args.turns,
        "turns": len(sync["redis"]),
        "durability": "sync",
        "in_memory": stats["in_memory"],
        "floor": stats["floor"],
        "redis": stats["redis"],
        "ratio_p50": ratio_p50,
        "floor_over_in_memory_p50": round(
            stats["floor"]["p50_ms"] / stats["in_memory"]["p50_ms"], 3
        ),
        "floor_ratio_p50": floor_ratio_p50,
        "ratio_p95": round(stats["redis"]["p95_ms"] / stats["in_memory"]["p95_ms"], 3),
        "async_durability": {
            **async_stats,
            "ratio_p50": round(
                async_stats["redis"]["p50_ms"] / async_stats["in_memory"]["p50_ms"], 3
            ),
        },
        "memory": memory,
        "target_ratio_p50": RATIO_P50.of(args),
        "target_floor_ratio_p50": FLOOR_RATIO_P50.of(args),
    }
    checks = [
        Check("ratio_p50", ratio_p50, RATIO_P50.of(args)),
        Check("floor_ratio_p50", floor_ratio_p50, FLOOR_RATIO_P50.of(args)),
    ]
    return result, checks


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=50, help="threads on each saver")
    parser.add_argument("--turns", type=int, default=10, help="turns of each thread")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured turns per saver")
    parser.add_argument("--memory-turns", type=int, default=100, help="turns of memory threads")
    add_redis_and_out(parser)
    add_targets(parser, RATIO_P50, FLOOR_RATIO_P50)
    args = parser.parse_args(argv)
    result, checks = with_redis(args, lambda target, _: _measure(target, args))
    return finish(__file__, result, checks, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
