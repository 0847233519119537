"""Cron schedules of company.yaml: one workflow run per tick, however many workers watch.

Every ``equipage up`` process runs a Scheduler; they agree through Redis. A tick is
claimed with ``SET NX`` and a short expiry before its run is published, then marked
published for a week: a worker that dies between the two lets the claim lapse and
another one publishes, and no tick runs twice. A tick missed while nothing was running
is still run if it is less than ``grace`` seconds old (a laptop that slept through
Monday 8:00 still gets its weekly tenders), never older ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import redis.asyncio as aioredis
from croniter import croniter

from equipage.bus import Bus
from equipage.company import platform_names
from equipage.config import CompanyConfig, Schedule
from equipage.envelope import Envelope, Kind, Origin, WorkflowCall
from equipage.keys import Keys
from equipage.registry import platforms
from equipage.tools import workflow_inbox

__all__ = ["Scheduler", "owner_origin"]

log = logging.getLogger(__name__)

_CLAIM_MS = 60_000  # time a claimer has to publish before others may take the tick
_KEEP_S = 8 * 24 * 3600  # a published tick is remembered longer than any grace


def owner_origin(config: CompanyConfig, platform: str | None = None) -> Origin:
    """Where the owner reads results: ``platform`` if they have an identity there, else the
    first configured platform they are on, else the console."""
    owner = config.owner
    known = platforms()
    # An always-on platform (the console) has no section: it is always configured.
    configured = [
        name
        for name in platform_names()
        if known[name].config is None or config.channels.section(name) is not None
    ]
    order = ([platform] if platform else []) + [p for p in configured if p != platform]
    for name in order:
        if name in owner.identities:
            chat = owner.identities[name]
            return Origin(channel=name, chat=chat, member=owner.id)
    return Origin(channel="console", chat=owner.id, member=owner.id)


class Scheduler:
    """Publishes the workflow runs of company.yaml's ``schedules:`` when they fall due."""

    def __init__(
        self,
        config: CompanyConfig,
        redis: aioredis.Redis,
        keys: Keys,
        bus: Bus,
        *,
        grace: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.redis = redis
        self.keys = keys
        self.bus = bus
        self.grace = grace
        self.clock = clock
        self.zone = ZoneInfo(config.runtime.timezone)

    def last_tick(self, schedule: Schedule, now: float) -> float:
        """The latest tick of ``schedule`` at or before ``now`` (epoch seconds)."""
        # get_prev is strictly before its start; ticks fall on whole minutes, so starting
        # one second later makes a tick at exactly `now` count.
        start = datetime.fromtimestamp(now + 1, self.zone)
        return float(croniter(schedule.cron, start).get_prev(float))

    def next_tick(self, schedule: Schedule, now: float) -> float:
        start = datetime.fromtimestamp(now, self.zone)
        return float(croniter(schedule.cron, start).get_next(float))

    async def due(self, now: float | None = None) -> list[Envelope]:
        """Publish the runs due at ``now`` that no one published yet; returns them."""
        now = self.clock() if now is None else now
        published = []
        for schedule in self.config.schedules:
            tick = self.last_tick(schedule, now)
            if now - tick > self.grace:
                continue
            key = self.keys.schedule_tick(schedule.name, str(int(tick)))
            if not await self.redis.set(key, "claimed", nx=True, px=_CLAIM_MS):
                continue
            envelope = self._run(schedule, tick)
            await self.bus.publish(envelope)
            await self.redis.set(key, envelope.id, ex=_KEEP_S)
            log.info("schedule %s: started workflow %s", schedule.name, schedule.workflow)
            published.append(envelope)
        return published

    async def run(self, stop: asyncio.Event) -> None:
        """Check schedules until ``stop``, waking at the next tick (and at least each minute)."""
        while not stop.is_set():
            await self.due()
            now = self.clock()
            upcoming = [self.next_tick(s, now) for s in self.config.schedules]
            wait = min([60.0, *(t - now for t in upcoming)])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=max(wait, 0.05))

    def _run(self, schedule: Schedule, tick: float) -> Envelope:
        stamp = datetime.fromtimestamp(tick, self.zone).isoformat(timespec="minutes")
        digest = hashlib.sha256(f"{schedule.name}\0{tick}".encode()).hexdigest()[:12]
        return Envelope(
            kind=Kind.WORKFLOW,
            company=self.keys.company,
            to=workflow_inbox(schedule.workflow),
            sender=schedule.role or f"schedule:{schedule.name}",
            thread=f"schedule/{schedule.name}/{stamp}/{digest}",
            origin=owner_origin(self.config, schedule.notify),
            # company.yaml is the owner's word: a schedule may set owner-only fields.
            workflow=WorkflowCall(
                name=schedule.workflow, input=dict(schedule.input), by_owner=True
            ),
        )
