"""The embedded Valkey: shared by the processes of one folder, stopped by the last, crash-safe."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest
import redis
import redis.exceptions
from redis.backoff import NoBackoff
from redis.retry import Retry

from equipage.connection import EmbeddedRedis, RedisTarget, check_server, connect
from equipage.embedded import socket_path
from equipage.errors import BusError
from equipage.testing import wait_until

USER = Path(__file__).parent / "procs" / "embedded_user.py"
ROOT = Path(__file__).parent.parent


class User:
    """A process of tests/procs/embedded_user.py, stepped line by line."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def say(self, line: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{line}\n".encode())
        await self.proc.stdin.drain()
        return (await asyncio.wait_for(self.proc.stdout.readline(), timeout=30)).decode().strip()


@asynccontextmanager
async def users(home: Path, count: int) -> AsyncIterator[list[User]]:
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(USER),
            str(home),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        for _ in range(count)
    ]
    try:
        yield [User(p) for p in procs]
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()
        if not await refuses(str(socket_path(home))):
            EmbeddedRedis(home).start().stop()  # a failed test must not leave a daemon behind


@contextmanager
def client_of(socket: str) -> Iterator[redis.Redis]:
    client = redis.Redis(unix_socket_path=socket)
    try:
        yield client
    finally:
        client.close()


def server_pid(socket: str) -> int:
    with client_of(socket) as client:
        return int(client.info("server")["process_id"])


def gone(path: str) -> bool:
    return not Path(path).exists()


async def refuses(socket: str) -> bool:
    client = redis.Redis(unix_socket_path=socket, retry=Retry(NoBackoff(), 0))
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        return True
    finally:
        client.close()
    return False


async def test_processes_starting_at_once_start_one_server(tmp_path: Path) -> None:
    home = tmp_path / ".equipage"
    async with users(home, 3) as crowd:
        pids = await asyncio.gather(*(user.say("go") for user in crowd))
        assert len(set(pids)) == 1, f"one server for one folder, not {pids}"
        assert server_pid(str(socket_path(home))) == int(pids[0])
        assert await asyncio.gather(*(user.say("leave") for user in crowd)) == ["left"] * 3
    assert gone(str(socket_path(home)))


async def test_the_last_process_to_leave_stops_the_server_and_saves(tmp_path: Path) -> None:
    home = tmp_path / ".equipage"
    mine = EmbeddedRedis(home).start()
    async with users(home, 1) as [other]:
        assert int(await other.say("go")) == server_pid(mine.socket_file)
        with client_of(mine.socket_file) as client:
            client.set("plan", "hosting")
        mine.stop()
        assert server_pid(mine.socket_file), "the other process still uses it"
        assert await other.say("leave") == "left"
    assert gone(mine.socket_file)
    assert not gone(str(home / "redis.db")), "SHUTDOWN SAVE wrote a snapshot"

    again = EmbeddedRedis(home).start()
    try:
        with client_of(again.socket_file) as client:
            assert client.get("plan") == b"hosting"
    finally:
        again.stop()


async def test_server_killed_with_sigkill_restarts_with_the_acknowledged_data(
    tmp_path: Path,
) -> None:
    home = tmp_path / ".equipage"
    first = EmbeddedRedis(home).start()
    with client_of(first.socket_file) as client:
        for n in range(100):
            client.xadd("inbox", {"n": str(n)})
        assert client.set("approved", "yes")  # acknowledged: it must survive the kill
        pid = int(client.info("server")["process_id"])

    os.kill(pid, signal.SIGKILL)  # a laptop losing power, as far as the server can tell
    await wait_until(lambda: refuses(first.socket_file), what="the killed server to go")
    assert not gone(first.socket_file), "a killed server leaves its socket file behind"
    first.stop()  # its hold died with the server: nothing to stop, nothing raised

    second = EmbeddedRedis(home).start()
    try:
        with client_of(second.socket_file) as client:
            assert int(client.info("server")["process_id"]) != pid
            assert client.xlen("inbox") == 100
            assert client.get("approved") == b"yes"
    finally:
        second.stop()


def test_deep_home_gets_a_short_private_socket_under_the_temp_dir(tmp_path: Path) -> None:
    home = tmp_path.joinpath(*["a-rather-long-folder-name"] * 5, ".equipage")
    assert len(os.fsencode(home / "server.sock")) > 107, "deeper than a unix socket path allows"
    server = EmbeddedRedis(home).start()
    try:
        socket = Path(server.socket_file)
        assert len(os.fsencode(socket)) <= 103
        assert home not in socket.parents
        assert socket == socket_path(home) == socket_path(home / ".." / ".equipage")
        assert socket != socket_path(home.parent / "other")
        assert stat.S_IMODE(socket.parent.stat().st_mode) == 0o700
        assert server_pid(str(socket))
    finally:
        server.stop()
    assert not socket.exists()


def test_a_server_that_cannot_start_says_why_from_its_log(tmp_path: Path) -> None:
    home = tmp_path / ".equipage"
    (home / "appendonlydir").mkdir(parents=True)
    (home / "appendonlydir" / "appendonly.aof.manifest").write_text("not a manifest\n")

    with pytest.raises(BusError, match=r"(?s)did not start.*server\.log.*Invalid AOF manifest"):
        EmbeddedRedis(home).start()


async def test_embedded_engine_is_valkey_with_consumer_group_lag(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / ".equipage").start()
    client = connect(RedisTarget(socket=server.socket_file))
    try:
        assert (await check_server(client)).startswith("Valkey 9.")
        await client.xadd("inbox", {"n": "1"})
        await client.xgroup_create("inbox", "workers", id="0")
        [group] = await client.xinfo_groups("inbox")
        assert group["lag"] == 1
    finally:
        await client.aclose()
        server.stop()
