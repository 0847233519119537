"""The chaos harness: envelopes through real workers while workers and Redis are killed.

    python -m tests.chaos.harness --envelopes 10000 --processes 4 --kill-every 2 \\
        --redis-restarts 3 --throughput 300 --json chaos.json

starts its own Redis, ``--processes`` worker processes (``worker_proc``), publishes the
founder's messages over shared threads (about ten per thread, in order), SIGKILLs a random
worker every ``--kill-every`` seconds (a share of the workers also kill themselves inside a
crash window), stops the server ``--redis-restarts`` times (SIGTERM, SIGKILL, SIGTERM...)
and freezes it once, waits until every acknowledged envelope is settled, then accounts for
each (``accounting``). It prints and writes a JSON report and exits 1 when a target is
missed: anything lost (beyond the last fsync second before a Redis SIGKILL), answered or
applied twice, out of order, an orphan tool call, a dead letter or a dead loop. A share
of the messages (``--delegate``) goes from the ceo to the cto and back. ``--throughput N``
adds the no-fault rate of 1, 2 and 4 processes; ``--worker-freezes`` pauses workers
(SIGSTOP) past their heartbeat, as a stalled VM or a blocked event loop would.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from equipage.bus import Bus
from equipage.connection import RedisTarget, connect
from equipage.keys import Keys
from tests.chaos.accounting import Tally, account
from tests.chaos.cli import run_campaign
from tests.chaos.faults import under_faults
from tests.chaos.fleet import Fleet
from tests.chaos.report import Report, Settings, conclude
from tests.chaos.server import ChaosRedis
from tests.chaos.traffic import Publisher, Watch, ready
from tests.chaos.worker_proc import COMPANY, ROLES, WorkerPlan

__all__ = ["Report", "Settings", "chaos", "main", "throughput"]


def _plan(server: ChaosRedis, keys: Keys, work: Path, settings: Settings) -> WorkerPlan:
    return WorkerPlan(
        socket=server.socket,
        namespace=keys.namespace,
        files=str(work / "files"),
        log=str(work / "worker.log"),
        visibility_timeout=settings.visibility_timeout,
        heartbeat_stale=settings.heartbeat_stale,
        lease_ttl=settings.lease_ttl,
        concurrency=settings.concurrency,
    )


async def chaos(settings: Settings, work: Path) -> Report:
    """One chaos run in ``work`` (a folder of its own): the report, misses included."""
    rng = random.Random(settings.seed)
    report = Report(settings=settings, tally=Tally(), workdir=str(work))
    server = ChaosRedis(work / "redis")
    await asyncio.to_thread(server.start)
    redis = connect(RedisTarget(socket=server.socket))
    keys = Keys(COMPANY, namespace=f"chaos{settings.seed}")
    (work / "logs").mkdir(parents=True, exist_ok=True)
    plan = _plan(server, keys, work, settings)
    fleet = Fleet(plan, settings.processes, work / "logs", rng, settings.crash_windows)
    watch = Watch(redis, keys)
    publisher = Publisher(Bus(redis, keys), watch, settings.backlog, rng, settings.delegate)
    try:
        await publisher.bus.ensure_groups(ROLES)
        started = partial(ready, redis, keys, settings.processes, within=60)
        redis_kills = await under_faults(settings, server, fleet, watch, publisher, report, started)
        report.tally = await account(redis, keys, publisher.sent, redis_kills)
    finally:
        await redis.aclose()
        await asyncio.to_thread(server.close)
    return conclude(report)


async def throughput(processes: int, envelopes: int, work: Path, per_thread: int = 10) -> float:
    """Envelopes answered per second by ``processes`` workers, no faults."""
    server = ChaosRedis(work / "redis")
    await asyncio.to_thread(server.start)
    redis = connect(RedisTarget(socket=server.socket))
    keys = Keys(COMPANY, namespace=f"speed{processes}")
    (work / "logs").mkdir(parents=True, exist_ok=True)
    settings = Settings(envelopes=envelopes, processes=processes)
    fleet = Fleet(
        _plan(server, keys, work, settings), processes, work / "logs", random.Random(0), 0
    )
    watch = Watch(redis, keys)
    publisher = Publisher(Bus(redis, keys), watch, envelopes, random.Random(0), 0.0)
    try:
        await publisher.bus.ensure_groups(ROLES)
        fleet.start()
        await ready(redis, keys, processes, within=60)
        began = time.monotonic()
        await publisher.all(envelopes, per_thread)
        while len(watch.settled) < envelopes and time.monotonic() - began < 600:
            await watch.poll()
            await asyncio.sleep(0.02)
        took = time.monotonic() - began
    finally:
        await asyncio.to_thread(fleet.stop)
        await redis.aclose()
        await asyncio.to_thread(server.close)
    return round(len(watch.settled) / took, 1)


def _arguments(argv: Sequence[str] | None) -> tuple[Settings, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.harness", description=__doc__)
    defaults = Settings()
    parser.add_argument("--envelopes", type=int, default=defaults.envelopes)
    parser.add_argument("--processes", type=int, default=defaults.processes)
    parser.add_argument("--kill-every", type=float, default=defaults.kill_every)
    parser.add_argument("--redis-restarts", type=int, default=defaults.redis_restarts)
    parser.add_argument("--no-freeze", action="store_true")
    parser.add_argument("--redis-freeze", type=float, default=defaults.redis_freeze)
    parser.add_argument("--worker-freezes", type=int, default=defaults.worker_freezes)
    parser.add_argument("--worker-freeze", type=float, default=defaults.worker_freeze)
    parser.add_argument("--delegate", type=float, default=defaults.delegate)
    parser.add_argument("--crash-windows", type=float, default=defaults.crash_windows)
    parser.add_argument("--deadline", type=float, default=defaults.deadline)
    parser.add_argument("--visibility-timeout", type=float, default=defaults.visibility_timeout)
    parser.add_argument("--heartbeat-stale", type=float, default=defaults.heartbeat_stale)
    parser.add_argument("--lease-ttl", type=float, default=defaults.lease_ttl)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--throughput", type=int, default=0, help="envelopes per no-fault run at 1/2/4 processes"
    )
    parser.add_argument("--json", type=Path, help="where to write the report")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, AOF)")
    args = parser.parse_args(argv)
    settings = Settings(
        envelopes=args.envelopes,
        processes=args.processes,
        kill_every=args.kill_every,
        redis_restarts=args.redis_restarts,
        freeze=not args.no_freeze,
        redis_freeze=args.redis_freeze,
        worker_freezes=args.worker_freezes,
        worker_freeze=args.worker_freeze,
        crash_windows=args.crash_windows,
        delegate=args.delegate,
        deadline=args.deadline,
        visibility_timeout=args.visibility_timeout,
        heartbeat_stale=args.heartbeat_stale,
        lease_ttl=args.lease_ttl,
        seed=args.seed,
    )
    return settings, args


def main(argv: Sequence[str] | None = None) -> int:
    settings, args = _arguments(argv)
    campaign = partial(_campaign, settings, args.throughput)
    return run_campaign(campaign, prefix="chaos-", keep=args.keep, json_to=args.json)


async def _campaign(settings: Settings, throughput_of: int, root: Path) -> Report:
    report = await chaos(settings, root / "chaos")
    if throughput_of:
        for processes in (1, 2, 4):
            rate = await throughput(processes, throughput_of, root / f"speed{processes}")
            report.throughput_by_processes[str(processes)] = rate
    return report


if __name__ == "__main__":
    sys.exit(main())
