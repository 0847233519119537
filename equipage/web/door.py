"""Who the console serves: one crew (``OneCrew``), or every crew of a farm (``farmdoor``).

The app and its guard ask a ``Door`` which crew a cookie or a login link is for, and get
that crew's ``CrewConsole``: its ``Console``, its live ``Hub``, its ``Threadbook`` and how
an answer reaches its gateway. The guard puts these on the request, so a page reads one
crew and never learns there are others.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from equipage.chat import Incoming, Outgoing
from equipage.language import Language, choose
from equipage.web.context import Console
from equipage.web.live import Hub
from equipage.web.login import WebSession, end_session, find_session, redeem, start_session
from equipage.web.threadbook import Threadbook

__all__ = ["CrewConsole", "Door", "OneCrew", "Receive"]

#: The gateway's ``receive``: a person's message in, the immediate answers out.
Receive = Callable[[Incoming], Awaitable[list[Outgoing]]]


@dataclass(frozen=True)
class CrewConsole:
    """One crew's console as its requests read it."""

    console: Console
    hub: Hub  # the one reader of the crew's events, for all its browsers
    threadbook: Threadbook
    answer: Receive | None  # the crew's gateway: how a question is answered from a browser


class Door(Protocol):
    """How the app finds the crew a cookie or a link is for."""

    def language(self) -> Language:
        """The language of the pages shown before anyone is known (login, link used)."""
        ...

    async def enter(self, cookie: str) -> tuple[CrewConsole, WebSession] | None:
        """The crew and session of a session cookie; None when it opens nothing."""
        ...

    async def link(self, token: str, *, take: bool) -> tuple[CrewConsole, str] | None:
        """The crew and member a login link is for, used up if ``take``; None if spent."""
        ...

    async def open(self, crew: CrewConsole, member: str) -> str:
        """A new session of ``member`` on ``crew``: the cookie's value."""
        ...

    async def leave(self, cookie: str) -> None:
        """End the session of a cookie (log out)."""
        ...

    async def aclose(self) -> None:
        """Stop the live readers; the streams still open end."""
        ...


class OneCrew:
    """The door of a console that serves one crew (``equipage up``)."""

    def __init__(self, console: Console, answer: Receive | None = None) -> None:
        hub = Hub(console.redis, console.keys.events, keys=console.keys)
        self.crew = CrewConsole(console, hub, Threadbook(console), answer)

    def language(self) -> Language:
        return choose(self.crew.console.config.company.profile.language)

    async def enter(self, cookie: str) -> tuple[CrewConsole, WebSession] | None:
        console = self.crew.console
        session = await find_session(console.redis, console.keys, cookie)
        return (self.crew, session) if session is not None else None

    async def link(self, token: str, *, take: bool) -> tuple[CrewConsole, str] | None:
        console = self.crew.console
        member = await redeem(console.redis, console.keys, token, take=take)
        return (self.crew, member) if member is not None else None

    async def open(self, crew: CrewConsole, member: str) -> str:
        console = crew.console
        session_id, _ = await start_session(console.redis, console.keys, member)
        return session_id

    async def leave(self, cookie: str) -> None:
        await end_session(self.crew.console.redis, self.crew.console.keys, cookie)

    async def aclose(self) -> None:
        await self.crew.hub.aclose()
