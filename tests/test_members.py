"""Only members reach agents: pairing codes, owner-only commands, pausing the crew."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
import redis.asyncio as aioredis

from channels.gateway import Gateway
from equipage.budget import Budget
from equipage.bus import Bus
from equipage.chat import Incoming
from equipage.config import CompanyConfig
from equipage.connection import RedisTarget
from equipage.envelope import Envelope
from equipage.errors import ConfigError
from equipage.keys import Keys
from equipage.members import Members
from equipage.testing import FakeClock, stream_entries, wait_for_stream, wait_until
from equipage.worker import Worker


def config() -> CompanyConfig:
    return CompanyConfig.model_validate(
        {
            "company": {"id": "acme", "name": "Acme", "profile": {"sells": "hosting"}},
            "members": [
                {"id": "alice", "name": "Alice", "role": "owner",
                 "identities": {"telegram": "111", "console": "alice"}},
                {"id": "bob", "name": "Bob", "role": "member", "identities": {"telegram": "222"}},
            ],
            "roles": {"ceo": {"description": "runs the company"}},
        }
    )  # fmt: skip


def said(user: str, text: str, channel: str = "telegram") -> Incoming:
    return Incoming(channel=channel, chat=user, user=user, text=text)


async def test_stranger_gets_a_pairing_code_and_reaches_no_agent(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    gateway = Gateway(config(), bus)
    [first] = await gateway.receive(said("999", "hello, I am Chloé"))
    [again] = await gateway.receive(said("999", "hello?"))

    [pending] = await Members(config(), redis, keys).pending()
    assert pending.code in first.text and pending.code in again.text  # one code per stranger
    assert f"/pair {pending.code}" in first.text
    assert not await redis.exists(keys.inbox("ceo"))


async def test_owner_pairs_a_stranger_who_then_reaches_the_crew(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    gateway = Gateway(config(), bus)
    await gateway.receive(said("999", "hello"))
    [pending] = await Members(config(), redis, keys).pending()

    [refused] = await gateway.receive(said("222", f"/pair {pending.code}"))
    [done] = await gateway.receive(said("111", f"/pair {pending.code.lower()}"))
    assert "Only the owner" in refused.text
    assert done.text == "telegram user 999 is now member telegram-999."

    assert await gateway.receive(said("999", "draft our newsletter")) == []
    [(_, fields)] = await wait_for_stream(redis, keys.inbox("ceo"), 1)
    assert Envelope.decode(fields[b"env"]).sender == "member:telegram-999"


async def test_pairing_can_link_a_new_platform_to_an_existing_member(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    members = Members(config(), redis, keys)
    pairing = await members.request("slack", "U0ALICE", "D1")
    assert pairing is not None
    await members.approve(pairing.code, as_member="alice")
    found = await members.find("slack", "U0ALICE")
    assert found is not None and found.id == "alice" and found.role == "owner"
    other = await members.request("slack", "U9", "D9")
    assert other is not None
    with pytest.raises(ConfigError, match="no member 'mallory'"):
        await members.approve(other.code, as_member="mallory")


async def test_expired_or_unknown_code_is_refused_with_what_to_do(
    redis: aioredis.Redis, keys: Keys
) -> None:
    members = Members(config(), redis, keys)
    pairing = await members.request("telegram", "999", "999")
    assert pairing is not None
    await redis.delete(keys.pairing(pairing.code))  # what the TTL does after an hour
    with pytest.raises(ConfigError, match="expire after an hour"):
        await members.approve(pairing.code)
    assert await members.pending() == []


def counting_client(target: RedisTarget) -> tuple[aioredis.Redis, list[tuple[Any, ...]]]:
    """A client that records every command it sends, alone or in a pipeline."""
    sent: list[tuple[Any, ...]] = []

    class Unix(aioredis.UnixDomainSocketConnection):
        def pack_command(self, *args: Any) -> list[bytes]:
            sent.append(args)
            return super().pack_command(*args)

    class Tcp(aioredis.Connection):
        def pack_command(self, *args: Any) -> list[bytes]:
            sent.append(args)
            return super().pack_command(*args)

    if target.url:
        # from_url picks the socket kind from the scheme; the class given must be that kind.
        kind = Unix if target.url.startswith("unix://") else Tcp
        pool = aioredis.ConnectionPool.from_url(target.url, connection_class=kind)
    else:
        pool = aioredis.ConnectionPool(connection_class=Unix, path=target.socket)
    return aioredis.Redis.from_pool(pool), sent


@pytest.mark.single_server("counts the commands on a pool of one server's URL")
async def test_pairing_request_costs_the_same_few_commands_however_many_codes_are_pending(
    redis_target: RedisTarget, redis: aioredis.Redis, keys: Keys
) -> None:
    client, sent = counting_client(redis_target)
    members = Members(config(), client, keys)
    try:
        await members.request("telegram", "warm-up", "warm-up")  # the connection's handshake
        sent.clear()
        await members.request("telegram", "first", "first")
        alone = len(sent)
        for n in range(1500):
            await members.request("whatsapp" if n % 2 else "telegram", f"s{n}", f"s{n}")
        sent.clear()
        late = await members.request("telegram", "late", "late")
        crowded = len(sent)
        sent.clear()
        again = await members.request("telegram", "late", "late")
        asked_again = len(sent)
    finally:
        await client.aclose()
    assert late is not None and again == late  # the same stranger keeps the same code
    assert crowded == alone, f"{alone} commands alone, {crowded} with 1,500 codes pending"
    assert asked_again <= alone
    assert len(await Members(config(), redis, keys).pending()) == 1503


async def test_pending_codes_are_capped_per_platform_and_the_stranger_is_told_why(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    gateway = Gateway(config(), bus)
    gateway.members.max_pending = 2
    for user in ("901", "902"):
        await gateway.receive(said(user, "hello"))

    [refused] = await gateway.receive(said("903", "hello"))
    [elsewhere] = await gateway.receive(said("U903", "hello", channel="slack"))
    [known] = await gateway.receive(said("901", "hello again"))

    assert "too many requests to join" in refused.text and "/pair" not in refused.text
    pending = await Members(config(), redis, keys).pending()
    assert sorted(p.user for p in pending) == ["901", "902", "U903"]
    assert any(p.code in elsewhere.text for p in pending)
    assert any(p.code in known.text for p in pending if p.user == "901")


async def test_budget_command_reports_spend_against_limits(
    bus: Bus, keys: Keys, redis: Any
) -> None:
    budget = Budget(redis, keys, daily={"ceo": 5.0}, monthly=50.0)
    hold = await budget.reserve("ceo", 0.5)
    assert isinstance(hold, str)
    await budget.settle(hold, "ceo", 0.25, "ceo:t")
    [answer] = await Gateway(config(), bus, budget=budget).receive(said("111", "/budget"))
    assert "This month: 0.2500 of 50 USD." in answer.text
    assert "- ceo: 0.2500 of 5 today" in answer.text


async def test_stop_pauses_the_crew_and_resume_lets_it_go_on(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    handled: list[str] = []

    async def note(envelope: Envelope) -> Sequence[Envelope]:
        handled.append(envelope.text)
        return []

    gateway = Gateway(config(), bus)
    [paused] = await gateway.receive(said("111", "/stop"))
    assert paused.text.startswith("The crew is paused")
    stop = asyncio.Event()
    clock = FakeClock()
    worker = Worker(bus, {"ceo": note}, name="w", block_ms=20, clock=clock)
    running = asyncio.create_task(worker.run(stop))
    try:
        await gateway.receive(said("111", "while paused"))
        await wait_until(lambda: redis.exists(keys.inbox("ceo")), what="task queued")
        await wait_until(lambda: redis.zscore(keys.workers, "w"), what="worker alive")
        # A heartbeat starts a turn of the worker's loop: once the second one is seen, a
        # whole turn (beat, pause check, then the read an unpaused worker does) ran after
        # the task was queued.
        for _ in range(2):
            await heartbeat(redis, keys, clock)
        [group] = await redis.xinfo_groups(keys.inbox("ceo"))
        assert group["last-delivered-id"] in (b"0-0", "0-0") and handled == []
        [(_, fields)] = await stream_entries(redis, keys.inbox("ceo"))
        assert Envelope.decode(fields[b"env"]).text == "while paused"
        await gateway.receive(said("111", "/resume"))
        clock.advance(1.0)  # the pause is checked once a second
        await wait_until(lambda: _handled(handled), timeout=10, what="handled after /resume")
    finally:
        stop.set()
        await running
    assert handled == ["while paused"]


async def heartbeat(redis: aioredis.Redis, keys: Keys, clock: FakeClock) -> None:
    """Move the worker's clock to its next heartbeat and wait until it is written."""
    before = await redis.zscore(keys.workers, "w")
    clock.advance(2.0)  # the worker beats every 2 s of its clock

    async def beaten() -> bool:
        return await redis.zscore(keys.workers, "w") != before

    await wait_until(beaten, what="the worker's next heartbeat")


async def _handled(handled: list[str]) -> bool:
    return bool(handled)


async def test_attached_document_reaches_the_agents_thread_and_typing_is_shown(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    from equipage.chat import Attachment, Outgoing
    from equipage.runtime import ThreadRunner

    class Typing:
        name = "telegram"

        def __init__(self) -> None:
            self.chats: list[str] = []

        async def send(self, message: Outgoing) -> None: ...

        async def typing(self, chat: str) -> None:
            self.chats.append(chat)

    channel = Typing()
    pdf = Attachment(name="cahier-des-charges.pdf", mime="application/pdf", size=48213, ref="F1")
    incoming = Incoming(
        channel="telegram", chat="111", user="111", text="Lis ceci", attachments=(pdf,)
    )
    await Gateway(config(), bus, {"telegram": channel}).receive(incoming)

    [(_, fields)] = await wait_for_stream(redis, keys.inbox("ceo"), 1)
    envelope = Envelope.decode(fields[b"env"])
    assert envelope.attachments == (pdf,)
    assert channel.chats == ["111"]
    runner = ThreadRunner.__new__(ThreadRunner)
    runner.owner = "alice"
    *files, own = runner.start(envelope)["messages"]
    assert (own.content, own.untrusted) == ("Lis ceci", False)
    [listing] = files  # the file's name is not the owner's typing: a turn of its own
    assert listing.untrusted
    assert "cahier-des-charges.pdf (application/pdf, 48213 bytes, ref F1)" in listing.content
