"""The key layout on a real cluster (3 masters, 3 replicas): crews spread, scripts stay in a slot.

Always runs, on the local cluster of ``equipage.testing.cluster`` (a few seconds to form);
``make test-cluster`` runs the Redis-facing suite on the same cluster.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import pytest
import redis.asyncio as aioredis
from redis.crc import key_slot
from redis.exceptions import RedisError

from equipage.bus import Bus
from equipage.connection import RedisTarget, connect, is_cluster
from equipage.envelope import Envelope, Kind
from equipage.keys import Keys
from equipage.testing import wait_for_stream, wait_until
from equipage.testing.cluster import CLUSTER_SLOTS, LocalCluster
from equipage.worker import Worker


def _task(crew: str, text: str, thread: str = "t") -> Envelope:
    return Envelope(
        kind=Kind.TASK, company=crew, to="ceo", sender="member:alice", thread=thread, text=text
    )


def test_the_local_cluster_has_three_masters_each_followed_by_a_replica(
    cluster: LocalCluster,
) -> None:
    masters = cluster.master_nodes()
    assert len(masters) == 3
    slots = cluster.nodes[0].ask("CLUSTER", "SLOTS")
    assert sum(int(end) - int(start) + 1 for start, end, *_ in slots) == CLUSTER_SLOTS
    # Each slot range names its master, then the replica that follows it.
    assert all(len(shard) == 4 for shard in slots)
    replicas = [node for node in cluster.nodes if node not in masters]
    assert all(node.info("replication")["master_link_status"] == "up" for node in replicas)


def test_a_cluster_url_gives_the_cluster_client_and_hides_its_password() -> None:
    target = RedisTarget(url="redis+cluster://u:secret@10.0.0.1:7000,10.0.0.2:7001")
    assert is_cluster(connect(target))
    assert target.describe() == "redis+cluster://10.0.0.1:7000,10.0.0.2:7001"
    assert not is_cluster(connect(RedisTarget(url="redis://localhost:6379/0")))


async def test_thirty_crews_spread_over_all_three_masters(
    cluster: LocalCluster, on_cluster: aioredis.Redis
) -> None:
    namespace = f"t{uuid.uuid4().hex[:10]}"
    crews = [f"crew-{i}" for i in range(30)]
    for crew in crews:
        await Bus(on_cluster, Keys(crew, namespace=namespace)).publish(_task(crew, "hello"))

    held: dict[int, set[str]] = {}
    for master in cluster.master_nodes():
        client = master.client()
        try:
            found = client.scan_iter(match=f"{namespace}:*", count=1000)
            held[master.port] = {key.decode().split("{")[1].split("}")[0] for key in found}
        finally:
            client.close()
    assert len(held) == 3 and all(held.values()), held
    assert set().union(*held.values()) == set(crews)
    # One crew, one slot: no crew's keys are split between masters.
    assert sum(len(on_master) for on_master in held.values()) == len(crews)


async def test_every_script_of_a_hop_names_keys_of_one_slot(on_cluster: aioredis.Redis) -> None:
    # A script naming keys of two slots fails on a cluster (CROSSSLOT), so a hop that runs
    # publish, the granted read, a turn asked for, commit, a retry and a dead letter here
    # proves every script of the bus stays in its crew's slot.
    keys = Keys("acme", namespace=f"t{uuid.uuid4().hex[:10]}")
    bus = Bus(on_cluster, keys, max_attempts=2, visibility_timeout=0.2)
    seen: list[str] = []

    async def reply(envelope: Envelope) -> Sequence[Envelope]:
        seen.append(envelope.text)
        if envelope.text == "boom":
            raise RuntimeError("this handler fails on purpose")
        return [envelope.model_copy(update={"kind": Kind.REPLY, "to": "human", "id": "r1"})]

    stop = asyncio.Event()
    worker = asyncio.create_task(Worker(bus, {"ceo": reply}, name="w", block_ms=20).run(stop))
    try:
        await wait_until(lambda: on_cluster.exists(keys.inbox("ceo")), what="groups created")
        await bus.publish(_task("acme", "hello"))
        await bus.publish(_task("acme", "again"))  # the thread is busy: asks for its turn
        await bus.publish(_task("acme", "boom", thread="u"))
        await wait_for_stream(on_cluster, keys.outbox, 2)
        await wait_until(lambda: _dead(on_cluster, keys), what="the failing envelope dead")
    finally:
        stop.set()
        await worker
    assert seen.count("hello") == seen.count("again") == 1 and seen.count("boom") == 2
    assert {key_slot(key.encode()) for key in (keys.inbox("ceo"), keys.lock("ceo:t"))} == {
        key_slot(keys.outbox.encode())
    }


async def test_a_script_naming_the_keys_of_two_crews_is_refused_by_the_cluster(
    on_cluster: aioredis.Redis,
) -> None:
    # What makes the hop above a proof: a cross-slot script does not pass unseen.
    one, other = Keys("acme", namespace="t"), Keys("globex", namespace="t")
    assert key_slot(one.outbox.encode()) != key_slot(other.outbox.encode())
    script = on_cluster.register_script("return redis.call('EXISTS', KEYS[1], KEYS[2])")
    with pytest.raises(RedisError, match="slot"):
        await script(keys=[one.outbox, other.outbox])


async def _dead(redis: aioredis.Redis, keys: Keys) -> bool:
    return bool(await redis.xlen(keys.dead))


async def test_more_commands_at_once_than_connections_wait_for_one_instead_of_failing(
    on_cluster: aioredis.Redis,
) -> None:
    """A farm runs hundreds of turns at once on one client: on one server a command past
    the pool's connections waits for one (a blocking pool); on a cluster it must too,
    not fail with MaxConnectionsError."""
    from equipage.connection import MAX_CONNECTIONS

    stream = f"{{t{uuid.uuid4().hex[:8]}}}:waiting"
    at_once = MAX_CONNECTIONS * 2
    # Each read holds its connection 0.5 s (as the pool's wake-up reads do): twice as many
    # as the node has connections, longer than a retry's backoff waits.
    reads = [on_cluster.xread({stream: "$"}, block=500) for _ in range(at_once)]
    answers = await asyncio.gather(*reads, return_exceptions=True)
    failed = [a for a in answers if isinstance(a, BaseException)]
    assert not failed, f"{len(failed)} of {at_once} failed: {failed[0]!r}"
