"""Latency of one agent hop through the bus against a raw redis-py hop, to price the framework.

Framework hop: ``Bus.publish`` (the envelope, its event, its thread's order and the turn
granted to it, in one Lua script), ``Bus.read`` (XREADGROUP parsed into an ``Envelope``), a
no-op handler and ``Bus.commit`` (the Lua script), driven by a real ``Worker`` and timed from
before publish to after commit. Raw hop: XADD, then a plain task waiting in XREADGROUP runs
``json.loads`` and XACK on the same bytes. Floor hop: the framework's round trips, each
minimal: XADD, XREADGROUP and a script that only acks (the commit), i.e. what the raw hop
costs when its ack is a script, as any design committing effects with the ack must.
One envelope is in flight at a time; the kinds alternate in blocks on one server with
the same client settings, so machine noise hits all alike. Passes when the framework's
p50 is at most 2.5 times the raw one (``--target-ratio-p50``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import redis.asyncio as aioredis
from _stats import add_redis_and_out, latency, with_redis
from _verdict import Check, Target, add_targets, finish

from equipage import (
    CONSUMER_GROUP,
    Bus,
    Delivery,
    Envelope,
    Keys,
    Kind,
    RedisTarget,
    Turn,
    Worker,
    connect,
)

RATIO_P50 = Target("ratio_p50", 2.5, "highest framework/raw p50 ratio that passes")
BLOCKS = 10

# The floor's stand-in for the commit: one round trip, no work but the ack.
_COMMIT_FLOOR = "return redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])"


class _TimedBus(Bus):
    """A Bus that reports the moment each commit returns, so a real Worker can be timed."""

    committed: asyncio.Queue[float]

    async def commit(
        self, delivery: Delivery, outputs: Sequence[Envelope], turn: Turn | None = None
    ) -> bool:
        fresh = await super().commit(delivery, outputs, turn)
        self.committed.put_nowait(time.perf_counter())
        return fresh


def _envelope() -> Envelope:
    text = "Draft the launch note for the beta and send it to the founder for review. " * 3
    return Envelope(
        kind=Kind.TASK, company="bench", to="ceo", sender="founder", thread="t1", text=text
    )


async def _noop(envelope: Envelope) -> Sequence[Envelope]:
    return []


async def _raw_consumer(
    redis: aioredis.Redis, stream: str, done: asyncio.Queue[float], stop: asyncio.Event
) -> None:
    """The consumer side of a raw hop: XREADGROUP one entry, parse it, XACK it."""
    while not stop.is_set():
        reply: Any = await redis.xreadgroup(
            CONSUMER_GROUP, "raw", {stream: ">"}, count=1, block=500
        )
        for _, [(entry_id, fields)] in reply or []:
            json.loads(fields[b"env"])
            await redis.xack(stream, CONSUMER_GROUP, entry_id)
            done.put_nowait(time.perf_counter())


async def _floor_consumer(
    redis: aioredis.Redis, stream: str, done: asyncio.Queue[float], stop: asyncio.Event
) -> None:
    """The consumer side of a floor hop: the framework's round trips, each doing nothing."""
    commit = redis.register_script(_COMMIT_FLOOR)
    while not stop.is_set():
        reply: Any = await redis.xreadgroup(
            CONSUMER_GROUP, "floor", {stream: ">"}, count=1, block=500
        )
        for _, [(entry_id, fields)] in reply or []:
            json.loads(fields[b"env"])
            await commit(keys=[stream], args=[CONSUMER_GROUP, entry_id])
            done.put_nowait(time.perf_counter())


async def _measure(
    target: RedisTarget, args: argparse.Namespace
) -> tuple[dict[str, object], list[Check]]:
    keys = Keys("bench", namespace=f"bench{uuid.uuid4().hex[:8]}")
    fw_redis, raw_redis, floor_redis = connect(target), connect(target), connect(target)
    done: asyncio.Queue[float] = asyncio.Queue()
    bus = _TimedBus(fw_redis, keys)
    bus.committed = done
    raw_stream = keys.inbox("raw")  # an inbox no worker reads, so keys.py names every key
    await bus.ensure_groups(["ceo"])
    floor_stream = keys.inbox("floor")
    for stream in (raw_stream, floor_stream):
        await raw_redis.xgroup_create(stream, CONSUMER_GROUP, id="0", mkstream=True)
    payload = _envelope().encode()
    stop = asyncio.Event()
    background = [
        asyncio.create_task(Worker(bus, {"ceo": _noop}, name="bench").run(stop)),
        asyncio.create_task(_raw_consumer(raw_redis, raw_stream, done, stop)),
        asyncio.create_task(_floor_consumer(floor_redis, floor_stream, done, stop)),
    ]

    async def framework_hop() -> float:
        envelope = _envelope()
        start = time.perf_counter()
        await bus.publish(envelope)
        return await done.get() - start

    async def raw_hop() -> float:
        start = time.perf_counter()
        await raw_redis.xadd(raw_stream, {"env": payload})
        return await done.get() - start

    async def floor_hop() -> float:
        start = time.perf_counter()
        await floor_redis.xadd(floor_stream, {"env": payload})
        return await done.get() - start

    hops: dict[str, Callable[[], Awaitable[float]]] = {
        "framework": framework_hop,
        "raw": raw_hop,
        "floor": floor_hop,
    }
    samples: dict[str, list[float]] = {name: [] for name in hops}
    per_block = max(args.hops // BLOCKS, 1)
    try:
        # A dead worker would leave a hop waiting forever: fail loudly instead.
        async with asyncio.timeout(60 + (args.warmup + args.hops) * 0.05):
            for hop in hops.values():
                for _ in range(args.warmup):
                    await hop()
            for block in range(BLOCKS):
                for name in sorted(hops, reverse=block % 2 == 1):
                    samples[name] += [await hops[name]() * 1000 for _ in range(per_block)]
        info = await raw_redis.info("server")
    finally:
        # Stop, never cancel: on Python 3.11 redis-py writes through asyncio.wait_for, which
        # can swallow a cancellation (python/cpython#86296); both loops end within 500 ms.
        stop.set()
        await asyncio.gather(*background, return_exceptions=True)
        leftovers = [key async for key in raw_redis.scan_iter(f"{keys.namespace}:*")]
        if leftovers:
            await raw_redis.delete(*leftovers)
        await fw_redis.aclose()
        await raw_redis.aclose()
        await floor_redis.aclose()

    stats = {name: latency(values) for name, values in samples.items()}
    ratio_p50 = round(stats["framework"]["p50_ms"] / stats["raw"]["p50_ms"], 3)
    floor_ratio_p50 = round(stats["floor"]["p50_ms"] / stats["raw"]["p50_ms"], 3)
    where = "url" if args.redis_url else "embedded"
    result: dict[str, object] = {
        "benchmark": "bus_hop",
        "hops": len(samples["framework"]),
        "server": f"redis {info['redis_version']} {where}",
        "mode": "worker",
        "payload_bytes": len(payload),
        "framework": stats["framework"],
        "raw": stats["raw"],
        "ratio_p50": ratio_p50,
        "ratio_p99": round(stats["framework"]["p99_ms"] / stats["raw"]["p99_ms"], 3),
        # What the round trips alone cost, beside the ratio: the rest is work on either side.
        "floor": stats["floor"],
        "floor_ratio_p50": floor_ratio_p50,
        "framework_over_floor_p50": round(
            stats["framework"]["p50_ms"] / stats["floor"]["p50_ms"], 3
        ),
        "target_ratio_p50": RATIO_P50.of(args),
    }
    return result, [Check("ratio_p50", ratio_p50, RATIO_P50.of(args))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hops", type=int, default=2000, help="measured hops of each kind")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured hops of each kind")
    add_redis_and_out(parser)
    add_targets(parser, RATIO_P50)
    args = parser.parse_args(argv)
    result, checks = with_redis(args, lambda target, _: _measure(target, args))
    return finish(__file__, result, checks, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
