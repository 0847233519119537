"""The bus's stream entries: ``Bus.script`` changes a caller's keys and sends envelopes at once."""

from __future__ import annotations

import json

import redis.asyncio as aioredis

from equipage.bus import Bus
from equipage.envelope import Envelope, Kind, Origin
from equipage.keys import Keys, thread_key
from equipage.testing import stream_entries

# A notice sent once per key: a guard on the caller's own hash, then its envelopes.
# KEYS: the hash; ARGV: the field that marks it sent, then a value echoed back.
_ONCE = """
if redis.call('HSETNX', KEYS[1], ARGV[1], '1') == 0 then return 'again' end
for i = 1, staged do emit(i) end
return ARGV[2]
"""


def notice(text: str) -> Envelope:
    return Envelope(
        kind=Kind.REPLY,
        company="acme",
        to="human",
        sender="live",
        thread="live:call-1",
        text=text,
        origin=Origin(channel="console", chat="alice", member="alice"),
    )


def task(text: str) -> Envelope:
    return Envelope(kind=Kind.TASK, company="acme", to="ceo", sender="live", thread="t1", text=text)


async def events(redis: aioredis.Redis, keys: Keys) -> list[dict[str, str]]:
    return [json.loads(f[b"event"]) for _, f in await stream_entries(redis, keys.events)]


async def test_script_sends_its_envelopes_as_the_bus_publishes_them(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    once = bus.script(_ONCE)
    said, asked = notice("Argument: price"), task("look into pricing")

    answer = await once(keys=[keys.live_state("call-1")], args=["sent", "ok"], staged=[said, asked])

    assert answer == b"ok"  # the caller's KEYS and ARGV keep their numbers
    [(_, out)] = await stream_entries(redis, keys.outbox)
    assert Envelope.decode(out[b"env"]) == said
    [(entry, inbound)] = await stream_entries(redis, keys.inbox("ceo"))
    assert Envelope.decode(inbound[b"env"]) == asked
    # A role's envelope joins its thread's order, as a published one does.
    assert await redis.lrange(keys.order(thread_key("ceo", "t1")), 0, -1) == [entry]
    told = await events(redis, keys)
    assert [(e["type"], e["envelope"]) for e in told] == [
        ("published", said.id),
        ("published", asked.id),
    ]


async def test_script_whose_guard_refuses_sends_nothing(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    once = bus.script(_ONCE)
    state = keys.live_state("call-1")

    first = await once(keys=[state], args=["sent", "ok"], staged=[notice("Welcome")])
    second = await once(keys=[state], args=["sent", "ok"], staged=[notice("Welcome")])

    assert (first, second) == (b"ok", b"again")
    assert len(await stream_entries(redis, keys.outbox)) == 1
    assert len(await events(redis, keys)) == 1


async def test_script_with_nothing_staged_sees_none(bus: Bus, keys: Keys) -> None:
    count = bus.script("return staged")

    assert await count(keys=[keys.live_state("call-1")], args=["x", "y"]) == 0
    assert await count(staged=[notice("a"), notice("b"), task("c")]) == 3
