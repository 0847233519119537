"""The chaos harness's own Redis: stopped (SIGTERM), killed (SIGKILL), frozen (SIGSTOP) and
started again on the same socket and data folder, as an operator or the OOM killer would."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from redis.exceptions import RedisError

from equipage.connection import EmbeddedRedis
from equipage.embedded import socket_path

__all__ = ["ChaosRedis"]

_GONE_WITHIN = 30.0


class ChaosRedis:
    """An embedded server (AOF, fsync every second) in ``home`` that faults can be done to.

    Its methods block: the async harness calls them through ``asyncio.to_thread``.
    """

    def __init__(self, home: Path) -> None:
        self.home = home
        self.up = False
        self._server: EmbeddedRedis | None = None

    @property
    def socket(self) -> str:
        return str(socket_path(self.home))

    def pid(self) -> int:
        return int((self.home / "server.pid").read_text())

    def start(self) -> None:
        self._server = EmbeddedRedis(self.home).start()
        self.up = True

    def stop(self, how: signal.Signals) -> None:
        """Stop the server with ``how`` (SIGTERM: it saves; SIGKILL: it does not)."""
        pid = self.pid()
        self.up = False
        os.kill(pid, how)
        _wait_dead(pid)
        server, self._server = self._server, None
        if server is not None:
            with contextlib.suppress(RedisError, OSError):
                server.stop()  # only drops its hold: the server is gone already

    def freeze(self) -> None:
        self.up = False
        os.kill(self.pid(), signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.pid(), signal.SIGCONT)
        self.up = True

    def close(self) -> None:
        server, self._server = self._server, None
        self.up = False
        if server is not None:
            server.stop()


def _wait_dead(pid: int) -> None:
    """Until ``pid`` is gone or a zombie (the daemon's parent is init, which may not reap)."""
    deadline = time.monotonic() + _GONE_WITHIN
    stat = Path(f"/proc/{pid}/stat")
    while time.monotonic() < deadline:
        try:
            if stat.read_text().split(")")[-1].split()[0] == "Z":
                return
        except (FileNotFoundError, ProcessLookupError):
            return
        time.sleep(0.01)
    raise TimeoutError(f"the Redis server {pid} did not stop within {_GONE_WITHIN:.0f}s")
