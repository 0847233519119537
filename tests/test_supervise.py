"""Supervised loops: restarted with backoff after Redis goes away, reported, given up in time."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from equipage.app import Session, open_session, serve
from equipage.config import Settings
from equipage.connection import EmbeddedRedis, RedisTarget, connect
from equipage.envelope import Envelope, Kind, Origin, new_id
from equipage.errors import ConfigError, Unrecoverable
from equipage.keys import GATEWAY_GROUP, Keys
from equipage.status import live_workers, read_status
from equipage.supervise import State, Supervisor
from equipage.testing import wait_until
from tests.test_cli import clean_env, equipage
from tests.test_crew import company

PASSWORD = "s3cret-pass"
REFUSED = f"Error 111 connecting to redis://admin:{PASSWORD}@db:6379. Connection refused."


async def true(value: object) -> bool:
    return bool(value)


def lines(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "equipage.supervise" and r.levelno == level
    ]


def state(supervisor: Supervisor, name: str) -> State | None:
    health = supervisor.health.get(name)
    return health.state if health else None


def fast(stop: asyncio.Event, **options: Any) -> Supervisor:
    return Supervisor(stop, base=0.001, cap=0.01, healthy_after=0.05, **options)


async def test_loop_that_fails_three_times_is_restarted_and_logs_one_down_and_one_back_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="equipage.supervise")
    stop = asyncio.Event()
    calls = 0

    async def flaky(stop: asyncio.Event) -> None:
        nonlocal calls
        calls += 1
        if calls <= 3:
            raise RedisConnectionError(REFUSED)
        await stop.wait()

    supervisor = fast(stop)
    running = asyncio.create_task(supervisor.run("workers", flaky))
    await wait_until(lambda: true(state(supervisor, "workers") is State.UP and calls == 4))
    await wait_until(lambda: true(lines(caplog, logging.INFO)), what="the back line")
    stop.set()
    await running

    health = supervisor.health["workers"]
    assert (health.state, health.restarts) == (State.STOPPED, 3)
    assert "ConnectionError: Error 111 connecting to" in health.error
    [down] = lines(caplog, logging.WARNING)
    [back] = lines(caplog, logging.INFO)
    assert down.startswith("workers is down, retrying until it is back: ConnectionError: Error 111")
    assert back.startswith("workers is back after 3 restarts")
    assert all(PASSWORD not in r.getMessage() for r in caplog.records)
    assert PASSWORD not in health.error


async def test_loop_that_returns_while_the_process_runs_is_restarted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = asyncio.Event()
    calls = 0

    async def quits(stop: asyncio.Event) -> None:
        nonlocal calls
        calls += 1
        if calls > 1:
            await stop.wait()

    supervisor = fast(stop)
    running = asyncio.create_task(supervisor.run("gateway", quits))
    await wait_until(lambda: true(calls == 2))
    stop.set()
    await running
    assert supervisor.health["gateway"].restarts == 1
    assert "returned while the process was running" in lines(caplog, logging.WARNING)[0]


async def test_loop_that_may_finish_is_not_restarted_when_it_returns() -> None:
    stop = asyncio.Event()
    supervisor = fast(stop)

    async def nothing_to_poll(stop: asyncio.Event) -> None:
        return None

    await supervisor.run("whatsapp", nothing_to_poll, finishes=True)
    assert supervisor.health["whatsapp"].state is State.STOPPED
    assert supervisor.health["whatsapp"].restarts == 0
    assert not stop.is_set()


async def test_loop_down_longer_than_recover_within_stops_the_process_with_unrecoverable() -> None:
    stop = asyncio.Event()

    async def never(stop: asyncio.Event) -> None:
        raise RedisConnectionError(REFUSED)

    supervisor = fast(stop, recover_within=0.2)
    with pytest.raises(Unrecoverable) as caught:
        await asyncio.wait_for(supervisor.run("workers", never), timeout=10)
    assert stop.is_set()
    assert supervisor.failure is caught.value
    message = str(caught.value)
    assert message.startswith("workers has been down since ")
    assert "runtime.recover_within (0.2s)" in message
    assert "ConnectionError: Error 111" in message and PASSWORD not in message
    assert "process supervisor" in message


async def test_config_error_in_a_loop_is_not_retried_and_stops_the_process() -> None:
    stop = asyncio.Event()
    calls = 0

    async def misconfigured(stop: asyncio.Event) -> None:
        nonlocal calls
        calls += 1
        raise ConfigError("webhook channels need a port")

    supervisor = fast(stop)
    with pytest.raises(ConfigError):
        await supervisor.run("webhooks", misconfigured)
    assert calls == 1 and stop.is_set()


async def test_stop_ends_a_loop_waiting_to_be_retried_at_once() -> None:
    stop = asyncio.Event()

    async def never(stop: asyncio.Event) -> None:
        raise RedisConnectionError(REFUSED)

    supervisor = Supervisor(stop, base=3600.0, cap=3600.0)  # the next try is an hour away
    running = asyncio.create_task(supervisor.run("workers", never))
    await wait_until(lambda: true(state(supervisor, "workers") is State.DOWN))
    stop.set()
    await asyncio.wait_for(running, timeout=5)
    assert supervisor.health["workers"].state is State.STOPPED


async def test_cancelling_the_supervisor_cancels_its_loop() -> None:
    stop = asyncio.Event()
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def forever(stop: asyncio.Event) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    running = asyncio.create_task(fast(stop).run("scheduler", forever))
    await started.wait()
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert cancelled.is_set()


async def test_health_is_written_to_redis_and_status_shows_the_restarted_loop(
    redis: aioredis.Redis, keys: Keys
) -> None:
    stop = asyncio.Event()
    calls = 0

    async def flaky(stop: asyncio.Event) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RedisConnectionError(REFUSED)
        await stop.wait()

    supervisor = fast(stop)
    tasks = [
        asyncio.create_task(supervisor.run("workers", flaky)),
        asyncio.create_task(supervisor.report(redis, keys, "host-1", every=0.05)),
    ]

    async def shown() -> Any:
        report = await read_status(redis, keys, [])
        return [h for h in report.loops if h.restarts == 1 and h.state is State.UP]

    [loop] = await wait_until(shown, what="the restarted loop in status")
    assert (loop.process, loop.name) == ("host-1", "workers")
    assert "ConnectionError" in loop.error and PASSWORD not in loop.error
    assert 0 < await redis.ttl(keys.health("host-1")) <= 30
    stop.set()
    await asyncio.gather(*tasks)
    # A process that stops cleanly takes its record with it.
    assert not await redis.exists(keys.health("host-1"))


# -- a real server going away under a running crew ---------------------------------------


@contextmanager
def own_server(home: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(home).start()
    try:
        yield server
    finally:
        server.stop()


@asynccontextmanager
async def crew_up(home: Path) -> AsyncIterator[Session]:
    """``equipage up`` on the embedded server of ``home``: workers and the gateway's loop."""
    settings = Settings(home=home, namespace="outage")
    async with open_session(company(), settings) as session:
        stop = asyncio.Event()
        running = asyncio.create_task(serve(session, stop, channels=[]))
        try:
            yield session
        finally:
            stop.set()
            await running


def server_pid(socket: str) -> int:
    import redis as sync_redis

    client = sync_redis.Redis(unix_socket_path=socket)
    try:
        return int(client.info("server")["process_id"])
    finally:
        client.close()


async def refused(socket: str) -> bool:
    client = aioredis.Redis(unix_socket_path=socket, socket_timeout=1, retry=Retry(NoBackoff(), 0))
    try:
        await client.ping()
    except Exception:
        return True
    finally:
        await client.aclose()
    return False


def noticed_down(caplog: pytest.LogCaptureFixture, since: int) -> bool:
    """Some loop of the crew said it lost Redis (a warning or worse from equipage)."""
    return any(
        r.levelno >= logging.WARNING and r.name.startswith("equipage")
        for r in caplog.records[since:]
    )


async def handled_and_delivered(session: Session, text: str) -> Envelope:
    """Tell the CEO ``text`` over the relay-only ``cli`` channel; the reply, once delivered."""
    origin = Origin(channel="cli", chat="alice", member="alice")
    thread = f"cli:alice/{new_id()[:8]}"
    await session.bus.publish(
        Envelope(
            kind=Kind.TASK,
            company="acme",
            to="ceo",
            sender="member:alice",
            thread=thread,
            text=text,
            origin=origin,
        )
    )
    redis, outbox = session.redis, session.keys.outbox

    async def reply_acked_by_the_gateway() -> Envelope | None:
        entries: Any = await redis.xrange(outbox)
        replies = [(i, Envelope.decode(f[b"env"])) for i, f in entries]
        mine = [(i, e) for i, e in replies if e.thread == thread]
        if not mine:
            return None
        groups: Any = await redis.xinfo_groups(outbox)
        gateway = next(g for g in groups if g["name"] in (GATEWAY_GROUP, GATEWAY_GROUP.encode()))
        read = gateway["last-delivered-id"]
        if gateway["pending"] or _entry(read) < _entry(mine[-1][0]):
            return None
        return mine[-1][1]

    return await wait_until(reply_acked_by_the_gateway, timeout=40, what="the delivered reply")


def _entry(entry_id: bytes | str) -> tuple[int, ...]:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return tuple(int(p) for p in text.split("-"))


async def test_a_client_works_again_by_itself_once_its_server_is_back(tmp_path: Path) -> None:
    home = tmp_path / ".equipage"
    first = EmbeddedRedis(home).start()
    client = connect(RedisTarget(socket=first.socket_file))
    try:
        await client.set("plan", "hosting")
        os.kill(server_pid(first.socket_file), signal.SIGTERM)  # saves, then exits
        await wait_until(lambda: refused(first.socket_file), what="the server to stop")
        first.stop()
        with pytest.raises(RedisConnectionError):
            await client.get("plan")  # its pooled connection is dead, and nobody answers
        with own_server(home):
            # The same client, not a new one: the pool drops the dead connection itself.
            assert await client.get("plan") == b"hosting"
    finally:
        await client.aclose()


@pytest.mark.e2e
async def test_workers_and_gateway_come_back_after_the_server_stops_and_restarts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / ".equipage"
    first = EmbeddedRedis(home).start()
    async with crew_up(home) as session:
        await handled_and_delivered(session, "Remember that our VAT number is FR123")
        since = len(caplog.records)
        os.kill(server_pid(first.socket_file), signal.SIGTERM)  # saves, then exits
        await wait_until(lambda: refused(first.socket_file), what="the server to stop")
        first.stop()  # its hold went with the server
        await wait_until(
            lambda: true(noticed_down(caplog, since)), timeout=40, what="a loop to notice"
        )
        with own_server(home):
            reply = await handled_and_delivered(session, "Remember that we close in August")

            async def back_in_status() -> bool:
                report = await read_status(session.redis, session.keys, [])
                # Every loop up, those that lost Redis after a restart.
                up = all(h.state is State.UP for h in report.loops)
                return up and any(h.restarts for h in report.loops)

            await wait_until(back_in_status, timeout=30, what="status to show the loops back")
    assert reply.kind is Kind.REPLY and "remembered" in reply.text


@pytest.mark.e2e
async def test_workers_and_gateway_come_back_after_the_server_freezes_and_thaws(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / ".equipage"
    with own_server(home) as server:
        async with crew_up(home) as session:
            await handled_and_delivered(session, "Remember that our VAT number is FR123")
            pid, since = server_pid(server.socket_file), len(caplog.records)
            os.kill(pid, signal.SIGSTOP)  # alive, listening, answering nothing
            try:
                # A frozen server says nothing: only the client's socket timeout tells.
                await wait_until(
                    lambda: true(noticed_down(caplog, since)), timeout=40, what="a loop to notice"
                )
            finally:
                os.kill(pid, signal.SIGCONT)
            reply = await handled_and_delivered(session, "Remember that we close in August")
    assert reply.kind is Kind.REPLY and "remembered" in reply.text


@pytest.mark.e2e
async def test_equipage_up_exits_3_with_one_error_when_redis_stays_away_past_recover_within(
    tmp_path: Path,
) -> None:
    equipage(tmp_path, "init")
    config = tmp_path / "company.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "\nruntime:\n", "\nruntime:\n  recover_within: 1\n"
        ),
        encoding="utf-8",
    )
    server = EmbeddedRedis(tmp_path / ".equipage").start()
    up = subprocess.Popen(
        [sys.executable, "-m", "equipage.cli", "up", "--no-console"],
        cwd=tmp_path,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        client = connect(RedisTarget(socket=server.socket_file))
        try:
            await wait_until(
                lambda: live_workers(client, Keys("my-company")), timeout=60, what="workers"
            )
        finally:
            await client.aclose()
        os.kill(server_pid(server.socket_file), signal.SIGKILL)
        await wait_until(lambda: refused(server.socket_file), what="the server to go")
        server.stop()  # its hold died with it
        _, stderr = await asyncio.to_thread(up.communicate, timeout=60)
    finally:
        if up.poll() is None:
            up.kill()
            up.communicate()
    assert up.returncode == 3, stderr
    assert "Traceback" not in stderr
    [error] = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert " has been down since " in error
    assert "runtime.recover_within (1s)" in error and "process supervisor" in error
