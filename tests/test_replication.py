"""Writes the world outside relies on wait for a replica (WAIT), on the slot's own master."""

from __future__ import annotations

import logging
import signal
import uuid
from typing import Any

import pytest
import redis.asyncio as aioredis

from channels.gateway import Gateway
from equipage.bus import Bus
from equipage.effects import Effects
from equipage.keys import Keys
from equipage.replication import replicated
from equipage.testing.cluster import LocalCluster
from tests.test_gateway import CONFIG, said


def _waits(cluster: LocalCluster) -> int:
    """WAIT commands the masters have run so far."""
    total = 0
    for node in cluster.master_nodes():
        stats: Any = node.info("commandstats")
        total += int(stats.get("cmdstat_wait", {}).get("calls", 0))
    return total


def _master_of(cluster: LocalCluster, key: str) -> tuple[Any, Any]:
    """The node serving ``key``'s slot, and the replica that follows it."""
    slot = int(cluster.nodes[0].ask("CLUSTER", "KEYSLOT", key))
    for start, end, master, replica, *_ in cluster.nodes[0].ask("CLUSTER", "SLOTS"):
        if int(start) <= slot <= int(end):
            ports = {int(master[1]): "master", int(replica[1]): "replica"}
            found = {ports[n.port]: n for n in cluster.nodes if n.port in ports}
            return found["master"], found["replica"]
    raise AssertionError(f"no node serves slot {slot}")


async def test_a_server_without_replicas_is_not_made_to_wait(
    redis: aioredis.Redis, keys: Keys
) -> None:
    before = await redis.info("commandstats")
    assert await replicated(redis, keys.replication_mark)
    after = await redis.info("commandstats")
    assert after.get("cmdstat_wait") == before.get("cmdstat_wait")


async def test_the_write_reaches_the_replica_of_the_crews_master_before_the_caller_goes_on(
    cluster: LocalCluster, on_cluster: aioredis.Redis
) -> None:
    keys = Keys(f"crew-{uuid.uuid4().hex[:6]}")
    effects = Effects(on_cluster, keys)
    waits = _waits(cluster)

    async def run() -> tuple[str, bool]:
        # By the time the effect runs, its marker is on the replica too.
        _, replica = _master_of(cluster, keys.replication_mark)
        marker = keys.effect("ceo:t", "cause", "call-1")
        client = replica.client()
        try:
            client.execute_command("READONLY")  # a replica answers reads on this connection
            assert client.exists(marker) == 1
        finally:
            client.close()
        return "sent", False

    assert await effects.once("ceo:t", "cause", "call-1", run) == ("sent", False)
    assert _waits(cluster) == waits + 1


async def test_a_replica_that_does_not_answer_delays_the_write_at_most_the_timeout(
    cluster: LocalCluster, on_cluster: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    keys = Keys(f"crew-{uuid.uuid4().hex[:6]}")
    assert await replicated(on_cluster, keys.replication_mark)  # learns the replicas
    _, replica = _master_of(cluster, keys.replication_mark)
    assert replica.process is not None
    replica.process.send_signal(signal.SIGSTOP)  # frozen: still connected, acking nothing
    try:
        with caplog.at_level(logging.WARNING, logger="equipage.replication"):
            assert not await replicated(on_cluster, keys.replication_mark, timeout_ms=200)
    finally:
        replica.process.send_signal(signal.SIGCONT)
    assert "on the master only" in caplog.text


async def test_a_persons_message_is_on_a_replica_before_the_platform_is_answered(
    cluster: LocalCluster, on_cluster: aioredis.Redis
) -> None:
    keys = Keys("acme", namespace=f"t{uuid.uuid4().hex[:8]}")
    bus = Bus(on_cluster, keys)
    await bus.ensure_groups(CONFIG.roles)
    gateway = Gateway(CONFIG, bus, channels={})
    waits = _waits(cluster)
    try:
        assert await gateway.receive(said("alice", "Prepare a launch post", message_id="m-1")) == []
    finally:
        await gateway.aclose()
    assert _waits(cluster) == waits + 1
    _, replica = _master_of(cluster, keys.inbox("ceo"))
    client = replica.client()
    try:
        client.execute_command("READONLY")
        assert client.xlen(keys.inbox("ceo")) == 1
    finally:
        client.close()
