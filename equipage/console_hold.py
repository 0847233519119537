"""One console per crew: the replies typed in a terminal come back to that terminal.

Every ``equipage up`` runs a gateway in the outbox's one consumer group, so two consoles on
one crew would each print a share of the replies. The first ``up`` that reads a console
holds ``Keys.console``; another one refuses to start, naming it. The hold expires unless
renewed, so a killed holder frees it within ``ttl``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator

import redis.asyncio as aioredis

from equipage.errors import AlreadyRunning
from equipage.keys import Keys
from equipage.lease import RELEASE, RENEW

__all__ = ["hold_console"]

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def hold_console(
    redis: aioredis.Redis, keys: Keys, *, ttl: float = 15.0
) -> AsyncIterator[None]:
    """Hold the crew's console for the block, or raise AlreadyRunning naming its holder."""
    who = f"pid {os.getpid()} on {socket.gethostname()}"
    token = f"{who} [{uuid.uuid4().hex[:8]}]"  # a pid reused after a crash is not the holder
    ttl_ms = int(ttl * 1000)
    if not await redis.set(keys.console, token, nx=True, px=ttl_ms):
        raw = await redis.get(keys.console)
        text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
        holder = text.rsplit(" [", 1)[0] if text else "another process"
        raise AlreadyRunning(
            f"this crew's console is already open in another `equipage up` ({holder}), and "
            "the replies would be split between the two: type in that terminal, or stop it "
            "first (Ctrl-C); `equipage send` talks to the crew from any terminal. If that "
            f"process is gone, its hold lapses within {ttl:g}s"
        )
    released = asyncio.Event()

    async def renew() -> None:
        # Stopped by the event, not cancel(): redis-py on Python 3.11 can swallow a
        # cancellation that lands mid-command (see Worker._hold).
        while not released.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(released.wait(), timeout=ttl / 3)
            if released.is_set():
                return
            try:
                if not await redis.eval(RENEW, 1, keys.console, token, ttl_ms):
                    # Frozen longer than ttl and another `up` took the console meanwhile.
                    log.warning("another `equipage up` opened this crew's console")
            except Exception as err:  # Redis away for a moment: the next round retries
                log.warning("could not renew the hold on the console: %s", err)

    renewer = asyncio.create_task(renew())
    try:
        yield
    finally:
        released.set()
        await renewer
        with contextlib.suppress(Exception):  # expires by itself when Redis is gone
            await redis.eval(RELEASE, 1, keys.console, token)
