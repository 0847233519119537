"""Shared fixtures: one real embedded redis-server per session, one namespace per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from equipage.bus import Bus
from equipage.connection import EmbeddedRedis, RedisTarget, connect
from equipage.keys import Keys

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def redis_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisTarget]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis")).start()
    try:
        yield RedisTarget(socket=server.socket_file)
    finally:
        server.stop()


@pytest.fixture
async def redis(redis_target: RedisTarget) -> AsyncIterator[aioredis.Redis]:
    client = connect(redis_target)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def keys() -> Keys:
    return Keys("acme", namespace=f"t{uuid.uuid4().hex[:10]}")


@pytest.fixture
def bus(redis: aioredis.Redis, keys: Keys) -> Bus:
    return Bus(redis, keys, max_attempts=3, visibility_timeout=0.2)
