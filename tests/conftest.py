"""Shared fixtures: one real server per session, one namespace per test.

The server is the embedded Valkey, or the one EQUIPAGE_TEST_REDIS_URL names (another engine,
e.g. Debian's redis-server 7 in .ci/redis7), or with EQUIPAGE_TEST_CLUSTER=1 a local cluster
of 3 masters and 3 replicas (``equipage.testing.cluster``). Every test that reaches that server
is marked ``redis``, so ``pytest -m redis`` runs exactly those against it; a test marked
``single_server`` (it restarts its server, or reads what a cluster spreads) is skipped on
the cluster.
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
from equipage.testing.cluster import LocalCluster

FIXTURES = Path(__file__).parent / "fixtures"


ON_CLUSTER = os.environ.get("EQUIPAGE_TEST_CLUSTER") == "1"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "single_server(reason): cannot run on a cluster; EQUIPAGE_TEST_CLUSTER=1 skips"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "redis_target" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.redis)
        if ON_CLUSTER and (mark := item.get_closest_marker("single_server")):
            item.add_marker(pytest.mark.skip(reason=f"single server only: {mark.args[0]}"))


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
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """One local cluster (3 masters, 3 replicas) for the session, started when first asked."""
    started = LocalCluster(tmp_path_factory.mktemp("cluster")).start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
async def on_cluster(cluster: LocalCluster) -> AsyncIterator[aioredis.Redis]:
    """A cluster client of the session's local cluster, closed after the test."""
    client = connect(RedisTarget(url=cluster.url))
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture(scope="session")
def redis_target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RedisTarget]:
    # Tests keep to their own key namespace (the keys fixture), so one shared outside
    # server is as good as a fresh embedded one; tests that restart or kill a server
    # start their own embedded one instead.
    if ON_CLUSTER:
        yield RedisTarget(url=request.getfixturevalue("cluster").url)
        return
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
