"""The probes and the lag metric (equipage.health), over HTTP, against a real server."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from starlette.applications import Starlette

from equipage.app import open_session, serve
from equipage.app.serving import worker_pools
from equipage.bus import Bus
from equipage.company.platforms import WebConfig
from equipage.config import Settings
from equipage.connection import EmbeddedRedis, RedisTarget, connect
from equipage.envelope import Envelope, Kind
from equipage.errors import ConfigError
from equipage.farm.wake import POOL_GROUP, Wakes
from equipage.health import crew_watch, farm_watch, health_routes, web_loops
from equipage.httpserver import LocalServer
from equipage.keys import CONSUMER_GROUP, FarmKeys, Keys
from equipage.testing import wait_until
from tests.test_cli import clean_env, equipage
from tests.test_crew import company


def task(text: str, to: str = "ceo") -> Envelope:
    return Envelope(
        kind=Kind.TASK, company="acme", to=to, sender="member:alice", thread=text, text=text
    )


async def xinfo_lag(redis: aioredis.Redis, stream: str, group: str = CONSUMER_GROUP) -> int:
    """The ``lag`` field of ``XINFO GROUPS``, read here without equipage.health's help."""
    for entry in await redis.xinfo_groups(stream):
        if entry["name"] == group.encode():
            return int(entry["lag"])
    raise AssertionError(f"no group {group} on {stream}")


@pytest.fixture
async def served(redis: aioredis.Redis, keys: Keys) -> AsyncIterator[httpx.AsyncClient]:
    """The three routes of one crew (inboxes ceo and cto) on a real local server."""
    watch = crew_watch(redis, keys, ["ceo", "cto"])
    server = LocalServer(Starlette(routes=health_routes(watch)))
    url = await server.start()
    try:
        async with httpx.AsyncClient(base_url=url) as client:
            yield client
    finally:
        await server.stop()


async def test_healthz_answers_while_the_process_serves(served: httpx.AsyncClient) -> None:
    answer = await served.get("/healthz")
    assert (answer.status_code, answer.json()) == (200, {"status": "up"})


async def test_readyz_waits_for_the_consumer_groups_then_answers_ready(
    served: httpx.AsyncClient, bus: Bus, keys: Keys
) -> None:
    before = await served.get("/readyz")
    assert before.status_code == 503
    assert before.json()["reason"] == (
        f"consumer group 'workers' missing on stream {keys.inbox('ceo')}"
    )

    await bus.ensure_groups(["ceo", "cto"])

    after = await served.get("/readyz")
    assert (after.status_code, after.json()) == (200, {"status": "ready"})


async def test_readyz_is_503_when_redis_is_down_and_names_no_address(tmp_path: Path) -> None:
    embedded = EmbeddedRedis(tmp_path / "data").start()
    socket = embedded.socket_file
    redis = connect(RedisTarget(socket=socket))
    keys = Keys("acme", namespace="down")
    await Bus(redis, keys).ensure_groups(["ceo"])
    server = LocalServer(Starlette(routes=health_routes(crew_watch(redis, keys, ["ceo"]))))
    url = await server.start()
    try:
        async with httpx.AsyncClient(base_url=url) as client:
            assert (await client.get("/readyz")).status_code == 200
            embedded.stop()

            down = await client.get("/readyz")
            alive = await client.get("/healthz")
            lag = await client.get("/metrics/lag")
    finally:
        await server.stop()
        await redis.aclose()
        embedded.stop()
    assert down.status_code == 503
    assert down.json()["status"] == "unready"
    assert down.json()["reason"].startswith("redis ")
    assert "\n" not in down.text
    assert str(socket) not in down.text
    assert alive.status_code == 200
    assert lag.status_code == 503 and str(socket) not in lag.text


async def test_reported_lag_equals_xinfo_groups_lag_of_envelopes_no_worker_read(
    served: httpx.AsyncClient, bus: Bus, keys: Keys, redis: aioredis.Redis
) -> None:
    await bus.ensure_groups(["ceo", "cto"])
    for n in range(7):
        await bus.publish(task(f"ceo-{n}"))
    for n in range(5):
        await bus.publish(task(f"cto-{n}", to="cto"))

    lag = (await served.get("/metrics/lag")).json()

    expected = await xinfo_lag(redis, keys.inbox("ceo")) + await xinfo_lag(redis, keys.inbox("cto"))
    assert expected == 12
    assert lag == {"total": 12, "lag": 12, "pending": 0, "streams": 2}


async def test_entries_read_but_not_acknowledged_still_count_as_work(
    served: httpx.AsyncClient, bus: Bus, keys: Keys, redis: aioredis.Redis
) -> None:
    await bus.ensure_groups(["ceo", "cto"])
    for n in range(6):
        await bus.publish(task(f"ceo-{n}"))
    taken = await bus.read([keys.inbox("ceo")], "worker-1", count=4, block_ms=100)
    assert len(taken) == 4

    lag = (await served.get("/metrics/lag")).json()

    assert await xinfo_lag(redis, keys.inbox("ceo")) == 2
    assert lag == {"total": 6, "lag": 2, "pending": 4, "streams": 2}
    await bus.commit(taken[0], [])
    assert (await served.get("/metrics/lag")).json()["total"] == 5


async def test_lag_is_counted_where_the_server_cannot_tell_it_after_a_deletion(
    served: httpx.AsyncClient, bus: Bus, keys: Keys, redis: aioredis.Redis
) -> None:
    await bus.ensure_groups(["ceo", "cto"])
    ids = [await bus.publish(task(f"ceo-{n}")) for n in range(5)]
    await bus.read([keys.inbox("ceo")], "worker-1", count=1, block_ms=100)
    await redis.xdel(keys.inbox("ceo"), ids[2])
    [info] = await redis.xinfo_groups(keys.inbox("ceo"))
    assert info["lag"] is None  # an entry deleted past the group's last read

    lag = (await served.get("/metrics/lag")).json()

    assert lag == {"total": 4, "lag": 3, "pending": 1, "streams": 2}


async def test_farm_lag_counts_the_busy_crews_inboxes_even_before_their_groups_exist(
    redis: aioredis.Redis, keys: Keys
) -> None:
    namespace = keys.namespace
    farm = FarmKeys(namespace)
    loaded, unloaded = Keys("ada", namespace), Keys("bob", namespace)
    await Bus(redis, loaded).ensure_groups(["ceo"])
    await Bus(redis, loaded).publish(task("for ada"))
    # A crew never loaded: its entry is written and listed, no group made yet.
    await redis.xadd(unloaded.inbox("ceo"), {"env": b"x"})
    await redis.sadd(unloaded.streams, unloaded.inbox("ceo"))
    await redis.zadd(farm.busy, {"ada": 1.0, "bob": 2.0})
    watch = farm_watch(redis, namespace, shards=2)
    server = LocalServer(Starlette(routes=health_routes(watch)))
    url = await server.start()
    try:
        async with httpx.AsyncClient(base_url=url) as client:
            unready = await client.get("/readyz")
            await Wakes(redis, namespace, "work", 2).ensure_groups()
            await Wakes(redis, namespace, "out", 2).ensure_groups()
            ready = await client.get("/readyz")
            lag = (await client.get("/metrics/lag")).json()
    finally:
        await server.stop()
    assert unready.status_code == 503 and repr(POOL_GROUP) in unready.json()["reason"]
    assert ready.status_code == 200
    assert lag == {"total": 2, "lag": 2, "pending": 0, "streams": 2}


async def test_health_port_serves_the_probes_without_any_webhook(
    redis: aioredis.Redis, keys: Keys, bus: Bus
) -> None:
    await bus.ensure_groups(["ceo"])
    watch = crew_watch(redis, keys, ["ceo"])
    port = _free_port()
    [(name, loop)] = web_loops([], WebConfig(), port, watch)
    stop = asyncio.Event()
    running = asyncio.create_task(loop(stop))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

            async def ready() -> int | None:
                try:
                    return (await client.get("/readyz")).status_code
                except httpx.ConnectError:
                    return None

            assert await wait_until(ready, what="the health server") == 200
    finally:
        stop.set()
        await running
    assert name == "health"


def test_probes_join_the_webhook_server_when_it_has_the_same_port(
    redis: aioredis.Redis, keys: Keys
) -> None:
    watch = crew_watch(redis, keys, ["ceo"])
    webhook: list[Any] = [object()]
    web = WebConfig(port=8088)

    assert [name for name, _ in web_loops(webhook, web, 8088, watch)] == ["webhooks"]
    assert [name for name, _ in web_loops(webhook, web, 8081, watch)] == ["webhooks", "health"]
    assert web_loops([], web, None, watch) == []


def test_health_port_is_read_from_the_environment() -> None:
    assert Settings.from_env({"EQUIPAGE_HEALTH_PORT": "8081"}).health_port == 8081
    assert Settings.from_env({}).health_port is None
    with pytest.raises(ConfigError, match="EQUIPAGE_HEALTH_PORT"):
        Settings.from_env({"EQUIPAGE_HEALTH_PORT": "http"})


@pytest.mark.parametrize(
    "pod", [["--no-gateway"], ["--no-workers"]], ids=["worker-pod", "gateway-pod"]
)
async def test_up_as_a_pod_serves_its_probes_and_stops_cleanly_on_sigterm(
    tmp_path: Path, pod: list[str]
) -> None:
    equipage(tmp_path, "init")
    port = _free_port()
    env = clean_env() | {"EQUIPAGE_HEALTH_PORT": str(port)}
    command = [sys.executable, "-m", "equipage.cli", "up", "--no-console", *pod]
    proc = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

            async def ready() -> httpx.Response | None:
                try:
                    answer = await client.get("/readyz")
                except httpx.TransportError:
                    return None
                return answer if answer.status_code == 200 else None

            await wait_until(ready, timeout=90, what="the pod's /readyz")
            lag = (await client.get("/metrics/lag")).json()
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=60)[0].decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, output
    assert lag["total"] == 0 and lag["streams"] > 0
    assert "stopped." in output and "Traceback" not in output


async def test_served_lag_counts_every_stream_the_workers_read_and_no_other(
    redis_target: RedisTarget, keys: Keys, tmp_path: Path
) -> None:
    url = redis_target.url or f"unix://{redis_target.socket}"
    port = _free_port()
    settings = Settings(redis_url=url, namespace=keys.namespace, health_port=port)
    home = tmp_path / ".equipage"
    async with open_session(company(), settings, home=home, force_offline=True) as session:
        read = {
            session.keys.inbox(inbox)
            for pool in worker_pools(session, "probe")
            for inbox in pool.handlers
        }
        for stream in [*read, session.keys.outbox]:
            await session.redis.xadd(stream, {"probe": "1"})
        stop = asyncio.Event()
        # Neither workers nor gateway: nothing reads what was just written.
        running = asyncio.create_task(
            serve(session, stop, channels=[], workers=False, gateway=False)
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

                async def measured() -> dict[str, int] | None:
                    try:
                        answer = await client.get("/metrics/lag")
                    except httpx.TransportError:
                        return None
                    return dict(answer.json()) if answer.status_code == 200 else None

                lag = await wait_until(measured, what="the lag")
        finally:
            stop.set()
            await running
    assert len(read) >= 4
    assert lag == {"total": len(read), "lag": len(read), "pending": 0, "streams": len(read)}


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
