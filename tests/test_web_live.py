"""Live updates over SSE, read from a real server on 127.0.0.1 with a deadline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection
from contextlib import AsyncExitStack

import httpx
import redis.asyncio as aioredis

from equipage.bus import Bus
from equipage.events import Event, EventType
from equipage.keys import Keys
from equipage.testing import wait_until
from equipage.web.live import Hub, last_event_id
from equipage.web.login import COOKIE, start_session
from equipage.web.serve import Served
from tests.test_web_pages import ALICE, BOB, remember, served

__all__ = ["served"]


async def _client(
    stack: AsyncExitStack, served: Served, redis: aioredis.Redis, keys: Keys, member: str
) -> httpx.AsyncClient:
    session_id, _ = await start_session(redis, keys, member)
    client = httpx.AsyncClient(base_url=served.url, cookies={COOKIE: session_id}, timeout=10)
    return await stack.enter_async_context(client)


def _hub(served: Served) -> Hub:
    hub: Hub = served.app.state.hub
    return hub


async def _data(lines: AsyncIterator[str], wanted: str, *, within: float = 5.0) -> list[str]:
    """The ``data:`` lines read until one holds ``wanted``; TimeoutError past ``within``."""
    seen: list[str] = []
    async with asyncio.timeout(within):
        async for line in lines:
            if line.startswith("data:"):
                seen.append(line)
                if wanted in line:
                    return seen
    raise AssertionError(f"the stream ended before {wanted!r}")


async def _step(bus: Bus, thread: str, detail: str) -> None:
    await bus.emit(Event(type=EventType.TOOL, sender="ceo", thread=thread, detail=detail))


async def test_a_threads_page_follows_its_own_events_live(
    served: Served, redis: aioredis.Redis, keys: Keys, bus: Bus
) -> None:
    await remember(redis, keys, "ceo:telegram:111", ALICE)
    async with AsyncExitStack() as stack:
        client = await _client(stack, served, redis, keys, "alice")
        async with client.stream("GET", "/live/threads/telegram:111") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            await wait_until(lambda: _ready(_hub(served).subscribers), what="a subscriber")
            await _step(bus, "telegram:222", "the step of someone else")
            await _step(bus, "telegram:111/cto/c1", "the delegated step")
            seen = await _data(response.aiter_lines(), "the delegated step")
    assert not any("someone else" in line for line in seen)
    assert any('class="event ev-tool"' in line for line in seen)


async def test_a_page_gets_the_events_after_its_own_then_live_ones(
    served: Served, redis: aioredis.Redis, keys: Keys, bus: Bus
) -> None:
    await _step(bus, "telegram:111", "before the page")
    after = await last_event_id(redis, keys.events)
    await _step(bus, "telegram:111", "between the page and its stream")
    async with AsyncExitStack() as stack:
        client = await _client(stack, served, redis, keys, "alice")
        url = f"/live/overview?after={after}"
        async with client.stream("GET", url) as response:
            lines = response.aiter_lines()
            seen = await _data(lines, "between the page and its stream")
            await wait_until(lambda: _ready(_hub(served).subscribers), what="a subscriber")
            await _step(bus, "telegram:111", "after it")
            seen += await _data(lines, "after it")
    assert not any("before the page" in line for line in seen)
    assert sum("between the page" in line for line in seen) == 1


async def test_many_browsers_share_one_reader_and_one_gone_is_dropped(
    served: Served, redis: aioredis.Redis, keys: Keys, bus: Bus
) -> None:
    hub = _hub(served)
    async with AsyncExitStack() as stack:
        clients = [await _client(stack, served, redis, keys, "alice") for _ in range(5)]
        streams = [
            await stack.enter_async_context(c.stream("GET", "/live/overview")) for c in clients
        ]
        await wait_until(lambda: _ready(hub.subscribers, 5), what="five subscribers")
        assert (
            await _blocked_readers(redis) == 1
        )  # one XREAD for the console, however many browsers follow
        await _step(bus, "telegram:111", "for everyone")
        # One line reader per stream, kept: a reader let go closes its response.
        readers = [response.aiter_lines() for response in streams]
        for lines in readers:
            await _data(lines, "for everyone")
        assert hub.read == 1
        await streams[0].aclose()
        await wait_until(lambda: _ready(hub.subscribers, 4, exactly=True), what="one dropped")
    await wait_until(lambda: _ready(hub.subscribers, 0, exactly=True), what="all gone")


async def test_a_member_following_the_overview_sees_only_their_conversations(
    served: Served, redis: aioredis.Redis, keys: Keys, bus: Bus
) -> None:
    await remember(redis, keys, "ceo:telegram:111", ALICE)
    await remember(redis, keys, "ceo:telegram:222", BOB)
    async with AsyncExitStack() as stack:
        client = await _client(stack, served, redis, keys, "bob")
        async with client.stream("GET", "/live/overview") as response:
            await wait_until(lambda: _ready(_hub(served).subscribers), what="a subscriber")
            await _step(bus, "telegram:111", "the step of alice")
            await _step(bus, "telegram:222", "the step of bob")
            seen = await _data(response.aiter_lines(), "the step of bob")
    assert not any("the step of alice" in line for line in seen)


async def _blocked_readers(redis: aioredis.Redis) -> int:
    clients = await redis.client_list()
    return sum(1 for c in clients if c.get("cmd") in ("xread", b"xread"))


async def _ready(subscribers: Collection[object], count: int = 1, *, exactly: bool = False) -> bool:
    return len(subscribers) == count if exactly else len(subscribers) >= count
