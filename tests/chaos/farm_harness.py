"""The farm's chaos run: many crews served by one pool of processes killed at random.

    python -m tests.chaos.farm_harness --envelopes 5000 --crews 50 --processes 4 \\
        --kill-every 2 --redis-restarts 2 --json chaos-farm.json

makes a farm folder with ``--crews`` crews (``init_folder``, ``Farm.new_crew``, a template
that is the single-crew run's company), starts its own Redis and ``--processes`` pool
processes (``farm_proc``: ``Runtimes`` and ``Pool`` over every crew), and spreads the
single-crew run's traffic over the crews: each crew has threads of its own, each thread's
messages in order, published as a gateway does (mark the crew busy, publish, wake the
pool). The faults are the single-crew run's (``faults``): a pool process SIGKILLed every
``--kill-every`` s (a share of them inside a crash window), the server stopped and frozen.
Each crew is then accounted for as the single crew is, and no reply may sit on another
crew's outbox (``farm_accounting``). It prints and writes a JSON report and exits 1 when
a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from equipage.audit.key import load_key
from equipage.bus import Bus
from equipage.config import Settings as AppSettings
from equipage.connection import RedisTarget, connect
from equipage.farm import Farm, Registry, init_folder
from equipage.farm.wake import Waker
from tests.chaos.cli import run_campaign
from tests.chaos.farm_accounting import FarmTally, account_farm
from tests.chaos.farm_proc import FarmPlan, run
from tests.chaos.farm_traffic import SHARDS, FarmPublisher, FarmWatch, make_crews, pool_ready
from tests.chaos.faults import under_faults
from tests.chaos.fleet import Fleet
from tests.chaos.report import TARGETS, Report, Settings, conclude
from tests.chaos.server import ChaosRedis

__all__ = ["FARM_TARGETS", "FarmReport", "FarmSettings", "farm_chaos", "main"]

#: The single-crew targets, and no reply on another crew's outbox.
FARM_TARGETS = (*TARGETS, "wrong_crew")


class FarmSettings(Settings):
    """One farm run's knobs: the single-crew run's, over ``crews`` crews."""

    envelopes: int = 5_000
    crews: int = 50
    redis_restarts: int = 2
    concurrency: int = 16  # the pool's runs at once, per process, all crews together
    crew_runs: int = 4  # each crew's quota of concurrent runs (per process)
    # A killed process's entries are found by the sweep once idle this long: short, so
    # that the run ends; a dead process's thread turns wait for its heartbeat to go stale.
    visibility_timeout: float = 3.0
    sweep_every: float = 0.5
    # What a crew's bus uses in a pool (``Runtimes`` sets neither): a killed process's
    # thread turns are taken over once its heartbeat is this stale.
    heartbeat_stale: float = 10.0
    lease_ttl: float = 30.0


class FarmReport(Report):
    settings: FarmSettings
    tally: FarmTally


async def farm_chaos(settings: FarmSettings, work: Path) -> FarmReport:
    """One farm chaos run in ``work`` (a folder of its own): the report, misses included."""
    rng = random.Random(settings.seed)
    report = FarmReport(settings=settings, tally=FarmTally(), workdir=str(work))
    server = ChaosRedis(work / "redis")
    await asyncio.to_thread(server.start)
    redis = connect(RedisTarget(socket=server.socket))
    namespace = f"farm{settings.seed}"
    root = work / "farm"
    init_folder(root)
    # One audit key for the farm, as ``farm up`` keeps it in the folder's home.
    load_key(None, root / AppSettings.from_env({}).home, create=True)
    farm = Farm(root, Registry(redis, namespace))
    (work / "logs").mkdir(parents=True, exist_ok=True)
    plan = FarmPlan(
        socket=server.socket,
        namespace=namespace,
        files=str(root / "crews"),
        log=str(work / "worker.log"),
        visibility_timeout=settings.visibility_timeout,
        concurrency=settings.concurrency,
        root=str(root),
        sweep_every=settings.sweep_every,
        shards=SHARDS,
    )
    fleet = Fleet(plan, settings.processes, work / "logs", rng, settings.crash_windows, run)
    try:
        crews = await make_crews(farm, settings.crews, settings.crew_runs)
        keys = [farm.keys(crew) for crew in crews]
        waker = Waker(redis, namespace, SHARDS)
        watch = FarmWatch(redis, keys, namespace)
        buses = [Bus(redis, k, signal=waker) for k in keys]
        publisher = FarmPublisher(buses, watch, settings.backlog, rng, settings.delegate)
        started = partial(pool_ready, redis, namespace, settings.processes, within=60)
        redis_kills = await under_faults(settings, server, fleet, watch, publisher, report, started)
        report.tally = await account_farm(
            redis, root, namespace, crews, publisher.sent, redis_kills
        )
    finally:
        await redis.aclose()
        await asyncio.to_thread(server.close)
    conclude(report, FARM_TARGETS)
    return report


def _arguments(argv: Sequence[str] | None) -> tuple[FarmSettings, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.farm_harness", description=__doc__)
    defaults = FarmSettings()
    parser.add_argument("--envelopes", type=int, default=defaults.envelopes)
    parser.add_argument("--crews", type=int, default=defaults.crews)
    parser.add_argument("--processes", type=int, default=defaults.processes)
    parser.add_argument("--kill-every", type=float, default=defaults.kill_every)
    parser.add_argument("--redis-restarts", type=int, default=defaults.redis_restarts)
    parser.add_argument("--no-freeze", action="store_true")
    parser.add_argument("--crash-windows", type=float, default=defaults.crash_windows)
    parser.add_argument("--delegate", type=float, default=defaults.delegate)
    parser.add_argument("--deadline", type=float, default=defaults.deadline)
    parser.add_argument("--visibility-timeout", type=float, default=defaults.visibility_timeout)
    parser.add_argument("--sweep-every", type=float, default=defaults.sweep_every)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--json", type=Path, help="where to write the report")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, AOF)")
    args = parser.parse_args(argv)
    settings = FarmSettings(
        envelopes=args.envelopes,
        crews=args.crews,
        processes=args.processes,
        kill_every=args.kill_every,
        redis_restarts=args.redis_restarts,
        freeze=not args.no_freeze,
        crash_windows=args.crash_windows,
        delegate=args.delegate,
        deadline=args.deadline,
        visibility_timeout=args.visibility_timeout,
        sweep_every=args.sweep_every,
        seed=args.seed,
    )
    return settings, args


def main(argv: Sequence[str] | None = None) -> int:
    settings, args = _arguments(argv)
    campaign = partial(_campaign, settings)
    return run_campaign(campaign, prefix="chaos-farm-", keep=args.keep, json_to=args.json)


async def _campaign(settings: FarmSettings, root: Path) -> FarmReport:
    return await farm_chaos(settings, root / "chaos")


if __name__ == "__main__":
    sys.exit(main())
