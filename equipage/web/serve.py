"""Serving a console: on its own listener, its address told to whoever asks in Redis.

``console_server`` serves one crew's for as long as a block lasts (tests, the demo);
``serve_console`` is the supervised loop ``equipage up`` runs. ``farm_console_server``
and ``serve_farm_console`` are the same for a farm's one console, serving all its crews.
Each writes the address people open (``ConsoleConfig.url`` when a proxy serves it, else
the listener's) to Redis (the crew's, or the farm's) and keeps it fresh, so ``equipage
web login`` and the ``/web`` chat command, in any process, print a link that works.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from redis.exceptions import RedisError

from equipage.company.platforms import ConsoleConfig
from equipage.httpserver import LocalServer
from equipage.web.app import Receive, create_app, door_app
from equipage.web.context import Console
from equipage.web.farmdoor import FarmDoor
from equipage.web.login import ADDRESS_FOR, publish_address, publish_farm_address

__all__ = [
    "Served",
    "console_server",
    "farm_console_server",
    "serve_console",
    "serve_farm_console",
]

log = logging.getLogger(__name__)

#: Says where a console is served (the crew's key, or the farm's).
Publish = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class Served:
    """A console being served: the address people open, its app, and where it listens."""

    url: str
    app: Any
    listener: str  # the listener's own address (``url`` too, unless a proxy serves it)


@contextlib.asynccontextmanager
async def console_server(
    console: Console,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    answer: Receive | None = None,
    public: str | None = None,
) -> AsyncIterator[Served]:
    """Serve ``console`` on ``host:port`` (0: a free port) until the block ends.

    A port already taken (another crew's console, a second ``equipage up``) is not
    fatal: the console takes a free one and says so; the address in Redis is the true one.
    """
    app = create_app(console, answer=answer, secure=(public or "").startswith("https://"))
    publish = partial(publish_address, console.redis, console.keys)
    async with _serving(app, host, port, public, publish) as served:
        yield served


@contextlib.asynccontextmanager
async def farm_console_server(
    door: FarmDoor, *, host: str = "127.0.0.1", port: int = 0, public: str | None = None
) -> AsyncIterator[Served]:
    """Serve a farm's one console, every crew behind ``door``, until the block ends."""
    app = door_app(door, secure=(public or "").startswith("https://"))
    publish = partial(publish_farm_address, door.redis, door.namespace)
    async with _serving(app, host, port, public, publish) as served:
        yield served


@contextlib.asynccontextmanager
async def _serving(
    app: Any, host: str, port: int, public: str | None, publish: Publish
) -> AsyncIterator[Served]:
    server = LocalServer(app, host=host, port=port)
    try:
        url = await server.start()
    except OSError as err:
        if err.errno != errno.EADDRINUSE or port == 0:
            raise
        server = LocalServer(app, host=host, port=0)
        url = await server.start()
        log.warning("console port %d is taken; serving on %s instead", port, url)
    address = (public or url).rstrip("/")
    await publish(address)
    renewing = asyncio.create_task(_renew(publish, address), name="web-address")
    try:
        yield Served(address, app, url)
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing
        await app.state.door.aclose()
        await server.stop()


async def _renew(publish: Publish, address: str) -> None:
    while True:
        await asyncio.sleep(ADDRESS_FOR / 3)
        try:
            await publish(address)
        except (OSError, RedisError) as err:  # Redis away: the next turn says it again
            log.warning("console address not renewed: %s", err)


async def serve_console(
    console: Console,
    config: ConsoleConfig,
    answer: Receive | None,
    ready: Callable[[str], None] | None,
    stop: asyncio.Event,
) -> None:
    """Serve the console until ``stop`` is set (a supervised loop of ``equipage up``);
    ``ready`` is told the address once it is served."""
    async with console_server(
        console, host=config.host, port=config.port, answer=answer, public=config.url
    ) as served:
        log.info("web console at %s ('equipage web login' prints a link)", served.url)
        if ready is not None:
            ready(served.url)
        await stop.wait()


async def serve_farm_console(
    door: FarmDoor,
    config: ConsoleConfig,
    ready: Callable[[str], None] | None,
    stop: asyncio.Event,
) -> None:
    """Serve the farm's console until ``stop`` is set (a supervised loop of ``farm up``)."""
    async with farm_console_server(
        door, host=config.host, port=config.port, public=config.url
    ) as served:
        log.info("farm web console at %s ('equipage web login --farm' prints a link)", served.url)
        if ready is not None:
            ready(served.url)
        await stop.wait()
