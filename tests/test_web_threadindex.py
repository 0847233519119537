"""The threads list's index: read once, then only what changed, and all again when unsure."""

from __future__ import annotations

import redis.asyncio as aioredis

from equipage.bus import Bus
from equipage.events import Event, EventType
from equipage.keys import Keys
from equipage.llm.messages import Message
from equipage.web.threadindex import ThreadIndex
from tests.test_web_pages import ALICE, BOB, remember


async def _order(index: ThreadIndex) -> list[str]:
    threads, newest = await index.read()
    return sorted(threads, key=lambda root: newest[root], reverse=True)


async def _step(bus: Bus, thread: str, detail: str = "a step") -> None:
    await bus.emit(Event(type=EventType.TOOL, sender="ceo", thread=thread, detail=detail))


async def test_a_new_thread_and_a_thread_that_worked_come_first(
    redis: aioredis.Redis, keys: Keys, bus: Bus
) -> None:
    index = ThreadIndex(redis, keys)
    await remember(redis, keys, "ceo:telegram:111", ALICE, Message.user("first"))
    await remember(redis, keys, "ceo:telegram:222", BOB, Message.user("second"))
    assert await _order(index) == ["telegram:222", "telegram:111"]

    # A delegation under the first conversation: a new thread, seen by the set's size.
    await remember(redis, keys, "cto:telegram:111/cto/c1", ALICE, Message.user("price it"))
    assert await _order(index) == ["telegram:111", "telegram:222"]
    assert (await index.threads())["telegram:111"] == {
        "ceo:telegram:111",
        "cto:telegram:111/cto/c1",
    }

    # The second conversation works again: its events say so, its threads are read again.
    await remember(redis, keys, "ceo:telegram:222", BOB, Message.user("again"))
    await _step(bus, "telegram:222")
    assert await _order(index) == ["telegram:222", "telegram:111"]
    assert [raw.count(b"telegram:222") for _, raw in await index.recent("telegram:222")] == [1]
    assert await index.recent("telegram:333") == []


async def test_the_index_reads_everything_again_when_the_stream_was_trimmed_past_it(
    redis: aioredis.Redis, keys: Keys, bus: Bus
) -> None:
    index = ThreadIndex(redis, keys)
    await remember(redis, keys, "ceo:telegram:111", ALICE, Message.user("first"))
    await remember(redis, keys, "ceo:telegram:222", BOB, Message.user("second"))
    await _step(bus, "telegram:111", "seen")
    assert await _order(index) == ["telegram:222", "telegram:111"]

    # Work in the first conversation whose events are all trimmed away before the next read.
    await remember(redis, keys, "ceo:telegram:111", ALICE, Message.user("later"))
    await _step(bus, "telegram:111", "trimmed")
    await _step(bus, "telegram:999", "kept")
    await redis.xtrim(keys.events, maxlen=1, approximate=False)
    assert await _order(index) == ["telegram:111", "telegram:222"]
    assert [raw for _, raw in await index.recent("telegram:111")] == []  # trimmed: gone


async def test_the_index_reads_everything_again_after_its_period(
    redis: aioredis.Redis, keys: Keys
) -> None:
    index = ThreadIndex(redis, keys, full_every=0.0)
    await remember(redis, keys, "ceo:telegram:111", ALICE, Message.user("first"))
    await remember(redis, keys, "ceo:telegram:222", BOB, Message.user("second"))
    assert await _order(index) == ["telegram:222", "telegram:111"]
    # A checkpoint written with no event at all: only a full read sees it.
    await remember(redis, keys, "ceo:telegram:111", ALICE, Message.user("quietly"))
    assert await _order(index) == ["telegram:111", "telegram:222"]
