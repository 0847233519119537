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
import contextlib
import json
import random
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from equipage.bus import Bus
from equipage.connection import RedisTarget, connect
from equipage.keys import Keys
from equipage.testing import wait_until
from tests.chaos.accounting import Tally, account
from tests.chaos.fleet import Fleet
from tests.chaos.server import ChaosRedis
from tests.chaos.traffic import Publisher, Watch, idle, ready, silent
from tests.chaos.worker_proc import COMPANY, ROLES, WorkerPlan

__all__ = ["Report", "Settings", "chaos", "main", "throughput"]

#: Counts of ``Tally`` that must be 0 for the run to meet its target.
TARGETS = (
    "lost",
    "answered_twice",
    "turn_applied_twice",
    "out_of_order",
    "orphan_tool_calls",
    "answered_without_turn",
    "dead_letters",
    "pending",
)


class Settings(BaseModel):
    """One chaos run's knobs (the command line's)."""

    envelopes: int = 10_000
    processes: int = 4
    per_thread: int = 10
    kill_every: float = 2.0  # seconds between SIGKILLs of a random worker; 0: none
    redis_restarts: int = 3
    redis_down: float = 3.0  # seconds the server stays stopped
    freeze: bool = True
    redis_freeze: float = 3.0  # seconds the server stays frozen (SIGSTOP)
    worker_freezes: int = 0  # workers frozen (SIGSTOP) for ``worker_freeze`` s, then resumed
    worker_freeze: float = 8.0
    crash_windows: float = 0.5  # share of worker starts that die in a crash window
    backlog: int = 1000  # most envelopes published and not yet settled
    stall: float = 30.0  # seconds without progress, work pending: a dead loop
    deadline: float = 3600.0  # seconds the whole run may take
    delegate: float = 0.2  # share of messages the ceo delegates to the cto
    concurrency: int = 4
    visibility_timeout: float = 3.0
    heartbeat_stale: float = 5.0  # a worker silent this long is gone (it beats every 2 s)
    lease_ttl: float = 10.0
    seed: int = 1


class Report(BaseModel):
    settings: Settings
    tally: Tally
    kills: int = 0
    crash_window_kills: dict[str, int] = Field(default_factory=dict)
    redis_restarts: list[str] = Field(default_factory=list)
    redis_freezes: int = 0
    worker_freezes: int = 0
    publish_retries: int = 0
    dead_loops: int = 0
    dead_loop_details: list[str] = Field(default_factory=list)
    duration_s: float = 0.0
    throughput: float = 0.0  # envelopes settled per second, faults included
    throughput_by_processes: dict[str, float] = Field(default_factory=dict)
    met: bool = False  # every target met: nothing in ``misses``
    misses: list[str] = Field(default_factory=list)
    workdir: str = ""  # kept (logs, the server's files) when a target is missed


async def _redis_faults(
    settings: Settings, server: ChaosRedis, watch: Watch, report: Report, kills: list[float]
) -> None:
    """Stop the server ``redis_restarts`` times and freeze it once, spread over the run."""
    modes = [
        signal.SIGTERM if i % 2 == 0 else signal.SIGKILL for i in range(settings.redis_restarts)
    ]
    plan: list[signal.Signals | None] = [*modes, *([None] if settings.freeze else [])]
    for i, mode in enumerate(plan):
        when = settings.envelopes * (i + 1) / (len(plan) + 1)
        await watch.until(partial(_reached, watch, when))
        if mode is None:
            await asyncio.to_thread(server.freeze)
            try:
                await asyncio.sleep(settings.redis_freeze)
            finally:
                server.thaw()
            report.redis_freezes += 1
        else:
            if mode is signal.SIGKILL:
                kills.append(time.time())
            await asyncio.to_thread(server.stop, mode)
            await asyncio.sleep(settings.redis_down)
            await asyncio.to_thread(server.start)
            report.redis_restarts.append(mode.name)
        watch.last_progress = time.monotonic()  # the outage was not the workers' stall


async def _worker_faults(settings: Settings, fleet: Fleet, watch: Watch, report: Report) -> None:
    """Freeze a random worker ``worker_freezes`` times (a paused VM, a stalled process)."""
    for i in range(settings.worker_freezes):
        when = settings.envelopes * (i + 1) / (settings.worker_freezes + 1)
        await watch.until(partial(_reached, watch, when))
        pid = fleet.freeze_one()
        try:
            await asyncio.sleep(settings.worker_freeze)
        finally:
            fleet.thaw(pid)
        report.worker_freezes += 1


def _reached(watch: Watch, count: float) -> bool:
    return len(watch.settled) >= count


async def _watch_fleet(
    settings: Settings, fleet: Fleet, server: ChaosRedis, watch: Watch, report: Report
) -> None:
    """Kill a worker every ``kill_every`` s, restart the dead, and notice stalls: nothing
    settled for ``stall`` s, or a live worker that has not read its inbox for that long."""
    next_kill = time.monotonic() + settings.kill_every
    next_say = time.monotonic() + 10.0
    up_since = time.monotonic()
    told: set[str] = set()
    while True:
        await asyncio.to_thread(fleet.check)
        await watch.poll()
        now = time.monotonic()
        if settings.kill_every and now >= next_kill:
            fleet.kill_one()
            next_kill += settings.kill_every
        if now >= next_say:
            print(
                f"chaos: {len(watch.acked)} published, {len(watch.settled)} settled, "
                f"{fleet.kills} kills, {sum(fleet.window_kills.values())} in windows, "
                f"redis {report.redis_restarts} frozen {report.redis_freezes}, "
                f"workers frozen {report.worker_freezes}",
                file=sys.stderr,
                flush=True,
            )
            next_say = now + 10.0
        if not server.up:
            watch.last_progress = up_since = now
        elif watch.open and now - up_since > settings.stall:
            for name in await silent(watch.redis, watch.keys, fleet.running(), settings.stall):
                if name not in told:
                    told.add(name)
                    report.dead_loop_details.append(
                        f"worker {name} alive but has not read its inbox for "
                        f"{settings.stall:.0f}s with {watch.open} envelopes open"
                    )
        if server.up and watch.open and now - watch.last_progress > settings.stall:
            report.dead_loop_details.append(
                f"no envelope settled for {settings.stall:.0f}s with {watch.open} open "
                f"at {len(watch.settled)}/{settings.envelopes} (workers {fleet.pids()})"
            )
            watch.last_progress = now
        await asyncio.sleep(0.05)


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
    redis_kills: list[float] = []
    tasks: list[asyncio.Future[Any]] = []
    try:
        await publisher.bus.ensure_groups(ROLES)
        fleet.start()
        await ready(redis, keys, settings.processes, within=60)
        began = time.monotonic()
        publishing = asyncio.create_task(publisher.all(settings.envelopes, settings.per_thread))
        tasks = [
            publishing,
            asyncio.create_task(_watch_fleet(settings, fleet, server, watch, report)),
            asyncio.create_task(_redis_faults(settings, server, watch, report, redis_kills)),
            asyncio.create_task(_worker_faults(settings, fleet, watch, report)),
        ]

        async def all_settled() -> bool:
            return publishing.done() and not watch.open and await idle(redis, keys)

        # Past the deadline the report counts what is left (pending, lost): no raise here.
        with contextlib.suppress(TimeoutError):
            left = began + settings.deadline - time.monotonic()
            await wait_until(all_settled, timeout=left, interval=0.1, what="every envelope settled")
        report.duration_s = round(time.monotonic() - began, 2)
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.to_thread(fleet.stop)
        if not server.up:  # the run ended mid-outage: bring it back to count
            with contextlib.suppress(OSError):
                await asyncio.to_thread(server.thaw)
            if not server.up:
                await asyncio.to_thread(server.start)
    try:
        fleet.check()
        report.kills = fleet.kills
        report.crash_window_kills = dict(fleet.window_kills)
        report.publish_retries = publisher.retries
        report.dead_loop_details += fleet.exits
        report.dead_loops = len(report.dead_loop_details)
        report.tally = await account(redis, keys, publisher.sent, redis_kills)
    finally:
        await redis.aclose()
        await asyncio.to_thread(server.close)
    settled = report.tally.acknowledged - report.tally.pending - report.tally.lost
    report.throughput = round(settled / max(report.duration_s, 1e-9), 1)
    report.misses = misses(report)
    report.met = not report.misses
    return report


def misses(report: Report) -> list[str]:
    """The targets the run missed, as sentences."""
    tally = report.tally
    out = [f"{name}: {getattr(tally, name)}" for name in TARGETS if getattr(tally, name)]
    if report.dead_loops:
        out.append(f"dead_loops: {report.dead_loops}")
    if tally.acknowledged < report.settings.envelopes:
        out.append(f"published only {tally.acknowledged} of {report.settings.envelopes}")
    return out


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


async def _main(settings: Settings, args: argparse.Namespace) -> Report:
    # SIGTERM ends the run as Ctrl-C does: workers stopped, the server shut down.
    main = asyncio.current_task()
    assert main is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
    root = Path(tempfile.mkdtemp(prefix="chaos-"))
    report = await chaos(settings, root / "chaos")
    if args.throughput:
        for processes in (1, 2, 4):
            rate = await throughput(processes, args.throughput, root / f"speed{processes}")
            report.throughput_by_processes[str(processes)] = rate
    if not args.keep and not report.misses:
        import shutil

        shutil.rmtree(root, ignore_errors=True)
        report.workdir = ""
    return report


def main(argv: Sequence[str] | None = None) -> int:
    settings, args = _arguments(argv)
    report = asyncio.run(_main(settings, args))
    text = json.dumps(report.model_dump(), indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    if report.misses:
        print("targets missed: " + "; ".join(report.misses), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
