"""The failover run: the farm's workload while the Redis under it is SIGKILLed.

    python -m tests.chaos.failover --on cluster --envelopes 3000 --crews 24 --master-kills 3 \\
        --json chaos-failover.json
    python -m tests.chaos.failover --on single --envelopes 3000 --crews 24 --master-kills 3

``--on cluster`` starts a local cluster (3 masters, 3 replicas, ``LocalCluster``) and points
the pool processes, the publisher and the watch at it (``redis+cluster://``); while the
crews are busy it SIGKILLs a master ``--master-kills`` times, each time another one: its
replica is promoted after the node timeout, the clients follow the new slot map, and the
killed node is started again and rejoins as a replica, so the cluster is 3+3 again before
the next kill. ``--on single`` does the same kills to the single embedded server, started
again from its append-only file. Workers may be killed too (``--kill-every``).

Every envelope is then accounted for as the farm run does (``farm_accounting``), with one
difference: a lost envelope acknowledged inside a kill's window (``failover_targets``) is
counted as ``lost_in_window``, not ``lost``: the write settings do not promise to keep it
(``PROMISES``). Replies a reader saw and the failover took back are counted too: a gateway
would have sent them, so one answered again is a duplicate the founder sees; one taken back
outside every kill's window is a missed target. ``--replica-lag`` freezes each replica before
its master dies, so that such losses happen and can be seen counted apart.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
from collections import defaultdict
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Literal

import redis.asyncio as aioredis
from pydantic import Field
from redis.crc import key_slot

from equipage.audit.key import load_key
from equipage.bus import Bus
from equipage.config import Settings as AppSettings
from equipage.connection import RedisTarget, connect
from equipage.envelope import Envelope
from equipage.farm import Farm, Registry, init_folder
from equipage.farm.wake import Waker
from equipage.keys import Keys
from equipage.testing.cluster import LocalCluster
from tests.chaos.accounting import Sent, entries
from tests.chaos.cli import run_campaign
from tests.chaos.failover_targets import ClusterTarget, Kill, SingleTarget
from tests.chaos.farm_accounting import FarmTally, account_farm
from tests.chaos.farm_harness import FARM_TARGETS, FarmReport, FarmSettings
from tests.chaos.farm_proc import FarmPlan, run
from tests.chaos.farm_traffic import SHARDS, FarmPublisher, FarmWatch, make_crews, pool_ready
from tests.chaos.faults import under_faults
from tests.chaos.fleet import Fleet
from tests.chaos.report import conclude
from tests.chaos.server import ChaosRedis
from tests.chaos.worker_proc import token_of

__all__ = ["PROMISES", "FailoverReport", "FailoverSettings", "failover_chaos", "main"]

#: What an acknowledged write is promised, by where it was written.
PROMISES = {
    "cluster": (
        "A publish is acknowledged by the crew's master alone (no WAIT): replication to "
        "its replica is asynchronous, so a SIGKILL of the master loses the writes it "
        "acknowledged that its replica had not copied yet (lost_in_window); every write the "
        "replica had is kept by its promotion. Each node also keeps an AOF, fsync everysec."
    ),
    "single": (
        "A publish is acknowledged once in the server's memory and its AOF buffer; the AOF "
        "is fsynced every second (appendfsync everysec), so a SIGKILL of the server loses "
        "up to the last second of acknowledged writes (lost_in_window, counted as 1 s)."
    ),
}


class FailoverSettings(FarmSettings):
    """A failover run's knobs: the farm run's, with Redis SIGKILLed ``master_kills`` times."""

    on: Literal["cluster", "single"] = "cluster"
    envelopes: int = 3_000
    crews: int = 24
    master_kills: int = 3  # on a cluster, each kill another master
    node_timeout_ms: int = 1500  # cluster-node-timeout: a dead master's replica waits this
    sample_for: float = 1.0  # s of replication offsets read before each master kill
    replica_lag: float = 0.0  # s the replica is frozen before its master is killed
    # Only the kills above: no worker kills by default, so what is counted is the failover's.
    kill_every: float = 0.0
    crash_windows: float = 0.0
    redis_restarts: int = 0  # the farm run's stops of the server: none here
    freeze: bool = False
    deadline: float = 900.0


class FailoverReport(FarmReport):
    settings: FailoverSettings
    promise: str = ""
    failovers: list[Kill] = Field(default_factory=list)
    #: Replies a reader saw that were gone after a failover: a gateway had sent them.
    replies_taken_back: int = 0
    #: Of those, written by a killed master inside its window (the rest would be a bug).
    replies_taken_back_in_window: int = 0
    #: Envelopes a reader saw answered twice (a reply taken back, then answered again).
    answered_twice_seen: int = 0


class FailoverWatch(FarmWatch):
    """The farm's watch, keeping each reply's entry id: what a gateway would have sent."""

    def __init__(self, redis: aioredis.Redis, crews: Sequence[Keys], namespace: str) -> None:
        super().__init__(redis, crews, namespace)
        self.replies: defaultdict[str, set[str]] = defaultdict(set)

    def saw(self, stream: str, entry_id: str, envelope: Envelope) -> None:
        if stream not in self._dead and envelope.text.startswith("done: "):
            self.replies[token_of(envelope.text)].add(f"{stream} {entry_id}")


async def failover_chaos(settings: FailoverSettings, work: Path) -> FailoverReport:
    """One failover run in ``work`` (a folder of its own): the report, misses included."""
    rng = random.Random(settings.seed)
    report = FailoverReport(
        settings=settings, tally=FarmTally(), workdir=str(work), promise=PROMISES[settings.on]
    )
    target: ClusterTarget | SingleTarget
    if settings.on == "cluster":
        cluster = LocalCluster(work / "cluster", node_timeout_ms=settings.node_timeout_ms)
        await asyncio.to_thread(cluster.start)
        target, where = (
            ClusterTarget(cluster, settings.sample_for, settings.replica_lag),
            RedisTarget(url=cluster.url),
        )
        closing = cluster.stop
    else:
        server = ChaosRedis(work / "redis")
        await asyncio.to_thread(server.start)
        target, where = SingleTarget(server, settings.redis_down), RedisTarget(socket=server.socket)
        closing = server.close
    redis = connect(where)
    namespace = f"failover{settings.seed}"
    root = work / "farm"
    try:
        init_folder(root)
        load_key(None, root / AppSettings.from_env({}).home, create=True)
        farm = Farm(root, Registry(redis, namespace))
        (work / "logs").mkdir(parents=True, exist_ok=True)
        plan = FarmPlan(
            socket=where.socket or "",
            url=where.url or "",
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
        crews = await make_crews(farm, settings.crews, settings.crew_runs)
        keys = [farm.keys(crew) for crew in crews]
        watch = FailoverWatch(redis, keys, namespace)
        waker = Waker(redis, namespace, SHARDS)
        buses = [Bus(redis, k, signal=waker) for k in keys]
        publisher = FarmPublisher(buses, watch, settings.backlog, rng, settings.delegate)
        started = partial(pool_ready, redis, namespace, settings.processes, within=60)
        kills = asyncio.create_task(_kills(settings, target, watch, report.failovers))
        try:
            await under_faults(settings, target, fleet, watch, publisher, report, started)
            # The work may all be settled before the last kill came due (a kill and its
            # restart take seconds): the kills planned still happen, then the count.
            await kills
        finally:
            kills.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await kills
            await asyncio.to_thread(target.start)  # every node back before counting
        slots = {k.company: key_slot(k.inbox("ceo").encode()) for k in keys}
        in_window = partial(_in_window, report.failovers, slots)
        report.tally = await account_farm(
            redis, root, namespace, crews, publisher.sent, [], in_window
        )
        await _taken_back(redis, keys, watch, report, slots)
    finally:
        await redis.aclose()
        await asyncio.to_thread(closing)
    conclude(report, FARM_TARGETS)
    if outside := report.replies_taken_back - report.replies_taken_back_in_window:
        report.misses.append(f"replies taken back outside any kill's window: {outside}")
        report.met = False
    return report


async def _kills(
    settings: FailoverSettings,
    target: ClusterTarget | SingleTarget,
    watch: FarmWatch,
    done: list[Kill],
) -> None:
    """SIGKILL a master (or the server) ``master_kills`` times, evenly over the run."""
    for n in range(settings.master_kills):
        when = settings.envelopes * (n + 1) / (settings.master_kills + 1)
        await watch.until(partial(_settled, watch, when))
        kill = asyncio.ensure_future(asyncio.to_thread(target.kill, n))
        try:
            done.append(await asyncio.shield(kill))
        except asyncio.CancelledError:
            # The run ended mid-kill: a cancelled wait would leave the thread killing and
            # restarting nodes while the count reads them. It finishes first.
            done.append(await kill)
            raise
        print(f"failover: {done[-1].model_dump_json()}", file=sys.stderr, flush=True)


def _settled(watch: FarmWatch, count: float) -> bool:
    return len(watch.settled) >= count


def _in_window(kills: list[Kill], slots: dict[str, int], item: Sent) -> bool:
    return any(kill.may_lose(item.acked_at, slots[item.crew]) for kill in kills)


async def _taken_back(
    redis: aioredis.Redis,
    keys: Sequence[Keys],
    watch: FailoverWatch,
    report: FailoverReport,
    slots: dict[str, int],
) -> None:
    """Replies seen during the run and gone at the end (in a kill's window or not: an
    entry id starts with the writing master's clock in ms); envelopes seen answered twice."""
    final: set[str] = set()
    slot_of: dict[str, int] = {}
    for k in keys:
        slot_of[k.outbox] = slots[k.company]
        async for entry_id, _ in entries(redis, k.outbox):
            final.add(f"{k.outbox} {entry_id}")
    for seen in watch.replies.values():
        for gone in seen - final:
            report.replies_taken_back += 1
            stream, _, entry_id = gone.partition(" ")
            written = int(entry_id.partition("-")[0]) / 1000
            if any(kill.may_lose(written, slot_of[stream]) for kill in report.failovers):
                report.replies_taken_back_in_window += 1
        if len(seen) > 1:
            report.answered_twice_seen += 1


def _arguments(argv: Sequence[str] | None) -> tuple[FailoverSettings, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.failover", description=__doc__)
    defaults = FailoverSettings()
    parser.add_argument("--on", choices=("cluster", "single"), default=defaults.on)
    for name in ("envelopes", "crews", "processes", "master_kills", "node_timeout_ms", "seed"):
        parser.add_argument(
            f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name)
        )
    for name in (
        "kill_every",
        "crash_windows",
        "deadline",
        "sample_for",
        "visibility_timeout",
        "replica_lag",
    ):
        parser.add_argument(
            f"--{name.replace('_', '-')}", type=float, default=getattr(defaults, name)
        )
    parser.add_argument("--json", type=Path, help="where to write the report")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, AOF)")
    args = parser.parse_args(argv)
    known = set(FailoverSettings.model_fields)
    settings = FailoverSettings(**{k: v for k, v in vars(args).items() if k in known})
    return settings, args


def main(argv: Sequence[str] | None = None) -> int:
    settings, args = _arguments(argv)
    campaign = partial(_campaign, settings)
    return run_campaign(campaign, prefix="chaos-failover-", keep=args.keep, json_to=args.json)


async def _campaign(settings: FailoverSettings, root: Path) -> FailoverReport:
    return await failover_chaos(settings, root / "chaos")


if __name__ == "__main__":
    sys.exit(main())
