"""The faults a chaos run does while its traffic flows: Redis stopped, killed and frozen,
workers SIGKILLed and frozen, and the watch for stalls (dead loops) meanwhile.

Shared by the single-crew run (``harness``) and the farm's (``farm_harness``): what they
watch differs only in their ``Watch`` (which streams settle an envelope, which consumers
must keep reading).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Protocol

from equipage.testing import wait_until
from tests.chaos.fleet import Fleet
from tests.chaos.report import Report, Settings
from tests.chaos.traffic import Publisher, Watch

__all__ = ["Server", "redis_faults", "under_faults", "watch_fleet", "worker_faults"]


class Server(Protocol):
    """What the faults do to the run's Redis: ``ChaosRedis``, or a failover run's target."""

    @property
    def up(self) -> bool: ...

    def start(self) -> None: ...

    def stop(self, how: signal.Signals) -> None: ...

    def freeze(self) -> None: ...

    def thaw(self) -> None: ...


async def redis_faults(
    settings: Settings, server: Server, watch: Watch, report: Report, kills: list[float]
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


async def worker_faults(
    settings: Settings, fleet: Fleet[Any], watch: Watch, report: Report
) -> None:
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


async def watch_fleet(
    settings: Settings, fleet: Fleet[Any], server: Server, watch: Watch, report: Report
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
            for name in await watch.silent(fleet.running(), settings.stall):
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
            report.dead_loop_details += await watch.explain()
            for pid in fleet.running():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGUSR1)  # a farm process logs what it holds
            watch.last_progress = now
        await asyncio.sleep(0.05)


async def under_faults(
    settings: Settings,
    server: Server,
    fleet: Fleet[Any],
    watch: Watch,
    publisher: Publisher,
    report: Report,
    ready: Callable[[], Awaitable[None]],
) -> list[float]:
    """Start ``fleet``, publish every envelope while the faults are done, until each is
    settled or the deadline; stop the fleet, bring the server back up, note in ``report``
    what was done. Returns when Redis was SIGKILLed (wall clock), for the accounting."""
    redis_kills: list[float] = []
    tasks: list[asyncio.Future[Any]] = []
    try:
        fleet.start()
        await ready()
        began = time.monotonic()
        publishing = asyncio.create_task(publisher.all(settings.envelopes, settings.per_thread))
        tasks = [
            publishing,
            asyncio.create_task(watch_fleet(settings, fleet, server, watch, report)),
            asyncio.create_task(redis_faults(settings, server, watch, report, redis_kills)),
            asyncio.create_task(worker_faults(settings, fleet, watch, report)),
        ]

        async def all_settled() -> bool:
            return publishing.done() and not watch.open and await watch.idle()

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
    fleet.check()
    report.kills = fleet.kills
    report.crash_window_kills = dict(fleet.window_kills)
    report.publish_retries = publisher.retries
    report.dead_loop_details += fleet.exits
    report.dead_loops = len(report.dead_loop_details)
    return redis_kills
