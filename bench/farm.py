"""The farm's costs: a crew's spin-up, an idle crew's memory, and fairness under a flood.

One farm on one Redis (``--redis-url``, else an embedded one), served in this process by
one ``Pool`` (``equipage.farm.pool``) with ``serve_outbox=False``: replies stay on each
crew's outbox, where the benchmark reads them, as a gateway would. Messages are sent the
way a gateway sends them: a ``Bus`` whose signal is a ``Waker`` publishes a task for the
entry role ``ceo`` with an ``Origin``.

- Spin-up: ``--crews`` crews from the default template, one after the other; for each,
  the time from the start of ``Farm.new_crew`` to the first reply to its first message
  (offline model). A warm-up crew first, reported apart: it pays the lazy imports once.
- Idle density: the pool then unloads them all; Redis ``used_memory`` and this process's
  RSS added per crew against before the first measured crew existed, everything counted
  (registry, people index, wake-ups, connections); crews per GiB from their sum. The JSON
  breaks a sample crew's keys and the farm's own keys down by kind, and counts the Python
  objects alive, to tell RSS the allocator kept from objects still held.
- Fairness: ``--active`` crews each send a message to a model that answers after 0.5 s,
  all at once, in rounds; one more crew has ``--queued`` messages queued, served at its
  quota in the flooded rounds and paused in the others (nothing of it runs). Rounds of
  each kind alternate (ABBA), ``--messages`` of each; the ratio of the p99 times from a
  send to its first reply, flooded over alone. The pool has ``--concurrency`` slots,
  farm.yaml's default (64): at 256, more runs can need Redis at once than ``connect``'s
  client has connections (redis-py refuses a 101st), and the failed runs wait out the
  visibility timeout. What Equipage logs at WARNING or above in a phase is counted in
  its ``errors_logged``.
- Baseline: one company served the old way (``bench/_one_company.py``: ``open_session``
  and ``worker_pools`` in a process of its own, on the same server, measured last), its
  RSS, Redis memory and time from the process's start to its first answer, beside the
  farm's figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from _farm_parts import (
    Gateway,
    Logged,
    Slow,
    farm_keys,
    gateway_client,
    hand_over,
    idle_cpu,
    key_breakdown,
    memory_figures,
    none_busy,
)
from _one_company import launch, trimmed_rss
from _stats import add_redis_and_out, latency, with_redis
from _verdict import Check, Target, add_targets, finish

from equipage import (
    ChatModel,
    CompanyConfig,
    RedisTarget,
    Settings,
    connect,
)
from equipage.farm import CrewState, Farm, Owner, Pool, Registry, Runtimes, init_folder
from equipage.testing import wait_until

SPIN_UP_P99 = Target("spin_up_p99_ms", 1000.0, "highest p99 ms from crew new to first reply")
CREWS_PER_GB = Target("crews_per_gb", 1000.0, "fewest idle crews per GiB that passes")
FAIRNESS = Target("fairness_ratio_p99", 2.0, "highest flooded/alone p99 reply-time ratio")
GIB = 1 << 30
QUICK = {"crews": 50, "active": 20, "queued": 200, "messages": 3, "idle_seconds": 1.0}
FULL = {"crews": 1000, "active": 200, "queued": 2000, "messages": 5, "idle_seconds": 10.0}

Models = Callable[[CompanyConfig], Mapping[str, str | ChatModel]]


@dataclass
class Bench:
    """What every phase shares: the farm, its namespace, and the two sides' clients."""

    farm: Farm  # the command side: crew new, and the gateway's sends and reads
    pool_redis: aioredis.Redis  # the pool's own client, as in a process of its own
    root: Path
    namespace: str
    gateway: Gateway

    @property
    def client(self) -> aioredis.Redis:
        return self.farm.redis

    async def new_crew(self, name: str) -> None:
        owner = Owner(platform="console", id=f"{name}-owner", name=name)
        await self.farm.new_crew(name, owner=owner)

    @contextlib.asynccontextmanager
    async def serving(
        self, models: Models, *, concurrency: int, capacity: int
    ) -> AsyncIterator[Pool]:
        settings = Settings.from_env({"EQUIPAGE_NAMESPACE": self.namespace})
        registry = Registry(self.pool_redis, self.namespace)
        runtimes = Runtimes(
            self.root, registry, settings, consumer="pool-1", models_for=models, capacity=capacity
        )
        # A short grace: the idle figure waits for the sweep to let every crew go, and the
        # grace (how long a crew marked stays looked at) only guards a producer's crash.
        pool = Pool(runtimes, concurrency=concurrency, serve_outbox=False, grace=2.0)
        runtimes.signal = pool
        stop = asyncio.Event()
        task = asyncio.create_task(pool.run(stop))
        try:
            yield pool
        finally:
            stop.set()
            await task
            await runtimes.aclose()


def _offline(config: CompanyConfig) -> Mapping[str, str | ChatModel]:
    return dict.fromkeys(config.roles, "offline")


async def _first_reply_ms(bench: Bench, crew: str) -> float:
    start = time.perf_counter()
    await bench.new_crew(crew)
    envelope = await bench.gateway.send(crew, "hello")
    return (await bench.gateway.wait(crew, envelope.id) - start) * 1000


async def _spin_up_and_density(bench: Bench, args: argparse.Namespace) -> dict[str, Any]:
    async with bench.serving(_offline, concurrency=args.concurrency, capacity=256) as pool:
        runtimes = pool.runtimes
        warm = await _first_reply_ms(bench, "warmup")
        await runtimes.drop("warmup")
        gc.collect()
        before = await memory_figures(bench.client)
        crews = [f"crew{n:04d}" for n in range(args.crews)]
        samples = [await _first_reply_ms(bench, crew) for crew in crews]
        loaded = len(runtimes)
        with_loaded = await memory_figures(bench.client)
        # A crew's run ends a round trip after its reply is written (its run slot is
        # freed): only crews with nothing running are unloaded.

        async def ended() -> bool:
            return not any(crew.running for crew in runtimes.loaded())

        await wait_until(ended, what="every run ended")
        runtimes.idle_after = 0.0  # what the pool does after its idle_after, done now
        unloaded = await runtimes.unload_idle()
        gc.collect()
        after = await memory_figures(bench.client)
        trimmed = trimmed_rss()
        # Idle means the sweep has let every crew go (each leaves the busy set once nothing
        # of it is left and its last mark is older than the sweep's grace). The replies this
        # bench read are handed over first, as a farm's gateway would have sent them.
        await hand_over(bench.client, bench.namespace, ["warmup", *crews])
        await wait_until(lambda: none_busy(bench.client, pool), timeout=180, what="every crew idle")
        idle = await idle_cpu(bench.client, seconds=args.idle_seconds)
    redis_per_crew = (after["used_memory"] - before["used_memory"]) / args.crews
    rss_per_crew = (after["rss"] - before["rss"]) / args.crews
    per_crew = max(redis_per_crew, 0) + max(rss_per_crew, 0)
    sample = crews[len(crews) // 2]
    spin_up = {
        "crews": args.crews,
        "model": "offline",
        "warmup_crew_ms": round(warm, 1),
        **latency(samples, (50, 99), maximum=True),
    }
    density = {
        "crews": args.crews,
        "loaded_at_the_end_of_spin_up": loaded,
        "unloaded": unloaded,
        "before": before,
        "with_crews_loaded": with_loaded,
        "after_unload": after,
        # Information, not judged: what of the RSS kept is free memory glibc had not handed
        # back (the high water of the crews loaded at once), not live objects.
        "rss_after_malloc_trim": trimmed,
        "redis_bytes_per_crew": round(redis_per_crew),
        "rss_bytes_per_crew": round(rss_per_crew),
        "keys_per_crew": round((after["keys"] - before["keys"]) / args.crews, 2),
        "crews_per_gb": round(GIB / per_crew) if per_crew > 0 else float(GIB),
        # Information, not judged: what the pool and Redis spend while every crew is idle
        # (the old way, ~0.1% of a core per idle crew, from each crew's polling).
        "idle_cpu": {"crews": args.crews, **idle},
        "sample_crew": await key_breakdown(bench.client, bench.namespace, sample),
        "farm_keys": await farm_keys(bench.client, bench.namespace, args.crews),
    }
    return {"spin_up": spin_up, "density": density, "crews": crews}


async def _round(bench: Bench, crews: Sequence[str]) -> list[float]:
    """Each crew sends one message; ms from each send to the first reply to it."""

    async def one(crew: str) -> float:
        start = time.perf_counter()
        envelope = await bench.gateway.send(crew, "how is it going?")
        return (await bench.gateway.wait(crew, envelope.id) - start) * 1000

    return list(await asyncio.gather(*(one(crew) for crew in crews)))


async def _flooding(bench: Bench, pool: Pool, on: bool) -> None:
    """Serve the flooding crew at its quota (resumed, woken, its slots all taken unless its
    backlog is all read), or not at all (paused, and nothing of it running)."""
    runtimes = pool.runtimes
    flood = runtimes.peek("flood")
    assert flood is not None, "the flooding crew is loaded by the warm-up"
    registry = bench.farm.registry
    state = (await registry.get("flood")).state
    if on:
        if state is CrewState.PAUSED:
            await registry.resume("flood")
        inbox = bench.farm.keys("flood").inbox("ceo")

        async def running() -> bool:
            pool.wake("flood")  # a resumed crew is served from its next wake-up
            if flood.running >= flood.cap:
                return True
            groups: Any = await bench.client.xinfo_groups(inbox)
            return all(group["lag"] == 0 for group in groups)  # a small backlog, all read

        await wait_until(running, timeout=60, what="the flooding crew taking its slots")
        return
    since = float("-inf")
    if state is CrewState.ACTIVE:
        await registry.pause("flood")
        since = time.monotonic()

    async def stopped() -> bool:
        # The pool reads a crew's state again at most ``state_every`` seconds after its
        # last look: from then on it starts nothing of a paused crew.
        seen = not flood.served or time.monotonic() - since > runtimes.state_every
        return seen and flood.running == 0

    await wait_until(stopped, timeout=60, what="the flooding crew stopping")


async def _fairness(bench: Bench, crews: Sequence[str], args: argparse.Namespace) -> dict[str, Any]:
    """Rounds with and without the flooding crew served, interleaved (ABBA), so that a
    change in the machine's load falls on both alike."""
    quiet = list(crews[: args.active])
    model = Slow(0.5)

    def slow(config: CompanyConfig) -> Mapping[str, str | ChatModel]:
        return dict.fromkeys(config.roles, model)

    await bench.new_crew("flood")
    capacity = max(256, args.active + 8)
    samples: dict[bool, list[float]] = {False: [], True: []}
    serving = bench.serving(slow, concurrency=args.concurrency, capacity=capacity)
    async with serving as pool, bench.gateway.watching([*quiet, "flood"]):
        # Unmeasured: every crew loaded (its graphs compiled) before the clock runs.
        await _round(bench, [*quiet, "flood"])
        for n in range(args.queued):
            await bench.gateway.send("flood", f"backlog {n}")
        answered = bench.gateway.counts["flood"]
        for turn in range(args.messages):
            for flooded in (False, True) if turn % 2 == 0 else (True, False):
                await _flooding(bench, pool, flooded)
                samples[flooded] += await _round(bench, quiet)
        answered = bench.gateway.counts["flood"] - answered
        flood = pool.runtimes.peek("flood")
        cap = flood.cap if flood else 0
        await _flooding(bench, pool, False)  # the rest of its backlog waits
    alone_stats = latency(samples[False], (50, 99), maximum=True)
    flooded_stats = latency(samples[True], (50, 99), maximum=True)
    return {
        "active_crews": len(quiet),
        "messages_per_crew": args.messages,
        "model_latency_s": model.delay,
        "pool_concurrency": args.concurrency,
        "flood_queued": args.queued,
        "flood_concurrent_runs_quota": cap,
        "flood_answered_during_measure": answered,
        "alone": alone_stats,
        "flooded": flooded_stats,
        "ratio_p99": round(flooded_stats["p99_ms"] / alone_stats["p99_ms"], 3),
    }


async def _baseline(bench: Bench, target: RedisTarget) -> dict[str, Any]:
    """One company the old way, on the same server, under a namespace of its own."""
    namespace = f"solo{uuid.uuid4().hex[:8]}"
    before = await memory_figures(bench.client)
    figures, child = await asyncio.to_thread(launch, target, bench.root, namespace)
    try:
        during = await memory_figures(bench.client)
        keys_bytes = 0
        async for key in bench.client.scan_iter(f"{namespace}:*"):
            keys_bytes += await bench.client.memory_usage(key, samples=0) or 0
    finally:
        assert child.stdin is not None
        child.stdin.write("\n")
        child.stdin.close()
        await asyncio.to_thread(child.wait)
    leftovers = [key async for key in bench.client.scan_iter(f"{namespace}:*")]
    if leftovers:
        await bench.client.delete(*leftovers)
    redis_bytes = during["used_memory"] - before["used_memory"]
    added = {name: during[name] - before[name] for name in ("clients_memory", "scripts_memory")}
    return {
        "what": "one company per process: open_session + worker_pools, offline model",
        "rss_bytes": figures["rss_bytes"],
        "redis_bytes": redis_bytes,
        "redis_connections": during["connected_clients"] - before["connected_clients"],
        # Of redis_bytes: its connections' buffers, the Lua scripts it loaded first (a
        # farm loads them once for all its crews) and its keys (MEMORY USAGE summed).
        "redis_clients_bytes": added["clients_memory"],
        "redis_scripts_bytes": added["scripts_memory"],
        "redis_keys_bytes": keys_bytes,
        "import_s": figures["import_s"],
        "start_to_first_answer_s": figures["start_to_first_answer_s"],
        "crews_per_gb": round(GIB / (figures["rss_bytes"] + max(redis_bytes, 0)), 1),
    }


async def _measure(
    target: RedisTarget, tmp: Path, args: argparse.Namespace
) -> tuple[dict[str, object], list[Check]]:
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    root = tmp / "farm"
    init_folder(root)
    client, pool_redis = gateway_client(target), connect(target)
    farm = Farm(root, Registry(client, namespace))
    bench = Bench(farm, pool_redis, root, namespace, Gateway(client, namespace))
    try:
        with Logged().capturing() as logged:
            grown = await _spin_up_and_density(bench, args)
        grown["spin_up"]["errors_logged"] = logged.figures()
        with Logged().capturing() as logged:
            fairness = await _fairness(bench, grown["crews"], args)
        fairness["errors_logged"] = logged.figures()
        # Last: the server's one-time costs (its first scripts, its tables' first growth)
        # were paid by the farm's warm-up, as a company added to a running server finds.
        baseline = await _baseline(bench, target)
        info = await client.info("server")
    finally:
        leftovers = [key async for key in client.scan_iter(f"{namespace}:*")]
        for at in range(0, len(leftovers), 1000):
            await client.delete(*leftovers[at : at + 1000])
        await client.aclose()
        await pool_redis.aclose()
    spin_up, density = grown["spin_up"], grown["density"]
    where = "url" if args.redis_url else "embedded"
    result: dict[str, object] = {
        "benchmark": "farm",
        "server": f"redis {info['redis_version']} {where}",
        "spin_up": spin_up,
        "density": density,
        "fairness": fairness,
        "single_company_baseline": baseline,
        "target_spin_up_p99_ms": SPIN_UP_P99.of(args),
        "target_crews_per_gb": CREWS_PER_GB.of(args),
        "target_fairness_ratio_p99": FAIRNESS.of(args),
    }
    checks = [
        Check("spin_up.p99_ms", spin_up["p99_ms"], SPIN_UP_P99.of(args)),
        Check("density.crews_per_gb", density["crews_per_gb"], CREWS_PER_GB.of(args), False),
        Check("fairness.ratio_p99", fairness["ratio_p99"], FAIRNESS.of(args)),
    ]
    return result, checks


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI: " + str(QUICK))
    parser.add_argument("--crews", type=int, help=f"crews spun up (default {FULL['crews']})")
    parser.add_argument("--active", type=int, help=f"quiet crews (default {FULL['active']})")
    parser.add_argument("--queued", type=int, help=f"flood backlog (default {FULL['queued']})")
    parser.add_argument("--messages", type=int, help=f"per quiet crew (default {FULL['messages']})")
    parser.add_argument(
        "--idle-seconds",
        type=float,
        help=f"window of the idle CPU figure (default {FULL['idle_seconds']})",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=64,
        help="the pool's run slots, all crews together (default 64, farm.yaml's pool default)",
    )
    add_redis_and_out(parser)
    add_targets(parser, SPIN_UP_P99, CREWS_PER_GB, FAIRNESS)
    args = parser.parse_args(argv)
    for name, full in FULL.items():
        if getattr(args, name) is None:
            setattr(args, name, QUICK[name] if args.quick else full)
    result, checks = with_redis(args, lambda target, tmp: _measure(target, tmp, args))
    return finish(__file__, result, checks, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
