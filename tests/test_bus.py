"""Bus delivery, redelivery, reclaim and dead letters against a real Redis."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

import redis.asyncio as aioredis

from equipage.bus import Bus
from equipage.envelope import Envelope, Kind, Origin
from equipage.keys import CONSUMER_GROUP, Keys
from equipage.testing import stream_entries, wait_for_stream, wait_until
from equipage.worker import Worker


def task(text: str = "hello", to: str = "ceo") -> Envelope:
    return Envelope(
        kind=Kind.TASK, company="acme", to=to, sender="member:alice", thread="t1", text=text
    )


def reply_to(envelope: Envelope) -> Envelope:
    return Envelope(
        kind=Kind.REPLY,
        company="acme",
        to="human",
        sender=envelope.to,
        thread=envelope.thread,
        text=f"re: {envelope.text}",
        cause=envelope.id,
    )


async def pending_count(redis: aioredis.Redis, stream: str) -> int:
    info = await redis.xpending(stream, CONSUMER_GROUP)
    return int(info["pending"])


async def test_published_envelope_is_read_by_one_consumer_and_acked_on_commit(
    bus: Bus, keys: Keys, redis: aioredis.Redis
) -> None:
    await bus.ensure_groups(["ceo"])
    sent = task()
    await bus.publish(sent)

    first = await bus.read([keys.inbox("ceo")], "a", block_ms=100)
    second = await bus.read([keys.inbox("ceo")], "b", block_ms=10)

    assert [d.envelope for d in first] == [sent]
    assert second == []
    assert await pending_count(redis, keys.inbox("ceo")) == 1
    assert await bus.commit(first[0], [reply_to(sent)]) is True
    assert await pending_count(redis, keys.inbox("ceo")) == 0
    [(_, fields)] = await stream_entries(redis, keys.outbox)
    assert Envelope.decode(fields[b"env"]).text == "re: hello"


async def test_redelivered_envelope_does_not_repeat_its_effects(
    bus: Bus, keys: Keys, redis: aioredis.Redis
) -> None:
    await bus.ensure_groups(["ceo"])
    sent = task()
    await bus.publish(sent)
    [delivery] = await bus.read([keys.inbox("ceo")], "a", block_ms=100)

    assert await bus.commit(delivery, [reply_to(sent)]) is True
    assert await bus.commit(delivery, [reply_to(sent)]) is False

    assert await redis.xlen(keys.outbox) == 1
    events = [json.loads(f[b"event"])["type"] for _, f in await stream_entries(redis, keys.events)]
    assert events.count("duplicate") == 1


async def test_stale_pending_entry_is_reclaimed_by_another_worker(
    bus: Bus, keys: Keys, redis: aioredis.Redis
) -> None:
    await bus.ensure_groups(["ceo"])
    sent = task()
    await bus.publish(sent)
    # Consumer "gone" reads and never acks, as a crashed worker would.
    assert len(await bus.read([keys.inbox("ceo")], "gone", block_ms=100)) == 1

    async def echo(envelope: Envelope) -> Sequence[Envelope]:
        return [reply_to(envelope)]

    stop = asyncio.Event()
    worker = Worker(bus, {"ceo": echo}, name="rescuer", block_ms=20)
    running = asyncio.create_task(worker.run(stop))
    try:
        [(_, fields)] = await wait_for_stream(redis, keys.outbox, 1)
    finally:
        stop.set()
        await running
    assert Envelope.decode(fields[b"env"]).cause == sent.id
    assert await pending_count(redis, keys.inbox("ceo")) == 0
    events = [json.loads(f[b"event"]) for _, f in await stream_entries(redis, keys.events)]
    assert any(e["type"] == "reclaimed" and e["detail"] == "rescuer" for e in events)


async def test_handler_that_keeps_failing_lands_in_dead_letters_with_its_error(
    bus: Bus, keys: Keys, redis: aioredis.Redis
) -> None:
    calls: list[str] = []

    async def broken(envelope: Envelope) -> Sequence[Envelope]:
        calls.append(envelope.id)
        raise ValueError("the model answered nonsense")

    stop = asyncio.Event()
    worker = Worker(bus, {"ceo": broken}, name="w", block_ms=20)
    running = asyncio.create_task(worker.run(stop))
    try:
        sent = task()
        await wait_until(lambda: redis.exists(keys.inbox("ceo")), what="groups created")
        await bus.publish(sent)
        [(_, dead)] = await wait_for_stream(redis, keys.dead, 1)
    finally:
        stop.set()
        await running

    assert len(calls) == bus.max_attempts == 3
    assert Envelope.decode(dead[b"env"]) == sent
    assert dead[b"error"] == b"ValueError: the model answered nonsense"
    assert dead[b"attempts"] == b"3"
    assert await pending_count(redis, keys.inbox("ceo")) == 0
    assert await redis.xlen(keys.outbox) == 0


async def test_malformed_entry_is_dead_lettered_not_dropped(
    bus: Bus, keys: Keys, redis: aioredis.Redis
) -> None:
    async def never(envelope: Envelope) -> Sequence[Envelope]:
        raise AssertionError("a malformed entry must not reach a handler")

    stop = asyncio.Event()
    worker = Worker(bus, {"ceo": never}, name="w", block_ms=20)
    running = asyncio.create_task(worker.run(stop))
    try:
        await wait_until(lambda: redis.exists(keys.inbox("ceo")), what="groups created")
        await redis.xadd(keys.inbox("ceo"), {"env": b'{"kind": "task", "to": 3}'})
        [(_, dead)] = await wait_for_stream(redis, keys.dead, 1)
    finally:
        stop.set()
        await running
    assert dead[b"env"] == b'{"kind": "task", "to": 3}'
    assert dead[b"error"].startswith(b"malformed envelope:")
    assert await pending_count(redis, keys.inbox("ceo")) == 0


async def test_founder_is_told_when_their_request_lands_in_dead_letters(
    bus: Bus, keys: Keys, redis: aioredis.Redis
) -> None:
    async def broken(envelope: Envelope) -> Sequence[Envelope]:
        raise ValueError("boom")

    origin = Origin(channel="console", chat="alice", member="alice")
    stop = asyncio.Event()
    running = asyncio.create_task(Worker(bus, {"ceo": broken}, name="w", block_ms=20).run(stop))
    try:
        await wait_until(lambda: redis.exists(keys.inbox("ceo")), what="groups created")
        sent = task().model_copy(update={"origin": origin})
        await bus.publish(sent)
        [first, last] = await wait_for_stream(redis, keys.outbox, 2)
    finally:
        stop.set()
        await running
    retrying, notice = (Envelope.decode(fields[b"env"]) for _, fields in (first, last))
    assert retrying.cause == sent.id and "I will retry it by myself (2 more attempt(s))" in (
        retrying.text
    )
    assert notice.kind is Kind.REPLY and notice.origin == origin and notice.cause == sent.id
    assert "could not handle a task for ceo after 3 attempt(s)" in notice.text
    assert "an internal error" in notice.text
    # An error not written for people stays in the dead-letter stream and the logs.
    assert "boom" not in notice.text and "boom" not in retrying.text
    assert await redis.xlen(keys.dead) == 1


async def test_trim_drops_acknowledged_entries_and_keeps_pending_and_unread_ones(
    bus: Bus, keys: Keys, redis: aioredis.Redis
) -> None:
    await bus.ensure_groups(["ceo"])
    inbox = keys.inbox("ceo")
    for n in range(3):
        await bus.publish(task(f"done {n}"))
    for delivery in await bus.read([inbox], "a", count=3, block_ms=100):
        await bus.commit(delivery, [])
    await bus.publish(task("in flight"))
    [in_flight] = await bus.read([inbox], "a", block_ms=100)
    await bus.publish(task("not read yet"))

    await bus.trim(inbox, keep_seconds=3600)
    assert await redis.xlen(inbox) == 5  # all younger than the retention window

    await bus.trim(inbox, keep_seconds=0)
    left = [Envelope.decode(f[b"env"]).text for _, f in await stream_entries(redis, inbox)]
    assert left == ["in flight", "not read yet"]
    assert await bus.commit(in_flight, []) is True
