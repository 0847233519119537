"""What every fake server of ``equipage.testing`` shares: serving its routes, start, stop.

A fake declares its ``routes``; ``async with`` serves them on a free port of 127.0.0.1
(bound before the test talks to it, see ``equipage.httpserver.LocalServer``). On the way
out ``_closing`` is set first, and ``_release`` ends whatever else a handler waits on, so
long polls, scripted delays and held calls return at once instead of holding up the stop.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from typing import Self

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from equipage.httpserver import LocalServer

__all__ = ["FakeServer"]


class FakeServer(ABC):
    """One fake platform or provider API, served while in ``async with``."""

    def __init__(self) -> None:
        self._closing = asyncio.Event()
        self._http: LocalServer | None = None

    @abstractmethod
    def routes(self) -> list[BaseRoute]:
        """The endpoints this fake answers."""

    @property
    def started(self) -> bool:
        return self._http is not None

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT`` (port 0 until the server is started)."""
        port = self._http.port if self._http is not None else 0
        return f"http://127.0.0.1:{port}"

    def _release(self) -> None:  # noqa: B027 (a hook: most fakes wait on ``_closing`` only)
        """Stop what handlers wait on besides ``_closing``; nothing by default."""

    async def __aenter__(self) -> Self:
        self._http = LocalServer(Starlette(routes=self.routes()))
        await self._http.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing.set()
        self._release()
        if self._http is not None:
            await self._http.stop()
