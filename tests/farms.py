"""Farms for tests: a farm folder on its own key namespace, and the two-crew farm the chat
tests share (alpha owned by Alice, in French; beta by Bob; one farm admin)."""

from __future__ import annotations

import uuid
from pathlib import Path

import redis.asyncio as aioredis

from equipage.farm import Farm, Owner, Registry, init_folder

ALICE = Owner(platform="telegram", id="111", name="Alice")
BOB = Owner(platform="telegram", id="222", name="Bob")
ADMIN = "telegram:999"


def empty_farm(root: Path, redis: aioredis.Redis) -> Farm:
    """A farm folder at ``root`` (templates made) on a namespace of its own."""
    init_folder(root)
    return Farm(root, Registry(redis, namespace=f"t{uuid.uuid4().hex[:10]}"))


async def alpha_and_beta(root: Path, redis: aioredis.Redis) -> Farm:
    """Crews alpha (Alice's, French) and beta (Bob's), and ``ADMIN`` as the farm's admin."""
    made = empty_farm(root, redis)
    await made.new_crew("alpha", owner=ALICE, language="fr")
    await made.new_crew("beta", owner=BOB)
    await made.people.add_admin(ADMIN)
    return made
