"""Serving a crew's console: on its own listener, its address told to whoever asks in Redis.

``console_server`` serves it for as long as a block lasts (tests, the demo);
``serve_console`` is the supervised loop ``equipage up`` runs. Either writes the address
people open (``ConsoleConfig.url`` when a proxy serves it, else the listener's) to the
crew's Redis and keeps it fresh, so ``equipage web login`` and the ``/web`` chat command,
in any process, print a link that works.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from equipage.company.platforms import ConsoleConfig
from equipage.httpserver import LocalServer
from equipage.web.app import Receive, create_app
from equipage.web.context import Console
from equipage.web.login import ADDRESS_FOR, publish_address

__all__ = ["Served", "console_server", "serve_console"]

log = logging.getLogger(__name__)


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
    await publish_address(console.redis, console.keys, address)
    renewing = asyncio.create_task(_renew(console, address), name="web-address")
    try:
        yield Served(address, app, url)
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing
        await app.state.hub.aclose()
        await server.stop()


async def _renew(console: Console, address: str) -> None:
    while True:
        await asyncio.sleep(ADDRESS_FOR / 3)
        try:
            await publish_address(console.redis, console.keys, address)
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
