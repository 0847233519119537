"""Serve a Starlette app with uvicorn inside the running event loop, and read webhooks.

The webhook server of ``equipage up`` and the fake platform servers of
``equipage.testing`` use it; ``read_body`` is how every webhook reads what it is sent.
The socket is bound and listening before uvicorn starts, so clients may connect at
once; signals stay with the caller (the CLI, pytest); and ``stop`` asks uvicorn to exit
instead of cancelling it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from typing import Any

__all__ = ["LocalServer", "read_body"]


async def read_body(request: Any, limit: int) -> bytes | None:
    """The raw body of a Starlette request, or None past ``limit`` bytes.

    Reads no further than the limit, whatever Content-Length claims, so an oversized
    or endless body costs at most ``limit`` bytes of memory.
    """
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


class LocalServer:
    """One app on ``host:port`` (port 0: a free one), started and stopped in this loop."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> str:
        """Listen and serve; returns the base URL."""
        import uvicorn

        class Quiet(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield  # Ctrl-C belongs to the CLI or to pytest, not to this server

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(128)
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            self.app,
            lifespan="off",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        self._server = Quiet(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        return self.url

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._server = self._task = None
