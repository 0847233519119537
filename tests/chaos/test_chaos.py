"""The chaos suite, reduced for ``make test``: real workers killed, Redis stopped once.

The full suite is ``python -m tests.chaos.harness`` (``make chaos``).
"""

from __future__ import annotations

from pathlib import Path

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
