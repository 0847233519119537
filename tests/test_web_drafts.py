"""A reply being written shows on its thread's page as it grows, read from a real server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack

import httpx
import pytest
import redis.asyncio as aioredis

from equipage.bus import Bus
from equipage.drafts import DraftWriter
from equipage.envelope import Envelope, Kind, Origin
from equipage.keys import Keys
from equipage.testing import wait_until
from equipage.web.live import Hub
from equipage.web.login import COOKIE, login_link, start_session
from equipage.web.serve import Served
from tests.test_web_browser import CHROMIUM, chromium
from tests.test_web_pages import ALICE, BOB, remember, served

__all__ = ["served"]

#: One SSE message: its event name and its data lines joined.
Message = tuple[str, str]


async def _follow(
    stack: AsyncExitStack, served: Served, redis: aioredis.Redis, keys: Keys, member: str, root: str
) -> AsyncIterator[str]:
    """The lines of ``member``'s browser following the thread page of ``root``."""
    session_id, _ = await start_session(redis, keys, member)
    client = httpx.AsyncClient(base_url=served.url, cookies={COOKIE: session_id}, timeout=10)
    await stack.enter_async_context(client)
    response = await stack.enter_async_context(client.stream("GET", f"/live/threads/{root}"))
    assert response.status_code == 200
    return response.aiter_lines()


async def _until(
    lines: AsyncIterator[str], done: Callable[[Message], bool], *, within: float = 5.0
) -> list[Message]:
    """The messages read until one is ``done``; TimeoutError past ``within``."""
    seen: list[Message] = []
    name, data = "message", []
    async with asyncio.timeout(within):
        async for line in lines:
            if line.startswith("event:"):
                name = line.removeprefix("event:").strip()
            elif line.startswith("data:"):
                data.append(line.removeprefix("data:").removeprefix(" "))
            elif not line and data:
                seen.append((name, "\n".join(data)))
                name, data = "message", []
                if done(seen[-1]):
                    return seen
    raise AssertionError("the stream ended first")


async def _drafting(hub: Hub, count: int) -> bool:
    return sum(s.drafts for s in hub.subscribers) >= count


async def test_the_owner_sees_a_reply_grow_then_its_final_message_and_no_one_else_does(
    served: Served, redis: aioredis.Redis, keys: Keys
) -> None:
    await remember(redis, keys, "ceo:telegram:111", ALICE)
    await remember(redis, keys, "ceo:telegram:222", BOB)
    hub: Hub = served.app.state.hub
    async with AsyncExitStack() as stack:
        owner = await _follow(stack, served, redis, keys, "alice", "telegram:111")
        member = await _follow(stack, served, redis, keys, "bob", "telegram:222")
        await wait_until(lambda: _drafting(hub, 2), what="two browsers following drafts")

        writer = _writer(redis, keys, "e1", ALICE)
        await writer("Voici <script>alert(1)</script>")
        first = await _until(owner, lambda m: m[0] == "draft")
        await writer(" le plan")
        grown = await _until(owner, lambda m: m[0] == "draft" and "le plan" in m[1])
        await Bus(redis, keys).publish(_reply("e1", ALICE, "Voici le plan complet"))
        final = await _until(owner, lambda m: m[0] == "draft" and "being-written" not in m[1])

        # Bob's own reply being written reaches him; Alice's, written before it, did not.
        await _writer(redis, keys, "e2", BOB)("Bob's own draft")
        bobs = await _until(member, lambda m: m[0] == "draft")

    assert "Voici &lt;script&gt;alert(1)&lt;/script&gt;" in first[-1][1]
    assert "<script>" not in first[-1][1]
    assert "en cours d" in first[-1][1] and "ceo" in first[-1][1]  # the crew's French
    assert "Voici &lt;script&gt;alert(1)&lt;/script&gt; le plan" in grown[-1][1]
    steps = [data for name, data in final if name == "step"]
    assert any("Voici le plan complet" in data for data in steps)  # the reply, as usual
    assert "<span hidden></span>" in final[-1][1]  # the block is emptied
    assert [name for name, _ in bobs] == ["draft"] and "Bob&#39;s own draft" in bobs[0][1]


async def test_a_member_may_not_follow_a_thread_that_is_not_theirs(
    served: Served, redis: aioredis.Redis, keys: Keys
) -> None:
    await remember(redis, keys, "ceo:telegram:111", ALICE)
    session_id, _ = await start_session(redis, keys, "bob")
    async with httpx.AsyncClient(base_url=served.url, cookies={COOKIE: session_id}) as client:
        refused = await client.get("/live/threads/telegram:111")
        page = await client.get("/threads/telegram:111")
    assert refused.status_code == 403 and page.status_code == 403


async def test_the_thread_page_has_a_block_for_the_reply_being_written(
    served: Served, redis: aioredis.Redis, keys: Keys
) -> None:
    await remember(redis, keys, "ceo:telegram:111", ALICE)
    session_id, _ = await start_session(redis, keys, "alice")
    async with httpx.AsyncClient(base_url=served.url, cookies={COOKIE: session_id}) as client:
        page = await client.get("/threads/telegram:111")
    assert page.status_code == 200
    assert 'id="draft" sse-swap="draft"' in page.text


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed")
async def test_a_browser_shows_the_reply_grow_as_text_then_the_final_message(
    served: Served, redis: aioredis.Redis, keys: Keys
) -> None:
    await remember(redis, keys, "ceo:telegram:111", ALICE)
    hub: Hub = served.app.state.hub
    async with chromium() as context:
        page = await context.new_page()
        link = await login_link(redis, keys, "alice")
        assert link is not None
        await page.goto(link)
        await page.wait_for_url(served.url + "/")
        await page.goto(f"{served.url}/threads/telegram:111")
        await wait_until(lambda: _drafting(hub, 1), what="the page following drafts")

        writer = _writer(redis, keys, "e1", ALICE)
        await writer("Voici <b>le plan</b>")
        shown = page.locator("#draft .being-written .text")
        await shown.filter(has_text="Voici <b>le plan</b>").wait_for()
        assert await page.locator("#draft b").count() == 0  # the model's text, as text
        await writer(" complet")
        await shown.filter(has_text="le plan</b> complet").wait_for()
        await Bus(redis, keys).publish(_reply("e1", ALICE, "Voici le plan complet."))
        await page.locator("#events li", has_text="Voici le plan complet.").wait_for()
        await page.locator("#draft .being-written").wait_for(state="detached")


def _writer(redis: aioredis.Redis, keys: Keys, cause: str, origin: Origin) -> DraftWriter:
    return DraftWriter(redis, keys, cause=cause, origin=origin, sender="ceo", every=0.0)


def _reply(cause: str, origin: Origin, text: str) -> Envelope:
    thread = f"{origin.channel}:{origin.chat}"
    return Envelope(
        kind=Kind.REPLY,
        company="acme",
        to="human",
        sender="ceo",
        thread=thread,
        text=text,
        origin=origin,
        cause=cause,
    )
