"""A chaos pool process: one farm's pool serving every crew, handling until it is killed.

The farm harness (``farm_harness``) starts it as the single-crew harness starts a worker:
forked from the fork server, with a plan that may arm a crash window (``worker_proc``).
It runs what ``equipage farm up`` runs for the work (``Runtimes`` and ``Pool``, the pool's
loop under a ``Supervisor``, back after a Redis outage), with the chaos model for every
role of every crew. Replies are read off each crew's outbox by the harness: no gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass
from pathlib import Path

from equipage.audit.key import load_key
from equipage.config import CompanyConfig, Settings
from equipage.connection import RedisTarget, connect
from equipage.farm import Registry
from equipage.farm.pool import Pool
from equipage.farm.runtimes import Runtimes
from equipage.llm.base import ChatModel
from equipage.supervise import Supervisor
from equipage.worker import consumer_name
from tests.chaos.worker_proc import ChaosModel, WorkerPlan, prepare

__all__ = ["FarmPlan", "run"]


@dataclass(frozen=True)
class FarmPlan(WorkerPlan):
    """A worker's plan, plus the farm's folder and the pool's knobs.

    ``concurrency`` is the pool's (runs at once in the process, all crews together);
    ``visibility_timeout`` the farm's, for every crew and the sweep.
    """

    root: str = ""
    sweep_every: float = 0.5
    shards: int = 4
    #: A REDIS_URL (a cluster's, for the failover run); "" for the server on ``socket``.
    url: str = ""


def _models(config: CompanyConfig) -> dict[str, str | ChatModel]:
    return {role: ChaosModel() for role in config.roles}


async def _serve(plan: FarmPlan) -> None:
    redis = connect(RedisTarget(url=plan.url) if plan.url else RedisTarget(socket=plan.socket))
    root = Path(plan.root)
    settings = Settings.from_env({"EQUIPAGE_NAMESPACE": plan.namespace})
    runtimes = Runtimes(
        root,
        Registry(redis, plan.namespace),
        settings,
        # Unique per process, as ``farm up`` names it: a killed process's entries stay
        # pending under its name until the sweep finds them stalled.
        consumer=consumer_name(),
        models_for=_models,
        audit_key=load_key(None, root / settings.home, create=False),
        visibility_timeout=plan.visibility_timeout,
    )
    pool = Pool(
        runtimes,
        concurrency=plan.concurrency,
        shards=plan.shards,
        block_ms=200,
        sweep_every=plan.sweep_every,
        visibility_timeout=plan.visibility_timeout,
        serve_outbox=False,
    )
    runtimes.signal = pool
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    # A stalled run asks each process what it holds (``faults``): written to its log.
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, _tell, pool, runtimes)
    # Supervised as serve_farm supervises it: the pool's loop raises when Redis goes away.
    supervisor = Supervisor(stop, recover_within=plan.recover_within, cap=1.0)
    try:
        await supervisor.run("pool", pool.run)
    finally:
        with contextlib.suppress(Exception):
            await runtimes.aclose()
            await redis.aclose()


_TOLD: set[asyncio.Future[None]] = set()  # kept until done: a task only weakly held may go


def _tell(pool: Pool, runtimes: Runtimes) -> None:
    """Log what this process holds: its runs, each crew's count, what waits, and where
    every task of the process is now (a run stuck on a dead connection shows there)."""
    crews = {c.name: c.running for c in runtimes.loaded()}
    logging.warning(
        "state: %d runs, running by crew %s, capped %s, queued %s",
        len(pool._tasks),  # a test looks inside
        crews,
        sorted(pool._capped),
        list(pool._work.order),
    )
    _TOLD.add(asyncio.ensure_future(_tell_crews(pool, runtimes)))
    for task in asyncio.all_tasks():
        frames = task.get_stack(limit=8)
        where = " < ".join(f"{f.f_code.co_name}:{f.f_lineno}" for f in reversed(frames))
        logging.warning("task %s: %s", task.get_name(), where)


async def _tell_crews(pool: Pool, runtimes: Runtimes) -> None:
    """What the pool's own sweep finds of each busy crew, and how it holds it loaded."""
    try:
        for crew, marked in await pool.sweep.busy():
            kept = await pool.sweep.look(crew)
            fresh = await pool.sweep.look(crew, fresh=True)
            loaded = runtimes.peek(crew)
            held = (
                f"served {loaded.served} stale {loaded.stale} running {loaded.running}"
                f" streams {loaded.worker.streams}"
                if loaded is not None
                else "not loaded"
            )
            logging.warning(
                "crew %s marked %s: sweep finds %s, fresh %s; %s", crew, marked, kept, fresh, held
            )
    except Exception:
        logging.exception("telling the crews")


def run(plan: FarmPlan) -> None:
    """The process's entry: log to ``plan.log``, arm the crash window, serve until SIGTERM."""
    prepare(plan)
    asyncio.run(_serve(plan))
