"""Shared fixtures: one real server per session, one namespace per test.

The server is the embedded Valkey, or the one EQUIPAGE_TEST_REDIS_URL names (another engine,
e.g. Debian's redis-server 7 in .ci/redis7). Every test that reaches that server is marked
``redis``, so ``pytest -m redis`` runs exactly those against it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from equipage.bus import Bus
from equipage.connection import EmbeddedRedis, RedisTarget, connect
from equipage.keys import Keys

FIXTURES = Path(__file__).parent / "fixtures"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "redis_target" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.redis)


@pytest.fixture(autouse=True)
def _policy_off_for_the_red_team_count(monkeypatch: pytest.MonkeyPatch) -> None:
    """EQUIPAGE_TEST_POLICY_OFF=1: no call ever waits for approval.

    Only for measuring the red team (``pytest tests/test_redteam*.py``): with the policy
    off its cases must mostly fail, else they prove nothing.
    """
    if os.environ.get("EQUIPAGE_TEST_POLICY_OFF") == "1":
        from equipage.policy import Policy

        monkeypatch.setattr(Policy, "needs_approval", lambda *args, **kwargs: False)


@pytest.fixture(scope="session")
def redis_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisTarget]:
    # Tests keep to their own key namespace (the keys fixture), so one shared outside
    # server is as good as a fresh embedded one; tests that restart or kill a server
    # start their own embedded one instead.
    url = os.environ.get("EQUIPAGE_TEST_REDIS_URL")
    if url:
        yield RedisTarget(url=url)
        return
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
