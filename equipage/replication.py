"""Writes that must outlive a failover: wait until a replica has them (``WAIT``).

Redis replicates asynchronously: a master answers a write before any replica has it, so a
write acknowledged just before the master dies can be missing on the replica promoted in
its place. The bus copes with that for its own work (an entry whose commit was lost is
still pending on the new master and is handled again, its commit idempotent), but three
writes tell the world outside that something happened, and cannot be taken back:

- a person's message, once the platform is told it arrived (it will not send it again);
- a reply, before it goes out to the person (else, redone, it would go out twice);
- the marker of an effectful tool call, before the call runs (else it would run twice).

After each of these, ``replicated`` waits until one replica acknowledges everything the
master had written (``WAIT 1``), at most ``timeout_ms``. ``WAIT`` counts the writes made on
the connection it is sent on, so a small write in the same slot goes first on that same
connection; replication is in order, so a replica that has it has every earlier write of
that master too. A server without replicas (one host, the embedded server) is not asked:
its own append-only file is what keeps the write. When no replica answers in time (one is
down or far behind), the caller goes on and a warning says the write is on the master only:
the crew stays available, with the durability of a single server until the replica is back.
"""

from __future__ import annotations

import logging
import time
import weakref
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, PipelineCommand, RedisCluster
from redis.exceptions import RedisError, SlotNotCoveredError

__all__ = ["REPLICA_CHECK_SECONDS", "TIMEOUT_MS", "replicated"]

log = logging.getLogger(__name__)

#: The longest a write waits for a replica before the caller goes on.
TIMEOUT_MS = 500
#: How long a server's count of replicas is trusted before it is asked again.
REPLICA_CHECK_SECONDS = 5.0
# The mark written before WAIT lives this long: it only needs to reach a replica.
_MARK_MS = 60_000

# Per server, (replicas, when asked): a cluster's by node name, one server's by its client
# (weakly: a closed client's entry goes with it).
_replicas: dict[str, tuple[int, float]] = {}
_replicas_of: weakref.WeakKeyDictionary[aioredis.Redis, tuple[int, float]] = (
    weakref.WeakKeyDictionary()
)


async def replicated(
    redis: aioredis.Redis | RedisCluster, mark: str, *, timeout_ms: int = TIMEOUT_MS
) -> bool:
    """Wait until a replica has every write its master had so far; True when it has, or
    when the master has no replica to wait for. ``mark`` is a key of the caller's own slot
    (``Keys.replication_mark``): the master of that slot is the one waited on."""
    try:
        if isinstance(redis, RedisCluster):
            await redis.initialize()  # a new client learns the slots on its first command
            node = redis.get_node_from_key(mark)
            if node is None:  # the slot has no master right now (mid-failover)
                raise SlotNotCoveredError(f"no master serves {mark}")
            if await _replica_count(node.name, lambda: _node_info(node)) == 0:
                return True
            acked = await _wait_on_node(node, mark, timeout_ms)
        else:
            if await _replica_count(redis, lambda: redis.info("replication")) == 0:
                return True
            async with redis.pipeline(transaction=False) as pipe:
                pipe.set(mark, 1, px=_MARK_MS)
                pipe.execute_command("WAIT", 1, timeout_ms)
                _, acked = await pipe.execute()
    except RedisError as err:
        log.warning("could not wait for a replica (%s): the write is on the master only", err)
        return False
    if int(acked) >= 1:
        return True
    log.warning("no replica acknowledged within %d ms: the write is on the master only", timeout_ms)
    return False


async def _replica_count(server: str | aioredis.Redis, info: Any) -> int:
    known_by: Any = _replicas if isinstance(server, str) else _replicas_of
    now = time.monotonic()
    known = known_by.get(server)
    if known is not None and now - known[1] < REPLICA_CHECK_SECONDS:
        return int(known[0])
    reply = await info()
    count = int(reply.get("connected_slaves", 0))
    known_by[server] = (count, now)
    return count


async def _node_info(node: ClusterNode) -> dict[str, Any]:
    reply: Any = await node.execute_command("INFO", "replication")
    if isinstance(reply, bytes):
        reply = reply.decode()
    if isinstance(reply, str):
        pairs = (line.split(":", 1) for line in reply.splitlines() if ":" in line)
        return {key: value for key, value in pairs}
    return dict(reply)


async def _wait_on_node(node: ClusterNode, mark: str, timeout_ms: int) -> int:
    """The mark and WAIT on one connection to the slot's master (a cluster client would
    send a keyless WAIT to every master, each on a connection that wrote nothing)."""
    commands = [
        PipelineCommand(0, "SET", mark, 1, "PX", _MARK_MS),
        PipelineCommand(1, "WAIT", 1, timeout_ms),
    ]
    await node.execute_pipeline(commands)
    results: list[Any] = [command.result for command in commands]
    for result in results:
        if isinstance(result, Exception):
            raise result
    return int(results[1])
