"""Keep the process's long-running loops alive: restart on failure, report, give up in time.

Every loop ``serve`` runs (the gateway's delivery, each channel, the webhook server, each
worker pool, the scheduler, the anchorer) runs under one ``Supervisor``. A loop that
raises (Redis stopped, frozen or loading) or returns while the process runs is started
again after a capped exponential backoff with full jitter. One warning says it went down,
one line says it is back; the retries in between say nothing. A loop down for longer than
``runtime.recover_within`` sets ``stop`` and raises ``Unrecoverable``: the process exits
non-zero and its process supervisor starts a fresh one. A user mistake (``ConfigError``,
a missing extra) is not retried: no retry can fix it.

The health of each loop is kept in memory, and written (``report``) to a hash per process
that expires, so ``equipage status`` shows which loops of which process are down or were
restarted, and a process that died vanishes from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict
from redis.exceptions import RedisError

from equipage.errors import ConfigError, MissingExtraError, Unrecoverable

__all__ = ["HealthKeys", "Loop", "LoopHealth", "State", "Supervisor", "describe"]

log = logging.getLogger(__name__)

#: A loop: runs until ``stop`` is set; raising or returning early means it failed.
Loop = Callable[[asyncio.Event], Coroutine[object, object, None]]

# No retry fixes these: the process stops at once and says what to change.
_FATAL = (ConfigError, MissingExtraError)
# The password of a URL (redis://user:password@host) that an error message may quote.
_CREDENTIALS = re.compile(r"(\w+://)[^/@\s]*@")


class HealthKeys(Protocol):
    """Where a process's loops' health is written: a company's keys, or a farm's."""

    def health(self, process: str) -> str: ...


class State(StrEnum):
    UP = "up"
    DOWN = "down"
    STOPPED = "stopped"


class LoopHealth(BaseModel):
    """How one loop of one process is doing; ``since`` is when it entered ``state``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    process: str = ""
    name: str
    state: State
    since: float
    error: str = ""
    restarts: int = 0


def describe(error: BaseException) -> str:
    """One line about ``error`` for logs and status, without any password a URL held."""
    lines = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
    return _CREDENTIALS.sub(r"\1***@", text)[:300]


class Supervisor:
    """Runs named loops until ``stop``, restarting each one that fails."""

    def __init__(
        self,
        stop: asyncio.Event,
        *,
        recover_within: float = 300.0,
        base: float = 0.1,
        cap: float = 5.0,
        healthy_after: float = 5.0,
    ) -> None:
        self.stop = stop
        self.recover_within = recover_within
        self.base = base
        self.cap = cap
        # A restarted loop counts as back once it has run this long without failing: a
        # loop that fails at once against a dead Redis must not log "back" each time.
        self.healthy_after = healthy_after
        self.health: dict[str, LoopHealth] = {}
        #: Why the process must stop (``Unrecoverable`` or a user mistake), once known.
        self.failure: Exception | None = None
        self._changed = asyncio.Event()

    async def run(self, name: str, loop: Loop, *, finishes: bool = False) -> None:
        """Run ``loop`` under ``name`` until ``stop``; ``finishes``: returning is its end.

        Raises ``Unrecoverable`` (or the user mistake) after setting ``stop`` when the
        loop cannot be kept up.
        """
        self._set(name, State.UP)
        failures = 0
        down_at = 0.0  # monotonic time of the first failure in a row
        while True:
            error = await self._attempt(name, loop)
            if self.stop.is_set():
                self._set(name, State.STOPPED, error=describe(error) if error else None)
                return
            if error is None and finishes:
                self._set(name, State.STOPPED)
                return
            if isinstance(error, _FATAL):
                self._set(name, State.STOPPED, error=describe(error))
                self._give_up(error)
                raise error
            why = describe(error) if error else "it returned while the process was running"
            if self.health[name].state is not State.DOWN:
                failures, down_at = 0, time.monotonic()
                log.warning("%s is down, retrying until it is back: %s", name, why)
                self._set(name, State.DOWN, error=why)
            else:
                self._set(name, State.DOWN, error=why, since=self.health[name].since)
            if time.monotonic() - down_at >= self.recover_within:
                raise self._unrecoverable(name)
            delay = random.uniform(0, min(self.cap, self.base * 2**failures))
            failures += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), timeout=delay)
            if self.stop.is_set():
                self._set(name, State.STOPPED, error=why)
                return
            health = self.health[name]
            self.health[name] = health.model_copy(update={"restarts": health.restarts + 1})

    async def report(
        self,
        redis: aioredis.Redis,
        keys: HealthKeys,
        process: str,
        *,
        every: float = 5.0,
        ttl: int = 30,
    ) -> None:
        """Write the loops' health to ``keys.health(process)`` until ``stop``, then delete it.

        One write (a pipelined HSET and EXPIRE) every ``every`` seconds, sooner after a
        change but never more than one per ``every / 5``. While Redis is away nothing is
        written, and nothing is said: the loops say it already.
        """
        key = keys.health(process)
        while not self.stop.is_set():
            self._changed.clear()
            fields = {
                name: h.model_copy(update={"process": process}).model_dump_json()
                for name, h in self.health.items()
            }
            with contextlib.suppress(RedisError, OSError):
                if fields:
                    async with redis.pipeline(transaction=True) as pipe:
                        pipe.hset(key, mapping=fields)  # type: ignore[arg-type]  # redis-py types
                        pipe.expire(key, ttl)
                        await pipe.execute()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), timeout=every / 5)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake(), timeout=every * 4 / 5)
        with contextlib.suppress(RedisError, OSError):
            await redis.delete(key)

    async def _wake(self) -> None:
        """Returns on a change of a loop's health, or on ``stop``."""
        changed = asyncio.ensure_future(self._changed.wait())
        stopping = asyncio.ensure_future(self.stop.wait())
        try:
            await asyncio.wait({changed, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            changed.cancel()
            stopping.cancel()

    async def _attempt(self, name: str, loop: Loop) -> Exception | None:
        """Run ``loop`` once; its error, if it raised. Logs that it is back once it holds."""
        task = asyncio.create_task(loop(self.stop), name=name)
        try:
            done, _ = await asyncio.wait({task}, timeout=self.healthy_after)
            if not done and self.health[name].state is State.DOWN:
                health = self.health[name]
                log.info(
                    "%s is back after %d restarts (down %.0fs)",
                    name,
                    health.restarts,
                    time.time() - health.since,
                )
                self._set(name, State.UP, restarts=health.restarts)
            await asyncio.wait({task})
        finally:
            if not task.done():  # this supervisor was cancelled: so is its loop
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if task.cancelled():
            raise asyncio.CancelledError
        error = task.exception()
        if error is not None and not isinstance(error, Exception):
            raise error  # KeyboardInterrupt, SystemExit: not ours to retry
        return error

    def _set(
        self,
        name: str,
        state: State,
        *,
        error: str | None = None,
        since: float | None = None,
        restarts: int | None = None,
    ) -> None:
        old = self.health.get(name)
        self.health[name] = LoopHealth(
            name=name,
            state=state,
            since=time.time() if since is None else since,
            error=(old.error if old else "") if error is None else error,
            restarts=(old.restarts if old else 0) if restarts is None else restarts,
        )
        self._changed.set()

    def _unrecoverable(self, name: str) -> Unrecoverable:
        health = self.health[name]
        since = datetime.fromtimestamp(health.since, UTC).isoformat(timespec="seconds")
        failure = Unrecoverable(name, since, health.error, self.recover_within)
        self._give_up(failure)  # said once, by whoever ran the process (``equipage up``)
        return failure

    def _give_up(self, failure: Exception) -> None:
        if self.failure is None:
            self.failure = failure
        self.stop.set()
