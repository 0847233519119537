"""The chaos suite, reduced for ``make test``: real workers killed, Redis stopped once;
then the same for a farm's pool serving many crews.

The full suites are ``python -m tests.chaos.harness`` (``make chaos``) and
``python -m tests.chaos.farm_harness`` (``make chaos-farm``).
"""

from __future__ import annotations

from pathlib import Path

from tests.chaos.farm_harness import FarmSettings, farm_chaos
from tests.chaos.harness import Settings, chaos


async def test_envelopes_survive_killed_workers_and_a_redis_restart_answered_once_in_order(
    tmp_path: Path,
) -> None:
    settings = Settings(
        envelopes=80,
        per_thread=5,  # 16 threads: a kill stalls a few of them, not all
        processes=2,
        kill_every=1.5,
        redis_restarts=1,
        freeze=False,
        # A dead worker's entries and threads are taken over sooner than in production.
        visibility_timeout=1.5,
        lease_ttl=5.0,
        deadline=45.0,
        stall=20.0,
    )
    report = await chaos(settings, tmp_path)
    print(report.model_dump_json(indent=2))
    tally = report.tally
    assert report.misses == [], report.model_dump_json(indent=2)
    assert tally.answered_once == settings.envelopes
    assert report.redis_restarts == ["SIGTERM"]
    assert report.kills > 0


async def test_a_farm_pool_killed_at_random_answers_every_crew_once_in_order_on_its_own_outbox(
    tmp_path: Path,
) -> None:
    settings = FarmSettings(
        envelopes=160,
        crews=8,
        per_thread=5,  # 32 threads, 4 a crew
        processes=2,
        # A killed process's threads wait for its heartbeat to go stale (10 s in a pool):
        # kills spaced so that two processes still get work done between them.
        kill_every=3.0,
        crash_windows=0.3,
        redis_restarts=1,
        freeze=False,
        visibility_timeout=1.5,
        sweep_every=0.25,
        deadline=50.0,
        stall=20.0,
    )
    report = await farm_chaos(settings, tmp_path)
    print(report.model_dump_json(indent=2))
    tally = report.tally
    assert report.misses == [], report.model_dump_json(indent=2)
    assert tally.answered_once == settings.envelopes
    assert tally.crews == settings.crews and tally.wrong_crew == 0
    assert report.redis_restarts == ["SIGTERM"]
    assert report.kills > 0
