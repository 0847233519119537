"""Cron schedules: one run per tick across workers, in the company's time zone."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import redis.asyncio as aioredis

from equipage.bus import Bus
from equipage.config import CompanyConfig
from equipage.envelope import Envelope, Kind
from equipage.keys import Keys
from equipage.scheduler import Scheduler, owner_origin
from equipage.testing import wait_until
from tests.test_crew import company, crew_running

PARIS = ZoneInfo("Europe/Paris")
# Monday 23 November 2026, 08:00 in Paris (07:00 UTC: winter time).
MONDAY_8 = datetime(2026, 11, 23, 8, 0, tzinfo=PARIS).timestamp()


def scheduled(**extra: Any) -> CompanyConfig:
    data: dict[str, Any] = company().model_dump(mode="json", exclude_unset=True)
    data["workflows"] = ["digest"]
    data["schedules"] = [
        {"name": "weekly", "cron": "0 8 * * MON", "workflow": "digest", "input": {"hours": 168}}
    ]
    data["runtime"] = {**data.get("runtime", {}), "timezone": "Europe/Paris", **extra}
    return CompanyConfig.model_validate(data)


async def runs(redis: aioredis.Redis, keys: Keys) -> list[Envelope]:
    entries: Any = await redis.xrange(keys.inbox("workflow.digest"))
    return [Envelope.decode(fields[b"env"]) for _, fields in entries]


async def test_a_due_tick_publishes_one_workflow_run_for_the_owner(
    redis: aioredis.Redis, keys: Keys, bus: Bus
) -> None:
    scheduler = Scheduler(scheduled(), redis, keys, bus)
    [run] = await scheduler.due(MONDAY_8 + 30)
    assert run.kind is Kind.WORKFLOW and run.to == "workflow.digest"
    assert run.workflow is not None and run.workflow.input == {"hours": 168}
    assert run.workflow.by_owner  # company.yaml is the owner's word: owner-only fields too
    assert run.origin is not None and (run.origin.channel, run.origin.member) == (
        "console",
        "alice",
    )
    assert run.thread.startswith("schedule/weekly/2026-11-23T08:00+01:00/")
    assert await runs(redis, keys) == [run]


async def test_cron_times_are_read_in_the_company_time_zone(
    redis: aioredis.Redis, keys: Keys, bus: Bus
) -> None:
    scheduler = Scheduler(scheduled(), redis, keys, bus)
    seven_utc = datetime(2026, 11, 23, 7, 0, tzinfo=ZoneInfo("UTC")).timestamp()
    assert scheduler.last_tick(scheduler.config.schedules[0], seven_utc) == MONDAY_8
    assert await scheduler.due(MONDAY_8 - 60) == []  # 07:59 Paris: last tick is a week old


async def test_many_workers_checking_the_same_tick_start_it_once(
    redis: aioredis.Redis, keys: Keys, bus: Bus
) -> None:
    config = scheduled()
    schedulers = [Scheduler(config, redis, keys, bus) for _ in range(5)]
    results = await asyncio.gather(*(s.due(MONDAY_8 + 5) for s in schedulers))
    assert sum(len(r) for r in results) == 1
    assert len(await runs(redis, keys)) == 1
    # Checking again later in the same week starts nothing more.
    assert await schedulers[0].due(MONDAY_8 + 1800) == []


async def test_a_tick_missed_by_more_than_the_grace_is_not_run_late(
    redis: aioredis.Redis, keys: Keys, bus: Bus
) -> None:
    scheduler = Scheduler(scheduled(), redis, keys, bus, grace=3600)
    assert len(await scheduler.due(MONDAY_8 + 3000)) == 1  # 50 minutes late: still run
    fresh = Keys("acme", namespace=keys.namespace + "b")
    late = Scheduler(scheduled(), redis, fresh, Bus(redis, fresh), grace=3600)
    assert await late.due(MONDAY_8 + 4000) == []  # 67 minutes late: skipped


async def test_a_claim_left_by_a_dead_worker_lapses_and_the_tick_still_runs(
    redis: aioredis.Redis, keys: Keys, bus: Bus
) -> None:
    scheduler = Scheduler(scheduled(), redis, keys, bus)
    key = keys.schedule_tick("weekly", str(int(MONDAY_8)))
    await redis.set(key, "claimed", px=100)  # claimed, then the claimer died
    assert await scheduler.due(MONDAY_8 + 1) == []

    async def lapsed() -> bool:
        return not await redis.exists(key)

    await wait_until(lapsed, what="the claim to lapse")
    assert len(await scheduler.due(MONDAY_8 + 2)) == 1


def test_a_result_goes_to_the_platform_the_schedule_names_when_the_owner_is_there() -> None:
    data: dict[str, Any] = scheduled().model_dump(mode="json", exclude_unset=True)
    data["members"][0]["identities"]["telegram"] = "123456789"
    data["channels"] = {"telegram": {}}
    config = CompanyConfig.model_validate(data)
    assert owner_origin(config).channel == "telegram"
    assert owner_origin(config, "console").chat == "alice"
    # A platform the owner is not on falls back to where they are.
    assert owner_origin(config, "slack").channel == "telegram"


async def test_a_scheduled_digest_runs_and_its_result_reaches_the_owner(
    redis: aioredis.Redis, keys: Keys
) -> None:
    config = scheduled()
    async with crew_running(redis, keys, config) as crew:
        await Scheduler(config, redis, keys, crew.bus).due(MONDAY_8)
        [result] = await crew.outbox(1)
    assert result.kind is Kind.REPLY and result.to == "human"
    assert result.text.startswith("**Crew activity over the last 168 h**")
    assert result.origin is not None and result.origin.chat == "alice"
