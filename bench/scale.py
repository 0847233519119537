"""How the farm's throughput grows with pool processes, on one server and on a cluster.

The farm workload on the offline model, served by 1, 2 and 4 pool processes
(``--processes``), first on one embedded server (unix socket; ``--redis-url`` for a server
of yours), then on a local cluster of 3 masters and 3 replicas (``LocalCluster``, TCP on
loopback, ``redis+cluster://``), in one run. Each run has a farm of its own: ``--crews``
crews from the default template, then the pool processes (``_scale_parts``: what ``farm
up`` runs for the work, farm.yaml's pool settings), then a closed loop, one message in
flight per crew (send as a gateway does, wait for the first reply on the outbox, send the
next): ``--warmup`` s per process unmeasured (every process loads, compiles, each crew it
is handed), then ``--seconds`` s measured. Figures: envelopes answered per second, the hop
(send to first reply) p50/p99, and the CPU each party spent per envelope (pools, Redis, this
process as the gateway), beside what the machine's other processes took of its cores.

The model, fed by those costs (``a`` pool, ``r`` Redis, ``g`` gateway, CPU ms per envelope;
``r_m`` the masters' share of ``r``): a pool process is one Python thread,
so ``n`` of them answer at most ``1000 n / a`` a second; a Redis node runs commands on one
thread and a crew's keys share one hash tag, so crews spread over ``M`` masters and Redis
bounds it at ``1000 M / r_m``; and everything on one host of ``C`` cores shares them:
``1000 C / (a + r + g)``. Throughput is about the least of the three:

    T(n, C, M) ≈ min(1000 n / a,  1000 M / r_m,  1000 C / (a + r + g))

Measured on this 2-core machine (four full runs, Dec 2026): a = 7.3-8.5 ms on the embedded
server and 10.6-12.3 ms on the cluster (the cluster client's slot routing, TCP), r = 1.5-1.8
ms (cluster: 3.5-4.6 over 6 nodes, 2.5-3.1 on the masters), g = 0.9-1.2 ms; so one process
is bound at 118-137/s, one server at ~560-680/s, 3 masters at ~960-1210/s, and the host at
~180-210/s. Hence the early flattening: 1 process 99-137/s, 2 processes 111-150/s (the host
binds at n = 2: pools, Redis, replicas and the gateway share two cores), 4 processes no more
(89-118/s: each process's fixed work, its wake-up reads and sweep, and ``a`` up 25-45%).
The cluster is flat at 58-115/s: on one host its replicas and TCP cost CPU, and its 3
masters' bound is far out of reach. Measured throughput sits below the model's host bound
by what the machine's other processes took (``cores_busy.others``: 0-0.9 core on this
shared box). On a host with spare cores the curve follows ``n / a`` until one Redis binds
(~5 processes' worth here); a cluster moves that bound ``M`` times further out, provided
the pools and gateways run on other hosts. The JSON gives each term from the 1-process
run's costs (``model``) beside the measure.

Targets, each seen met in every full run on 2 shared cores: 2 processes reach at least
``--target-speedup-2`` (1.0x) the 1-process throughput on the embedded server (a second
process never costs throughput: seen 1.05-1.43; 1.3x held in one run of four, since the
second core is shared with Redis, the gateway and the machine's other jobs); 2 processes
spend at most ``--target-cost-ratio-2`` (1.25x) the pool CPU per envelope of 1 (what the
model's ``n / a`` needs to hold on more cores; seen 1.03-1.20); the cluster's 1-process
throughput is at least ``--target-cluster-ratio`` (0.45x) the embedded one's (same pool
work plus TCP, slot routing and replicas on the same cores; seen 0.49-0.84, the two runs
a minute apart under different neighbour load); no message is left unanswered. 4
processes are measured, not judged: on 2 cores they can only tie.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from _farm_parts import Gateway
from _scale_parts import Cpu, Pools, Window, closed_loop, host_cpu, pools_running
from _stats import add_redis_and_out, latency, with_redis
from _verdict import Check, Target, add_targets, finish

from equipage import RedisTarget, Settings, connect, load_key
from equipage.farm import Farm, Owner, Registry, init_folder
from equipage.testing.cluster import local_cluster

SPEEDUP = Target("speedup_2", 1.0, "lowest 2-process/1-process throughput, embedded server")
COST = Target("cost_ratio_2", 1.25, "highest 2-process/1-process pool CPU per envelope, embedded")
CLUSTER = Target("cluster_ratio", 0.45, "lowest cluster/embedded throughput at 1 process")
UNANSWERED = Target("unanswered", 0.0, "most messages left unanswered in all the runs")
QUICK = {"crews": 4, "warmup": 0.5, "seconds": 2.0}
FULL = {"crews": 24, "warmup": 3.0, "seconds": 12.0}

CpuReader = Callable[[], Awaitable[tuple[float, float]]]  # Redis CPU s: all nodes, masters


def _redis_cpu(info: dict[str, Any]) -> float:
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


async def _run(
    target: RedisTarget,
    where: str,
    redis_cpu: CpuReader,
    tmp: Path,
    processes: int,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """One farm served by ``processes`` pool processes, under the closed loop."""
    namespace = f"scale{uuid.uuid4().hex[:8]}"
    root = tmp / namespace
    init_folder(root)
    load_key(None, root / Settings.from_env({}).home, create=True)
    client = connect(target)
    try:
        farm = Farm(root, Registry(client, namespace))
        crews = [f"crew{n:03d}" for n in range(args.crews)]
        for crew in crews:
            await farm.new_crew(
                crew, owner=Owner(platform="console", id=f"{crew}-owner", name=crew)
            )
        pools = Pools(root, namespace, where, processes, root / "logs")

        async def cpu() -> Cpu:
            used, masters = await redis_cpu()
            return Cpu(pools.cpu_seconds(), used, masters, time.process_time(), host_cpu())

        began = time.perf_counter()
        with pools_running(pools):
            await pools.ready(client)
            started = time.perf_counter() - began
            window = await closed_loop(
                Gateway(client, namespace),
                crews,
                warmup=args.warmup * processes,  # each process loads every crew once
                seconds=args.seconds,
                cpu=cpu,
            )
        logged = pools.logged()
        if args.redis_url:  # a server of the user's: leave nothing behind
            leftovers = [key async for key in client.scan_iter(f"{namespace}:*")]
            for at in range(0, len(leftovers), 1000):
                await client.delete(*leftovers[at : at + 1000])
    finally:
        await client.aclose()
    return _figures(processes, window, started, logged)


def _figures(
    processes: int, window: Window, started: float, logged: dict[str, Any]
) -> dict[str, Any]:
    answered = max(window.answered, 1)

    def per_envelope(seconds: float) -> float:
        return round(seconds * 1000 / answered, 3)

    used = window.cpu
    return {
        "processes": processes,
        "envelopes_per_s": round(window.answered / window.seconds, 1),
        "answered": window.answered,
        "unanswered": window.unanswered,
        "hop": latency(window.hops_ms, (50, 99), maximum=True, digits=2),
        "cpu_ms_per_envelope": {
            "pools": per_envelope(used.pools),
            "redis": per_envelope(used.redis),
            "redis_masters": per_envelope(used.redis_masters),
            "gateway": per_envelope(used.bench),
        },
        "cores_busy": {
            name: round(seconds / window.seconds, 2)
            for name, seconds in (
                ("pools", used.pools),
                ("redis", used.redis),
                ("gateway", used.bench),
                # The machine's other processes (other jobs on a shared box): not ours.
                ("others", used.host - used.pools - used.redis - used.bench),
            )
        },
        # How the work fell on the processes: one busy and one idle is not two cores' worth.
        "cores_busy_per_pool": [round(seconds / window.seconds, 2) for seconds in used.each_pool],
        "pools_start_s": round(started, 2),
        "pools_stderr": logged,
    }


def _model(runs: Sequence[dict[str, Any]], masters: int) -> dict[str, Any]:
    """The three bounds of the docstring's model, from the 1-process run's costs."""
    cost = runs[0]["cpu_ms_per_envelope"]
    cores = os.cpu_count() or 1
    everything = cost["pools"] + cost["redis"] + cost["gateway"]
    bounds = {
        "per_pool_process": round(1000 / max(cost["pools"], 1e-9), 1),
        "redis": round(1000 * masters / max(cost["redis_masters"], 1e-9), 1),
        "host": round(1000 * cores / max(everything, 1e-9), 1),
    }
    predicted = {
        str(run["processes"]): round(
            min(run["processes"] * bounds["per_pool_process"], bounds["redis"], bounds["host"]), 1
        )
        for run in runs
    }
    return {
        "cores": cores,
        "masters": masters,
        "bounds_per_s": bounds,
        "predicted_per_s": predicted,
    }


async def _runs(
    target: RedisTarget, where: str, redis_cpu: CpuReader, tmp: Path, args: argparse.Namespace
) -> list[dict[str, Any]]:
    return [await _run(target, where, redis_cpu, tmp, n, args) for n in args.processes]


async def _embedded(target: RedisTarget, tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    client = connect(target)
    try:
        info = await client.info("server")

        async def redis_cpu() -> tuple[float, float]:
            used = _redis_cpu(await client.info("cpu"))
            return used, used

        where = target.url or target.socket or ""
        runs = await _runs(target, where, redis_cpu, tmp, args)
    finally:
        await client.aclose()
    kind = "url" if args.redis_url else "embedded"
    return {
        "server": f"redis {info['redis_version']} {kind}",
        "runs": runs,
        "model": _model(runs, 1),
    }


def _cluster(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, local_cluster(Path(tmp) / "nodes") as cluster:
        masters = cluster.master_nodes()

        async def redis_cpu() -> tuple[float, float]:
            def read() -> tuple[float, float]:
                used = {node.port: _redis_cpu(node.info("cpu")) for node in cluster.nodes}
                return sum(used.values()), sum(used[node.port] for node in masters)

            return await asyncio.to_thread(read)

        target = RedisTarget(url=cluster.url)
        runs = asyncio.run(_runs(target, cluster.url, redis_cpu, Path(tmp), args))
        server = masters[0].info("server")
        version = server.get("valkey_version", server["redis_version"])
    return {
        "server": f"valkey {version} cluster of {len(masters)} masters and "
        f"{len(cluster.nodes) - len(masters)} replicas on loopback",
        "runs": runs,
        "model": _model(runs, len(masters)),
    }


def _run_of(side: dict[str, Any], processes: int) -> dict[str, Any]:
    return next(run for run in side["runs"] if run["processes"] == processes)


def _throughput(side: dict[str, Any], processes: int) -> float:
    return float(_run_of(side, processes)["envelopes_per_s"])


def _verdict(result: dict[str, Any], args: argparse.Namespace) -> list[Check]:
    checks: list[Check] = []
    embedded, cluster = result.get("embedded"), result.get("cluster")
    if embedded and {1, 2} <= set(args.processes):
        speedup = _throughput(embedded, 2) / max(_throughput(embedded, 1), 1e-9)
        result["speedup_2"] = round(speedup, 3)
        checks.append(Check("speedup_2", result["speedup_2"], SPEEDUP.of(args), False))
        cost = [_run_of(embedded, n)["cpu_ms_per_envelope"]["pools"] for n in (1, 2)]
        result["cost_ratio_2"] = round(cost[1] / max(cost[0], 1e-9), 3)
        checks.append(Check("cost_ratio_2", result["cost_ratio_2"], COST.of(args)))
    if embedded and cluster and 1 in args.processes:
        ratio = _throughput(cluster, 1) / max(_throughput(embedded, 1), 1e-9)
        result["cluster_ratio"] = round(ratio, 3)
        checks.append(Check("cluster_ratio", result["cluster_ratio"], CLUSTER.of(args), False))
    sides = [side for side in (embedded, cluster) if side]
    result["unanswered"] = sum(run["unanswered"] for side in sides for run in side["runs"])
    checks.append(Check("unanswered", result["unanswered"], UNANSWERED.of(args)))
    return checks


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI: " + str(QUICK))
    parser.add_argument("--crews", type=int, help=f"messages in flight (default {FULL['crews']})")
    parser.add_argument(
        "--warmup", type=float, help=f"s unmeasured, per process (default {FULL['warmup']})"
    )
    parser.add_argument("--seconds", type=float, help=f"s measured (default {FULL['seconds']})")
    parser.add_argument(
        "--processes",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 2, 4],
        help="pool process counts, comma-separated (default 1,2,4)",
    )
    parser.add_argument(
        "--on",
        type=lambda text: text.split(","),
        default=["embedded", "cluster"],
        help="where, comma-separated: embedded, cluster (default both)",
    )
    add_redis_and_out(parser)
    add_targets(parser, SPEEDUP, COST, CLUSTER, UNANSWERED)
    args = parser.parse_args(argv)
    for name, full in FULL.items():
        if getattr(args, name) is None:
            setattr(args, name, QUICK[name] if args.quick else full)
    began = time.monotonic()
    result: dict[str, Any] = {
        "benchmark": "scale",
        "model": "offline",
        "crews": args.crews,
        "warmup_s": args.warmup,
        "window_s": args.seconds,
        "processes": args.processes,
    }
    if "embedded" in args.on:
        result["embedded"] = with_redis(args, lambda target, tmp: _embedded(target, tmp, args))
    if "cluster" in args.on:
        result["cluster"] = _cluster(args)
    checks = _verdict(result, args)
    result["duration_s"] = round(time.monotonic() - began, 1)
    for target in (SPEEDUP, COST, CLUSTER, UNANSWERED):
        result[f"target_{target.name}"] = target.of(args)
    return finish(__file__, result, checks, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
