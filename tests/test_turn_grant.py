"""A turn granted when the envelope is written: its first reader runs it without asking.

The grant saves the worker's round trip to take the thread's turn (issue 13, item 7); it
must keep every guarantee of a turn taken: one run at a time per thread, in order, a
stopped reader's entry taken over, and a reader that lost its entry writes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import redis.asyncio as aioredis

from equipage.bus import Bus, Delivery, Turn
from equipage.entries import GRANTED
from equipage.envelope import Envelope, Kind
from equipage.keys import Keys
from equipage.testing import wait_for_stream, wait_until
from equipage.turns import Begun, Forsaken
from equipage.worker import Handler, Worker


def _task(text: str, thread: str = "t") -> Envelope:
    return Envelope(
        kind=Kind.TASK, company="acme", to="ceo", sender="member:alice", thread=thread, text=text
    )


@contextlib.asynccontextmanager
async def _working(bus: Bus, handler: Handler) -> AsyncIterator[None]:
    """A worker named ``w`` serving the ceo's inbox with ``handler`` for the block."""
    stop = asyncio.Event()
    worker = asyncio.create_task(Worker(bus, {"ceo": handler}, name="w", block_ms=20).run(stop))
    try:
        yield
    finally:
        stop.set()
        await worker


class _CountingBus(Bus):
    """A bus that counts the turns its worker had to ask for."""

    begun: int = 0

    async def begin_turn(
        self, delivery: Delivery, turn: Turn, *, forsaken: Forsaken = lambda t, o: False
    ) -> Begun:
        self.begun += 1
        return await super().begin_turn(delivery, turn, forsaken=forsaken)


async def test_the_first_envelope_of_an_idle_thread_runs_without_asking_for_its_turn(
    redis: aioredis.Redis, keys: Keys
) -> None:
    bus = _CountingBus(redis, keys)
    seen: list[str] = []

    async def reply(envelope: Envelope) -> Sequence[Envelope]:
        seen.append(envelope.text)
        # Its lease holds the grant while it runs: what the checkpointer's fence checks.
        lease = await redis.get(keys.lock("ceo:t"))
        assert isinstance(lease, bytes) and lease.decode().startswith(GRANTED)
        return [envelope.model_copy(update={"kind": Kind.REPLY, "to": "human", "id": "r1"})]

    async with _working(bus, reply):
        await wait_until(lambda: redis.exists(keys.inbox("ceo")), what="groups created")
        await bus.publish(_task("hello"))
        await wait_for_stream(redis, keys.outbox, 1)
    assert seen == ["hello"]
    assert bus.begun == 0
    assert await redis.exists(keys.lock("ceo:t"), keys.order("ceo:t")) == 0
    assert await redis.hlen(keys.attempts) == 0


async def test_only_an_idle_threads_envelope_is_granted(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    await bus.ensure_groups(["ceo"])
    first, second, elsewhere = _task("one"), _task("two"), _task("three", thread="u")
    for envelope in (first, second, elsewhere):
        await bus.publish(envelope)
    # A reply for people has no thread's turn; one already handled is never granted again.
    await bus.publish(first.model_copy(update={"kind": Kind.REPLY, "to": "human"}))
    [one, two, three] = await bus.read([keys.inbox("ceo")], "w", count=10, block_ms=None)
    assert [d.granted for d in (one, two, three)] == [True, False, True]
    assert await redis.get(keys.lock("ceo:t")) == one.granted_token.encode()
    assert await redis.hget(keys.attempts, first.id) == b"1"
    assert not await redis.hexists(keys.attempts, second.id)

    assert await bus.commit(one, [], Turn("ceo:t", one.granted_token))
    await bus.publish(first)  # the same envelope again, as a retrying producer would
    [again] = await bus.read([keys.inbox("ceo")], "w", count=10, block_ms=None)
    assert not again.granted
    entries: Any = await redis.xrange(keys.outbox)
    assert [b"turn" in fields for _, fields in entries] == [False]


async def test_a_reclaimed_granted_entry_is_taken_over_and_its_first_reader_writes_nothing(
    redis: aioredis.Redis, keys: Keys
) -> None:
    bus = Bus(redis, keys, visibility_timeout=0.05)
    await bus.ensure_groups(["ceo"])
    await bus.publish(_task("hello"))
    [first] = await bus.read([keys.inbox("ceo")], "frozen", count=1, block_ms=None)
    assert first.granted

    # The first reader stalls past the visibility timeout: another worker reclaims it.
    reclaimed = await wait_until(
        lambda: bus.reclaim(keys.inbox("ceo"), "rescuer"), what="entry reclaimed"
    )
    [again] = reclaimed
    assert again.entry_id == first.entry_id and not again.granted
    turn = Turn("ceo:t", "rescuer 1")
    begun = await bus.begin_turn(again, turn)
    assert begun.state == "busy"  # the grant was in the way, and is freed: its entry is ours
    begun = await bus.begin_turn(again, turn)
    assert begun.state == "go" and begun.attempt == 2

    # The stalled reader wakes and tries to commit under its grant: refused, nothing written.
    late = first.envelope
    assert late is not None
    reply = late.model_copy(update={"kind": Kind.REPLY, "to": "human", "id": "late"})
    assert not await bus.commit(first, [reply], Turn("ceo:t", first.granted_token))
    assert await redis.xlen(keys.outbox) == 0
    assert await bus.commit(again, [], turn)
    assert await redis.exists(keys.lock("ceo:t"), keys.order("ceo:t")) == 0


async def test_a_later_envelope_waits_for_a_live_granted_reader_and_takes_over_a_gone_one(
    redis: aioredis.Redis, keys: Keys
) -> None:
    bus = Bus(redis, keys, heartbeat_stale=10.0)
    await bus.ensure_groups(["ceo"])
    await bus.publish(_task("one"))
    await bus.publish(_task("two"))
    [one] = await bus.read([keys.inbox("ceo")], "first", count=1, block_ms=None)
    [two] = await bus.read([keys.inbox("ceo")], "second", count=1, block_ms=None)
    assert one.granted and not two.granted
    turn = Turn("ceo:t", "second 1")

    await redis.zadd(keys.workers, {"first": time.time()})
    assert (await bus.begin_turn(two, turn)).state == "busy"
    assert await redis.get(keys.lock("ceo:t")) == one.granted_token.encode()

    # The first reader stopped beating (SIGKILLed): its grant is freed, and the later
    # envelope finds the earlier one ahead of it, to take over and run first.
    await redis.zadd(keys.workers, {"first": time.time() - 60})
    assert (await bus.begin_turn(two, turn)).state == "busy"
    begun = await bus.begin_turn(two, turn)
    assert begun == Begun("behind", head=one.entry_id)
    taken = await bus.earlier(two.stream, begun.head, turn, "second")
    assert isinstance(taken, Delivery) and taken.entry_id == one.entry_id


async def test_a_grant_left_by_a_settled_entry_does_not_block_its_thread(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    await bus.ensure_groups(["ceo"])
    await bus.publish(_task("one"))
    await bus.publish(_task("two"))
    [one, two] = await bus.read([keys.inbox("ceo")], "w", count=2, block_ms=None)
    # Dead-lettered by a worker killed before it released the lease: the grant stays.
    await bus.dead_letter(one, "boom", 5, Turn("ceo:t", one.granted_token))
    await redis.set(keys.lock("ceo:t"), one.granted_token)
    turn = Turn("ceo:t", "w 1")
    assert (await bus.begin_turn(two, turn)).state == "busy"
    begun = await bus.begin_turn(two, turn)
    assert begun.state == "go"


async def _handled_by_worker_named_w(bus: Bus, redis: aioredis.Redis, count: int) -> list[str]:
    """Run a worker named ``w`` until it handled ``count`` envelopes (5 s at most)."""
    seen: list[str] = []

    async def record(envelope: Envelope) -> Sequence[Envelope]:
        seen.append(envelope.text)
        return []

    async def enough() -> bool:
        return len(seen) >= count

    async with _working(bus, record):
        await wait_until(enough, timeout=5, what=f"{count} envelopes handled")
    return seen


async def test_a_lease_of_its_own_that_no_run_holds_does_not_keep_a_thread_waiting(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    """A run cut short while Redis was away could not release its lease: its worker, alive
    and beating, must not wait for the lease to lapse (30 s) to run the thread again."""
    await bus.ensure_groups(["ceo"])
    await redis.set(keys.lock("ceo:t"), "w 0000000000000000-ff", px=30_000)
    await bus.publish(_task("hello"))
    assert await _handled_by_worker_named_w(bus, redis, 1) == ["hello"]


async def test_a_grant_read_by_a_run_cut_short_does_not_keep_a_thread_waiting(
    redis: aioredis.Redis, keys: Keys
) -> None:
    bus = Bus(redis, keys, visibility_timeout=60.0)
    await bus.ensure_groups(["ceo"])
    await bus.publish(_task("one"))
    [cut] = await bus.read([keys.inbox("ceo")], "w", count=1, block_ms=None)
    assert cut.granted  # read by worker w, whose run then ended without a commit
    await bus.publish(_task("two"))
    # The later envelope frees the grant w no longer runs, and takes "one" over first,
    # long before the visibility timeout would have brought it back.
    assert await _handled_by_worker_named_w(bus, redis, 2) == ["one", "two"]


async def test_a_taken_lease_whose_entry_was_reclaimed_is_freed_by_its_reclaimer(
    redis: aioredis.Redis, keys: Keys
) -> None:
    """Worker ``a`` (alive, beating) took a thread's turn for an entry, and its run was cut
    short (Redis away) before it released the lease. The entry comes back to another
    worker after the visibility timeout: it must run it now, not 30 s later when the lease
    lapses, as it does for a grant."""
    bus = Bus(redis, keys, visibility_timeout=0.2)
    await bus.ensure_groups(["ceo"])
    await redis.set(keys.lock("ceo:t"), "someone else", px=30_000)
    await bus.publish(_task("hello"))  # the thread was busy: not granted
    [taken] = await bus.read([keys.inbox("ceo")], "a", count=1, block_ms=None)
    assert not taken.granted
    await redis.delete(keys.lock("ceo:t"))
    await redis.zadd(keys.workers, {"a": time.time()})
    drawn = Worker(bus, {"ceo": _noop_handler}, name="a").draw(taken)
    assert (await bus.begin_turn(taken, Turn("ceo:t", drawn))).state == "go"
    assert await _handled_by_worker_named_w(bus, redis, 1) == ["hello"]


async def test_a_taken_lease_whose_entry_moved_to_another_worker_is_freed(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    await bus.ensure_groups(["ceo"])
    await redis.set(keys.lock("ceo:t"), "someone else", px=30_000)
    await bus.publish(_task("one"))
    await bus.publish(_task("two"))
    [one, two] = await bus.read([keys.inbox("ceo")], "a", count=2, block_ms=None)
    await redis.delete(keys.lock("ceo:t"))
    now = time.time()
    await redis.zadd(keys.workers, {"a": now, "b": now, "w": now})
    drawn = Worker(bus, {"ceo": _noop_handler}, name="a").draw(one)
    assert (await bus.begin_turn(one, Turn("ceo:t", drawn))).state == "go"
    turn = Turn("ceo:t", "w 1")
    # While ``a`` has its entry, its lease holds the thread.
    assert (await bus.begin_turn(two, turn)).state == "busy"
    # Its entry moved to ``b`` (``a`` stalled past the visibility timeout): ``a``'s lease
    # holds nothing any more, and "two" waits behind "one", now ``b``'s, not the lease.
    await redis.xclaim(one.stream, bus.group, "b", 0, [one.entry_id], justid=True)
    assert (await bus.begin_turn(two, turn)).state == "busy"
    assert await bus.begin_turn(two, turn) == Begun("behind", head=one.entry_id)
    assert await bus.earlier(two.stream, one.entry_id, turn, "w") == "owned"


async def _noop_handler(envelope: Envelope) -> Sequence[Envelope]:
    return []


async def test_a_taken_lease_whose_entry_nobody_touches_is_freed_after_the_visibility_timeout(
    redis: aioredis.Redis, keys: Keys
) -> None:
    """Worker ``a`` is alive but its run of "one" was cut short (Redis away): "one" stays
    pending on ``a``, untouched. The thread's next envelope must not wait for the lease to
    lapse (30 s), nor for someone to reclaim "one": past the visibility timeout it frees
    the lease and takes "one" over first, as a reclaimer would."""
    bus = Bus(redis, keys, visibility_timeout=0.2)
    await bus.ensure_groups(["ceo"])
    await redis.set(keys.lock("ceo:t"), "someone else", px=30_000)
    await bus.publish(_task("one"))
    await bus.publish(_task("two"))
    [one] = await bus.read([keys.inbox("ceo")], "a", count=1, block_ms=None)
    [two] = await bus.read([keys.inbox("ceo")], "w", count=1, block_ms=None)
    await redis.delete(keys.lock("ceo:t"))
    now = time.time()
    await redis.zadd(keys.workers, {"a": now, "w": now})
    drawn = Worker(bus, {"ceo": _noop_handler}, name="a").draw(one)
    assert (await bus.begin_turn(one, Turn("ceo:t", drawn))).state == "go"
    turn = Turn("ceo:t", "w 1")
    assert (await bus.begin_turn(two, turn)).state == "busy"  # "one" was just read

    async def untouched() -> bool:
        pending: Any = await redis.xpending_range(
            one.stream, bus.group, one.entry_id, one.entry_id, 1
        )
        return bool(pending) and pending[0]["time_since_delivered"] >= 200

    await wait_until(untouched, timeout=5, what="'one' idle past the visibility timeout")
    assert (await bus.begin_turn(two, turn)).state == "busy"  # frees a's lease
    assert await bus.begin_turn(two, turn) == Begun("behind", head=one.entry_id)
    taken = await bus.earlier(two.stream, one.entry_id, turn, "w")
    assert isinstance(taken, Delivery) and taken.entry_id == one.entry_id
