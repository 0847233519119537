"""Account for a farm chaos run crew by crew, then add the crews up.

Each crew is accounted for as the single-crew run is (``accounting.account``: answered
once, in order per thread, nothing lost, no dead letters, its own config and histories);
on top, every reply on a crew's outbox must answer one of that crew's own messages.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import redis.asyncio as aioredis

from equipage.bus import Bus
from equipage.config import load_config
from equipage.farm import crew_config
from equipage.keys import Keys
from tests.chaos.accounting import Sent, Tally, account, entries
from tests.chaos.worker_proc import token_of

__all__ = ["FarmTally", "account_farm"]


class FarmTally(Tally):
    """The crews' tallies added up, and replies found on another crew's outbox."""

    crews: int = 0
    wrong_crew: int = 0  # a reply (or its envelope's company) on another crew's outbox


async def account_farm(
    redis: aioredis.Redis,
    root: Path,
    namespace: str,
    crews: list[str],
    sent: list[Sent],
    redis_kills: list[float],
    in_window: Callable[[Sent], bool] | None = None,
) -> FarmTally:
    by_crew: dict[str, list[Sent]] = defaultdict(list)
    for item in sent:
        by_crew[item.crew].append(item)
    owner = {item.token: item.crew for item in sent}
    total = FarmTally(crews=len(crews))
    for crew in crews:
        keys = Keys(crew, namespace)
        config = load_config(crew_config(root, crew))
        # A crew no pool ever loaded has no groups yet: made now, all it holds is pending.
        await Bus(redis, keys).ensure_groups(config.roles)
        tally = await account(redis, keys, by_crew.get(crew, []), redis_kills, config, in_window)
        _add(total, tally, crew)
        await _foreign(redis, keys, owner, total)
    return total


def _add(total: FarmTally, tally: Tally, crew: str) -> None:
    for name, value in tally:
        if name == "examples":
            continue
        setattr(total, name, getattr(total, name) + value)
    for what, shown in tally.examples.items():
        for example in shown:
            total.note(what, f"{crew}: {example}")


async def _foreign(
    redis: aioredis.Redis, keys: Keys, owner: dict[str, str], total: FarmTally
) -> None:
    """Count what sits on ``keys``' outbox but answers, or names, another crew."""
    crew = keys.company
    async for _, envelope in entries(redis, keys.outbox):
        if envelope is None:
            continue
        token = token_of(envelope.text)
        theirs = owner.get(token, crew) if token else crew
        if theirs != crew or envelope.company != crew:
            total.wrong_crew += 1
            total.note("wrong_crew", f"on {crew}: {envelope.company} {envelope.text[:120]}")
