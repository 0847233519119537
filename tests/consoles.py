"""A crew's web console served on 127.0.0.1 for tests, and browsers logged into it."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis.asyncio as aioredis

from equipage.config import CompanyConfig
from equipage.keys import Keys
from equipage.web.context import Console, FarmView
from equipage.web.login import COOKIE, start_session
from equipage.web.serve import console_server


def config(workflows: tuple[str, ...] = (), language: str = "en") -> CompanyConfig:
    """Acme: Alice its owner, Bob a member."""
    return CompanyConfig.model_validate(
        {
            "company": {
                "id": "acme",
                "name": "Acme",
                "profile": {"sells": "cloud hosting", "languages": [language]},
            },
            "members": [
                {"id": "alice", "name": "Alice", "role": "owner"},
                {"id": "bob", "name": "Bob", "role": "member"},
            ],
            "roles": {"ceo": {"description": "runs the company"}},
            "workflows": list(workflows),
        }
    )


@dataclass
class Browsing:
    """A console being served, and the browsers logged into it (closed with it)."""

    url: str
    console: Console
    stack: AsyncExitStack
    csrf: dict[str, str] = field(default_factory=dict)

    async def browser(self, member: str, language: str | None = None) -> httpx.AsyncClient:
        """A browser logged in as ``member``, reading ``language`` if told (else the company's)."""
        redis, keys = self.console.redis, self.console.keys
        if language is not None:
            await redis.hset(keys.member_languages(), member, language)
        session_id, session = await start_session(redis, keys, member)
        self.csrf[member] = session.csrf
        client = httpx.AsyncClient(base_url=self.url, cookies={COOKIE: session_id})
        return await self.stack.enter_async_context(client)


@asynccontextmanager
async def served(
    redis: aioredis.Redis,
    keys: Keys,
    home: Path,
    *,
    workflows: tuple[str, ...] = (),
    farm: FarmView | None = None,
) -> AsyncIterator[Browsing]:
    """The console of ``keys``' crew on a free port of 127.0.0.1, stopped afterwards."""
    made = Console(redis=redis, keys=keys, config=config(workflows), home=home, farm=farm)
    async with console_server(made) as running, AsyncExitStack() as stack:
        yield Browsing(running.url, made, stack)


def shown(response: httpx.Response) -> str:
    """The page's text as a reader sees it (entities such as ``&#39;`` decoded)."""
    return html.unescape(response.text)
