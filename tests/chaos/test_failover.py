"""The failover run, reduced for ``make test``: a farm's crews at work while masters of a
local cluster are SIGKILLed (their replicas promoted), then while the single server is.

The full run is ``python -m tests.chaos.failover`` (``make chaos-failover``).
"""

from __future__ import annotations

from pathlib import Path

from tests.chaos.failover import FailoverSettings, failover_chaos
from tests.chaos.failover_targets import Kill


def _settings(**changes: object) -> FailoverSettings:
    base = FailoverSettings(
        envelopes=120,
        crews=6,
        per_thread=5,  # 24 threads, 4 a crew
        processes=2,
        master_kills=2,
        visibility_timeout=1.5,
        sweep_every=0.25,
        deadline=50.0,
        # A run cut short by the failover keeps its thread's lease, which the entry's
        # reclaimer frees (the token names the entry): nothing waits for it to lapse (30 s).
        stall=20.0,
    )
    return base.model_copy(update=changes)


async def test_two_masters_killed_under_load_lose_nothing_their_replicas_had_and_answer_once(
    tmp_path: Path,
) -> None:
    settings = _settings(on="cluster")
    report = await failover_chaos(settings, tmp_path)
    print(report.model_dump_json(indent=2))
    tally = report.tally
    assert report.misses == [], report.model_dump_json(indent=2)
    # Only a write the replica had not copied may be missing; none other, nothing twice.
    assert tally.answered_once + tally.lost_in_window == settings.envelopes
    assert report.answered_twice_seen == 0
    killed = [kill.node for kill in report.failovers]
    assert len(killed) == 2 and len(set(killed)) == 2, killed
    assert all(kill.slots and kill.replica for kill in report.failovers)


async def test_the_single_server_killed_under_load_comes_back_from_its_aof_answering_once(
    tmp_path: Path,
) -> None:
    settings = _settings(on="single", master_kills=1, envelopes=80)
    report = await failover_chaos(settings, tmp_path)
    print(report.model_dump_json(indent=2))
    tally = report.tally
    assert report.misses == [], report.model_dump_json(indent=2)
    assert tally.answered_once + tally.lost_in_window == settings.envelopes
    assert [kill.node for kill in report.failovers] == ["single"]


def test_a_loss_is_excused_only_on_the_killed_masters_slots_inside_its_window() -> None:
    kill = Kill(node="n", at=100.0, window_from=99.9, slots=[(0, 5460)])
    assert kill.may_lose(99.95, slot=12)
    assert not kill.may_lose(99.95, slot=6000)  # another master's crew
    assert not kill.may_lose(99.8, slot=12)  # its replica had it
    assert not kill.may_lose(100.1, slot=12)  # acknowledged by the promoted replica
    single = Kill(node="single", at=100.0, window_from=99.0, slots=[])
    assert single.may_lose(99.5, slot=6000) and not single.may_lose(98.9, slot=0)
