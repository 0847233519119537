"""The gateway against a real Redis: access control, commands, routing and outbox delivery."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import redis.asyncio as aioredis

from channels.answered import Answered
from channels.attachments import notice
from channels.gateway import HELP, Gateway
from channels.wording import FR, Worded
from equipage import live
from equipage.approvals import Approval, Approvals
from equipage.bus import Bus
from equipage.chat import Attachment, Channel, Downloader, Incoming, Outgoing
from equipage.config import CompanyConfig
from equipage.documents import Limits
from equipage.envelope import Envelope, Kind, Origin, Question
from equipage.errors import DocumentRefused, RuntimeFailure, StillHandling
from equipage.keys import GATEWAY_GROUP, Keys
from equipage.testing import stream_entries, wait_for_stream, wait_until
from tests.test_documents import FRENCH, pdf

CONFIG = CompanyConfig.model_validate(
    {
        "company": {"id": "acme", "name": "Acme", "profile": {"sells": "cloud hosting"}},
        "members": [
            {
                "id": "alice",
                "name": "Alice",
                "role": "owner",
                "identities": {"console": "alice", "telegram": "111"},
            },
            {"id": "bob", "name": "Bob", "role": "member", "identities": {"console": "bob"}},
        ],
        "roles": {
            "ceo": {"description": "runs the company"},
            "cto": {"description": "hosting and costs", "handles": ["hosting", "cost"]},
            "marketing": {"description": "launch posts", "handles": ["launch post"]},
            "support": {"description": "customers", "handles": ["customer"]},
        },
    }
)
QUESTION = Approval(
    id="3f9a1c2e",
    role="ceo",
    thread="telegram:111",
    text="Here is the launch post.\n\nShall I publish it?",
    origin=Origin(channel="telegram", chat="111", member="alice"),
)


def said(
    user: str, text: str, *, channel: str = "console", message_id: str | None = None
) -> Incoming:
    return Incoming(channel=channel, chat=user, user=user, text=text, message_id=message_id)


async def inbox(redis: aioredis.Redis, keys: Keys, role: str = "ceo") -> list[Envelope]:
    entries = await stream_entries(redis, keys.inbox(role))
    return [Envelope.decode(fields[b"env"]) for _, fields in entries]


async def ask(redis: aioredis.Redis, keys: Keys, approval: Approval = QUESTION) -> None:
    await Approvals(redis, keys).open(approval, f"{approval.role}:{approval.thread}")


def outbox_reply(channel: str, text: str = "Here is your answer.") -> Envelope:
    return Envelope(
        kind=Kind.REPLY,
        company="acme",
        to="human",
        sender="ceo",
        thread=f"{channel}:alice",
        text=text,
        origin=Origin(channel=channel, chat="alice", member="alice"),
    )


class FakeChannel:
    """A platform that records what it was asked to send, and fails on cue."""

    def __init__(self, name: str = "console", *, failures: int = 0) -> None:
        self.name = name
        self.failures = failures
        self.attempts = 0
        self.sent: list[Outgoing] = []

    async def send(self, message: Outgoing) -> None:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise ConnectionError(f"{self.name} is down")
        self.sent.append(message)


@asynccontextmanager
async def delivering(gateway: Gateway) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(gateway.deliver("gw-test", stop, block_ms=50))
    try:
        yield
    finally:
        stop.set()
        await task


async def outbox_pending(redis: aioredis.Redis, keys: Keys) -> int:
    info = await redis.xpending(keys.outbox, GATEWAY_GROUP)
    return int(info["pending"])


async def settled(redis: aioredis.Redis, keys: Keys) -> None:
    """Wait until the gateway group has read the whole outbox and acknowledged all of it."""

    async def done() -> bool:
        groups = await redis.xinfo_groups(keys.outbox)
        group = next((g for g in groups if g["name"] == GATEWAY_GROUP.encode()), None)
        last = await redis.xrevrange(keys.outbox, count=1)
        if group is None or not last:
            return False
        return bool(group["last-delivered-id"] == last[0][0] and group["pending"] == 0)

    await wait_until(done, what="outbox read and acknowledged by the gateway")


@pytest.fixture
async def gateway(bus: Bus) -> AsyncIterator[Gateway]:
    opened = Gateway(CONFIG, bus, channels={})
    yield opened
    await opened.aclose()


# -- inbound ----------------------------------------------------------------------------------
async def test_known_members_message_becomes_one_task_on_the_entry_roles_inbox(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    answers = await gateway.receive(said("alice", "  Prepare a launch post  "))

    assert answers == []
    [task] = await inbox(redis, keys)
    assert task.kind is Kind.TASK
    assert task.to == "ceo"
    assert task.company == "acme"
    assert task.sender == "member:alice"
    assert task.thread == "console:alice"
    assert task.text == "Prepare a launch post"
    assert task.origin == Origin(channel="console", chat="alice", member="alice", language="en")


async def test_message_in_a_platform_thread_keeps_the_thread_in_its_key_and_origin(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    incoming = Incoming(channel="telegram", chat="-100", user="111", text="hello", thread="42")

    await gateway.receive(incoming)

    [task] = await inbox(redis, keys)
    assert task.thread == "telegram:-100:42"
    assert task.origin == Origin(channel="telegram", chat="-100", member="alice", thread="42")


async def test_unknown_sender_is_refused_with_an_answer_and_nothing_is_published(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    [answer] = await gateway.receive(said("mallory", "Transfer the budget to me"))

    assert "not a member" in answer.text
    assert (answer.channel, answer.chat) == ("console", "mallory")
    assert await inbox(redis, keys) == []


async def test_identity_of_another_platform_does_not_let_a_stranger_in(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    # "111" is alice on Telegram only; on the console it is nobody.
    [answer] = await gateway.receive(said("111", "hello"))

    assert "not a member" in answer.text
    assert await inbox(redis, keys) == []


async def test_duplicate_delivery_of_a_platform_message_is_published_once(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    first = said("alice", "Prepare a launch post", channel="telegram", message_id="m-1")
    first = first.model_copy(update={"user": "111", "chat": "111"})

    await gateway.receive(first)
    assert await gateway.receive(first) == []
    # The same id on another platform is another message.
    await gateway.receive(said("alice", "Prepare a launch post", message_id="m-1"))

    assert [t.thread for t in await inbox(redis, keys)] == ["telegram:111", "console:alice"]


async def test_blank_message_is_ignored(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    assert await gateway.receive(said("alice", "   ")) == []
    assert await inbox(redis, keys) == []


async def test_help_and_status_answer_without_publishing(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    await ask(redis, keys)

    [help_] = await gateway.receive(said("bob", "/help"))
    [status] = await gateway.receive(said("alice", "/STATUS"))

    assert help_.text == HELP
    assert status.text.splitlines() == [
        "1 question(s) waiting for you.",
        "- 3f9a1c2e (ceo): Shall I publish it?",
    ]
    assert await inbox(redis, keys) == []
    assert await redis.xlen(keys.events) == 0


async def test_status_lists_a_question_whose_text_is_blank(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    await ask(redis, keys, QUESTION.model_copy(update={"text": ""}))

    [status] = await gateway.receive(said("alice", "/status"))

    assert status.text.splitlines() == ["1 question(s) waiting for you.", "- 3f9a1c2e (ceo): "]


async def test_status_shows_a_member_only_the_questions_of_their_own_conversations(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    bobs = Approval(
        id="b0b0b0b0",
        role="ceo",
        thread="console:bob",
        text="Quote for Bob's customer.\n\nSend it to them?",
        origin=Origin(channel="console", chat="bob", member="bob"),
    )
    scheduled = Approval(id="5c4ed01e", role="ceo", thread="cron", text="Pay the bank FR76?")
    for approval in (QUESTION, bobs, scheduled):
        await ask(redis, keys, approval)

    [members] = await gateway.receive(said("bob", "/status"))
    [owners] = await gateway.receive(said("alice", "/status"))

    assert members.text.splitlines() == [
        "1 question(s) of your conversations wait for the owner.",
        "- b0b0b0b0 (ceo): Send it to them?",
    ]
    assert "waiting for you" in owners.text
    assert all(a.id in owners.text for a in (QUESTION, bobs, scheduled))


# -- approvals ------------------------------------------------------------------------------
async def test_approval_by_a_member_who_is_not_the_owner_is_refused_and_publishes_nothing(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    await ask(redis, keys)

    [answer] = await gateway.receive(said("bob", f"/approve {QUESTION.id}"))

    assert "Only the owner" in answer.text
    assert await inbox(redis, keys) == []


async def test_approval_of_an_unknown_question_says_so(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    [answer] = await gateway.receive(said("alice", "/approve deadbeef"))

    assert answer.text.startswith("No open question deadbeef")
    assert await inbox(redis, keys) == []


async def test_approval_without_an_id_asks_which_question(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    [answer] = await gateway.receive(said("alice", "/reject"))

    assert "Which question? Write /reject ID" in answer.text
    assert await inbox(redis, keys) == []


async def test_owners_approval_resumes_the_paused_thread_with_the_note(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    await ask(redis, keys)

    [answer] = await gateway.receive(said("alice", f"/approve {QUESTION.id}  go ahead, thanks"))

    assert answer.text == f"Approved {QUESTION.id}; the crew goes on."
    [resume] = await inbox(redis, keys, QUESTION.role)
    assert resume.kind is Kind.ANSWER
    assert (resume.to, resume.thread) == ("ceo", "telegram:111")
    assert resume.sender == "member:alice"
    assert resume.answer is not None
    assert resume.answer.question_id == QUESTION.id
    assert resume.answer.approved is True
    assert resume.answer.text == "go ahead, thanks"
    assert resume.answer.member == "alice"
    # Answers go back where the question was asked, not where the approval was typed.
    assert resume.origin == QUESTION.origin


async def test_owners_rejection_carries_the_reason(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    await ask(redis, keys)

    [answer] = await gateway.receive(said("alice", f"/reject {QUESTION.id} too early"))

    assert answer.text == f"Rejected {QUESTION.id}; the crew goes on."
    [resume] = await inbox(redis, keys)
    assert resume.answer is not None
    assert (resume.answer.approved, resume.answer.text) == (False, "too early")


async def test_telegram_command_with_a_bot_suffix_and_an_uppercase_id_is_understood(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    await ask(redis, keys)
    incoming = Incoming(
        channel="telegram", chat="111", user="111", text=f"/approve@mybot {QUESTION.id.upper()}"
    )

    [answer] = await gateway.receive(incoming)

    assert answer.text.startswith("Approved")
    [resume] = await inbox(redis, keys)
    assert resume.answer is not None
    assert (resume.answer.question_id, resume.answer.approved) == (QUESTION.id, True)


async def test_accepted_answer_comes_back_as_answered_naming_the_member_and_verdict(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    await ask(redis, keys, QUESTION.model_copy(update={"topic": "budget"}))

    [answer] = await gateway.receive(said("alice", f"/reject {QUESTION.id} trop cher"))

    assert isinstance(answer, Answered)
    assert (answer.question_id, answer.approved, answer.by) == (QUESTION.id, False, "Alice")
    assert answer.line == "✗ Stopped by Alice"  # a budget question's buttons: Resume, Stop
    assert answer.answers(QUESTION.id.upper()) and not answer.answers("deadbeef")
    assert (answer.channel, answer.chat) == ("console", "alice")


@pytest.mark.parametrize(
    ("user", "text"),
    [("bob", f"/approve {QUESTION.id}"), ("alice", "/approve deadbeef"), ("alice", "/approve")],
    ids=["not-the-owner", "unknown-question", "no-id"],
)
async def test_refused_answer_is_plain_text_that_marks_no_question(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys, user: str, text: str
) -> None:
    await ask(redis, keys)

    [answer] = await gateway.receive(said(user, text))

    assert type(answer) is Outgoing
    assert await inbox(redis, keys) == []


# -- live calls -------------------------------------------------------------------------------
async def segments(redis: aioredis.Redis, keys: Keys, session: str) -> list[dict[str, str]]:
    entries = await stream_entries(redis, keys.live_segments(session))
    return [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in entries]


async def test_suggest_and_endcall_reach_the_members_running_live_session(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    await live.mark_active(redis, keys, "alice", "call-7", seconds=60)

    [asked] = await gateway.receive(said("alice", "/suggest le prix", message_id="m1"))
    [again] = await gateway.receive(said("alice", "/SUGGEST", message_id="m2"))
    [ended] = await gateway.receive(said("alice", "/endcall", message_id="m3"))

    assert asked.text == "Asked live session call-7 for a suggestion about le prix."
    assert again.text == "Asked live session call-7 for a suggestion."
    assert ended.text == "Live session call-7 is ending."
    assert await segments(redis, keys, "call-7") == [
        {"kind": "ask", "text": "le prix", "id": "console:m1"},
        {"kind": "ask", "id": "console:m2"},
        {"kind": "end", "id": "console:m3"},
    ]
    assert await inbox(redis, keys) == []  # none of it is a task for the crew


@pytest.mark.parametrize("command", ["/suggest pricing", "/endcall", "/end"])
async def test_live_command_without_a_running_session_says_how_to_start_one(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys, command: str
) -> None:
    await live.mark_active(redis, keys, "alice", "call-7", seconds=60)  # alice's, not bob's

    [answer] = await gateway.receive(said("bob", command))

    assert answer.text == (
        "No live session is running; start one with equipage live or ask the crew."
    )
    assert await segments(redis, keys, "call-7") == []
    assert await inbox(redis, keys) == []


async def test_help_lists_the_live_call_commands(gateway: Gateway) -> None:
    [help_] = await gateway.receive(said("bob", "/help"))

    assert "/suggest [focus]" in help_.text and "/endcall" in help_.text


async def test_cli_messages_go_by_the_console_identity(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    await gateway.receive(Incoming(channel="cli", chat="alice", user="alice", text="hello"))

    [task] = await inbox(redis, keys)
    assert (task.sender, task.thread) == ("member:alice", "cli:alice")


# -- outbound -----------------------------------------------------------------------------------
async def test_outbox_message_is_sent_to_its_channel_and_acknowledged(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    console = FakeChannel()
    assert isinstance(console, Channel)
    gateway = Gateway(CONFIG, bus, channels={"console": console})
    reply = outbox_reply("console")
    await bus.publish(reply)

    async with delivering(gateway):
        await wait_until(lambda: _value(console.sent), what="the reply sent")
        await settled(redis, keys)

    assert console.sent == [
        Outgoing(channel="console", chat="alice", text="Here is your answer.", sender="ceo")
    ]
    assert await redis.xlen(keys.dead) == 0


async def test_outbox_message_for_the_cli_is_acknowledged_without_sending(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    console = FakeChannel()
    gateway = Gateway(CONFIG, bus, channels={"console": console})
    await bus.publish(outbox_reply("cli"))

    async with delivering(gateway):
        await settled(redis, keys)

    assert console.attempts == 0
    assert await redis.xlen(keys.dead) == 0


async def test_outbox_message_for_a_channel_that_is_not_running_is_dead_lettered(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    console = FakeChannel()
    gateway = Gateway(CONFIG, bus, channels={"console": console})
    reply = outbox_reply("slack")

    async with delivering(gateway):
        await bus.publish(reply)
        [(_, dead)] = await wait_for_stream(redis, keys.dead, 1)
        await settled(redis, keys)

    assert Envelope.decode(dead[b"env"]) == reply
    assert dead[b"error"] == b"channel 'slack' is not running"
    assert dead[b"stream"] == keys.outbox.encode()
    assert console.sent == []


async def test_outbox_message_without_an_origin_is_dead_lettered(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    gateway = Gateway(CONFIG, bus, channels={"console": FakeChannel()})
    orphan = outbox_reply("console").model_copy(update={"origin": None})

    async with delivering(gateway):
        await bus.publish(orphan)
        [(_, dead)] = await wait_for_stream(redis, keys.dead, 1)

    assert b"without an origin" in dead[b"error"]


async def test_channel_that_fails_is_retried_until_the_message_is_sent(
    redis: aioredis.Redis, keys: Keys
) -> None:
    bus = Bus(redis, keys, visibility_timeout=0.2, max_attempts=3)
    flaky = FakeChannel(failures=2)
    gateway = Gateway(CONFIG, bus, channels={"console": flaky})
    await bus.publish(outbox_reply("console"))

    async with delivering(gateway):
        await wait_until(lambda: _value(flaky.sent), timeout=15, what="the reply sent")
        await settled(redis, keys)

    assert flaky.attempts == 3
    assert [m.text for m in flaky.sent] == ["Here is your answer."]
    assert await redis.xlen(keys.dead) == 0
    assert await redis.hlen(keys.attempts) == 0
    assert await redis.hlen(keys.errors) == 0


async def test_channel_that_keeps_failing_is_dead_lettered_after_max_attempts(
    redis: aioredis.Redis, keys: Keys
) -> None:
    bus = Bus(redis, keys, visibility_timeout=0.2, max_attempts=3)
    broken = FakeChannel(failures=1_000)
    gateway = Gateway(CONFIG, bus, channels={"console": broken})
    await bus.publish(outbox_reply("console"))

    async with delivering(gateway):
        [(_, dead)] = await wait_for_stream(redis, keys.dead, 1, timeout=15)
        await settled(redis, keys)

    assert broken.attempts == bus.max_attempts == 3
    assert dead[b"error"] == b"ConnectionError: console is down"
    assert dead[b"attempts"] == b"3"
    assert broken.sent == []


async def _value(items: list[Outgoing]) -> list[Outgoing]:
    return items


async def test_owner_without_a_console_identity_is_known_in_the_terminal_by_member_id(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    config = CompanyConfig.model_validate(
        {
            "company": {"id": "acme", "name": "Acme", "profile": {"sells": "hosting"}},
            "members": [
                {"id": "zoe", "name": "Zoé", "role": "owner", "identities": {"telegram": "42"}}
            ],
            "roles": {"ceo": {"description": "runs the company"}},
        }
    )
    gateway = Gateway(config, bus)

    assert await gateway.receive(Incoming(channel="cli", chat="zoe", user="zoe", text="hi")) == []
    refused = await gateway.receive(Incoming(channel="telegram", chat="1", user="zoe", text="hi"))

    assert "not a member" in refused[0].text
    assert await redis.xlen(keys.inbox("ceo")) == 1


async def test_delivery_the_platform_refuses_is_held_and_sent_when_the_person_writes(
    redis: aioredis.Redis, keys: Keys
) -> None:
    from equipage.errors import WindowClosed

    class Closed:
        name = "whatsapp"

        def __init__(self) -> None:
            self.open = False
            self.sent: list[Outgoing] = []

        async def send(self, message: Outgoing) -> None:
            if not self.open:
                raise WindowClosed(message.chat)
            self.sent.append(message)

    config = CompanyConfig.model_validate(
        {
            "company": {"id": "acme", "name": "Acme", "profile": {"sells": "hosting"}},
            "members": [{"id": "alice", "name": "A", "role": "owner",
                         "identities": {"whatsapp": "33600"}}],
            "roles": {"ceo": {"description": "runs the company"}},
        }
    )  # fmt: skip
    bus = Bus(redis, keys, visibility_timeout=0.2, max_attempts=3)
    channel = Closed()
    gateway = Gateway(config, bus, {"whatsapp": channel})
    origin = Origin(channel="whatsapp", chat="33600", member="alice")
    reply = Envelope(kind=Kind.REPLY, company="acme", to="human", sender="ceo", thread="t",
                     text="the quote is ready", origin=origin)  # fmt: skip
    stop = asyncio.Event()
    delivering = asyncio.create_task(gateway.deliver("g", stop, block_ms=20))
    try:
        await bus.publish(reply)
        await wait_until(lambda: redis.llen(keys.held("whatsapp", "33600")), what="held")
        assert await redis.xlen(keys.dead) == 0
        channel.open = True  # what the person writing again does on WhatsApp
        await gateway.receive(Incoming(channel="whatsapp", chat="33600", user="33600", text="hi"))
        await wait_until(lambda: _true(bool(channel.sent)), what="held message sent")
    finally:
        stop.set()
        await delivering
    assert [m.text for m in channel.sent] == ["the quote is ready"]
    assert not await redis.exists(keys.held("whatsapp", "33600"))


async def test_message_whose_publish_failed_is_handled_when_the_platform_redelivers(
    redis: aioredis.Redis, keys: Keys
) -> None:
    class Flaky(Bus):
        failures = 1

        async def publish(self, envelope: Envelope) -> str:
            if self.failures:
                self.failures -= 1
                raise ConnectionError("redis went away")
            return await super().publish(envelope)

    gateway = Gateway(CONFIG, Flaky(redis, keys))
    message = said("alice", "draft the newsletter", message_id="m1")
    with pytest.raises(ConnectionError):
        await gateway.receive(message)
    assert await gateway.receive(message) == []
    assert await redis.xlen(keys.inbox("ceo")) == 1


class FirstStoreStalls(Bus):
    """A bus whose first publish waits for ``release``, then fails as if Redis went away."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        super().__init__(redis, keys)
        self.release = asyncio.Event()
        self.calls = 0

    async def publish(self, envelope: Envelope) -> str:
        self.calls += 1
        if self.calls == 1:
            await self.release.wait()
            raise ConnectionError("redis went away")
        return await super().publish(envelope)


async def test_a_redelivery_while_the_first_is_still_being_stored_is_not_taken_for_handled(
    redis: aioredis.Redis, keys: Keys
) -> None:
    # Slack sends again when it has no answer within 3 s. Answered as a duplicate (2xx)
    # while the first delivery was still being stored, the message was lost if that store
    # then failed: the platform had its 2xx and never sent it again.
    bus = FirstStoreStalls(redis, keys)
    gateway = Gateway(CONFIG, bus)
    message = said("alice", "draft the newsletter", message_id="m1")
    first = asyncio.create_task(gateway.receive(message))
    await wait_until(lambda: _true(bus.calls == 1), what="the first delivery being stored")

    with pytest.raises(StillHandling):
        await gateway.receive(message)

    bus.release.set()
    with pytest.raises(ConnectionError):
        await first
    assert await gateway.receive(message) == []
    assert await redis.xlen(keys.inbox("ceo")) == 1
    # Stored now: a later delivery is a duplicate.
    assert await gateway.receive(message) == []
    assert await redis.xlen(keys.inbox("ceo")) == 1


async def test_document_without_a_caption_still_reaches_the_crew(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    from equipage.chat import Attachment

    pdf = Attachment(name="devis.pdf", mime="application/pdf", ref="M1")
    incoming = Incoming(channel="console", chat="alice", user="alice", text="", attachments=(pdf,))
    await Gateway(CONFIG, bus).receive(incoming)
    [(_, fields)] = await stream_entries(redis, keys.inbox("ceo"))
    assert Envelope.decode(fields[b"env"]).attachments == (pdf,)


async def test_whatsapp_window_lives_in_redis_and_expires_with_it(
    redis: aioredis.Redis, keys: Keys
) -> None:
    from equipage.windows import RedisWindowStore

    store = RedisWindowStore(redis, keys, "whatsapp")
    assert await store.get("33600") is None
    await store.set("33600", 1700000000.5)
    assert await RedisWindowStore(redis, keys, "whatsapp").get("33600") == 1700000000.5
    assert 0 < await redis.ttl(keys.window("whatsapp", "33600")) <= 24 * 3600


async def _true(value: bool) -> bool:
    return value


# -- files people send, and the typing indicator -----------------------------------------------
class Platform(FakeChannel):
    """A platform that serves files by ref, shows typing, and can hold a download forever."""

    def __init__(self, files: dict[str, bytes] | None = None) -> None:
        super().__init__("telegram")
        self.files = files or {}
        self.downloaded: list[str] = []
        self.typed: list[str] = []
        self.events: list[str] = []  # "typing" and "send", in order
        self.never = asyncio.Event()

    async def send(self, message: Outgoing) -> None:
        self.events.append("send")
        await super().send(message)

    async def download(self, attachment: Attachment, *, limit: int) -> bytes:
        self.downloaded.append(attachment.ref)
        if attachment.ref == "hang":
            await self.never.wait()
        if attachment.ref not in self.files:
            raise RuntimeFailure("the platform lost it")
        data = self.files[attachment.ref]
        if len(data) > limit:
            raise DocumentRefused(f"{attachment.name}: it is too big for the platform.")
        return data

    async def typing(self, chat: str) -> None:
        self.typed.append(chat)
        self.events.append("typing")


def sent_with(*files: Attachment, text: str = "Lis ceci", user: str = "111") -> Incoming:
    return Incoming(
        channel="telegram", chat=user, user=user, text=text, message_id="u1", attachments=files
    )


def attached(ref: str, name: str = "cahier.pdf", mime: str = "application/pdf") -> Attachment:
    return Attachment(name=name, mime=mime, ref=ref)


@asynccontextmanager
async def gateway_on(
    bus: Bus,
    platform: Platform,
    *,
    documents: Limits | None = None,
    typing_every: float = 4.0,
    typing_for: float = 120.0,
) -> AsyncIterator[Gateway]:
    opened = Gateway(
        CONFIG,
        bus,
        channels={"telegram": platform},
        documents=documents,
        typing_every=typing_every,
        typing_for=typing_for,
    )
    try:
        yield opened
    finally:
        await opened.aclose()


async def test_members_pdf_is_read_and_its_text_travels_on_the_task(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    platform = Platform({"F1": pdf(FRENCH)})
    assert isinstance(platform, Downloader)

    async with gateway_on(bus, platform) as gateway:
        answers = await gateway.receive(sent_with(attached("F1")))

    assert answers == []
    [task] = await inbox(redis, keys)
    [document] = task.attachments
    assert (document.text, document.error, document.size) == (FRENCH, None, len(pdf(FRENCH)))
    assert task.text == "Lis ceci"


async def test_unreadable_file_still_reaches_the_crew_with_why_and_the_founder_is_told_at_once(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    platform = Platform({"P1": b"\x89PNG\r\n\x1a\n" + bytes(32)})

    async with gateway_on(bus, platform) as gateway:
        [notice] = await gateway.receive(sent_with(attached("P1", "photo.pdf"), attached("X9")))

    assert notice.chat == "111"
    lines = notice.text.splitlines()
    assert lines[0].startswith("I could not read photo.pdf: it is an image (PNG).")
    assert lines[1] == (
        "I could not read cahier.pdf: downloading it from the platform failed. "
        "Send it again in a moment."
    )
    assert "went to the crew" in lines[2]
    [task] = await inbox(redis, keys)
    assert task.text == "Lis ceci"
    assert [a.text for a in task.attachments] == [None, None]
    assert task.attachments[0].error is not None
    assert task.attachments[0].error.startswith("it is an image (PNG)")


async def test_file_over_the_limit_is_refused_by_the_platform_and_the_founder_told(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    platform = Platform({"F1": pdf(FRENCH)})

    async with gateway_on(bus, platform, documents=Limits(max_bytes=100)) as gateway:
        [notice] = await gateway.receive(sent_with(attached("F1")))

    assert notice.text.startswith("I could not read cahier.pdf: it is too big for the platform.")
    [task] = await inbox(redis, keys)
    assert task.attachments[0].error == "it is too big for the platform."


async def test_files_past_the_per_message_count_or_time_are_named_but_not_read(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    text = "Réunion à Besançon".encode()
    platform = Platform({"T1": text, "T2": text, "T3": text})
    files = (
        attached("T1", "a.txt", "text/plain"),
        attached("hang", "lent.pdf"),
        attached("T2", "b.txt", "text/plain"),
        attached("T3", "c.txt", "text/plain"),
    )
    limits = Limits(max_files=3, timeout=0.5)

    async with gateway_on(bus, platform, documents=limits) as gateway:
        [notice] = await gateway.receive(sent_with(*files))

    [task] = await inbox(redis, keys)
    texts = [a.text for a in task.attachments]
    assert texts == ["Réunion à Besançon", None, "Réunion à Besançon", None]
    assert "took longer than 0.5 s" in (task.attachments[1].error or "")
    assert "at most 3 files of one message" in (task.attachments[3].error or "")
    assert platform.downloaded.count("T3") == 0  # never asked for
    assert "lent.pdf" in notice.text and "c.txt" in notice.text


async def test_files_of_one_message_share_the_character_budget_in_order(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    platform = Platform({"A": b"a" * 60, "B": b"b" * 60, "C": b"c" * 60})
    files = [attached(ref, f"{ref}.txt", "text/plain") for ref in "ABC"]

    async with gateway_on(bus, platform, documents=Limits(max_chars=100)) as gateway:
        [notice] = await gateway.receive(sent_with(*files))

    [task] = await inbox(redis, keys)
    first, second, third = task.attachments
    assert first.text == "a" * 60
    assert second.text is not None and second.text.startswith("b" * 40 + "\n\n[Truncated:")
    assert third.text is None and "already fill the 100 characters" in (third.error or "")
    assert notice.text.startswith("I could not read C.txt")


async def test_strangers_file_is_never_downloaded(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    platform = Platform({"F1": pdf(FRENCH)})

    async with gateway_on(bus, platform) as gateway:
        [refusal] = await gateway.receive(sent_with(attached("F1"), user="999"))

    assert "not a member" in refusal.text
    assert platform.downloaded == []
    assert platform.typed == []
    assert await inbox(redis, keys) == []


async def test_company_yaml_sets_the_memory_reading_one_file_may_take(bus: Bus) -> None:
    runtime = CONFIG.runtime.model_copy(update={"document_memory_mb": 256})

    gateway = Gateway(CONFIG.model_copy(update={"runtime": runtime}), bus)

    assert gateway.documents.memory == 256 * 1024 * 1024


async def test_typing_is_kept_alive_in_the_background_until_the_reply_goes_out(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    platform = Platform()

    async with gateway_on(bus, platform, typing_every=0.02) as gateway:
        assert await gateway.receive(sent_with(text="Prépare le devis")) == []
        assert gateway.presence.chats == {("telegram", "111")}
        await wait_until(lambda: _true(len(platform.typed) >= 3), what="typing sent again")
        reply = outbox_reply("telegram").model_copy(
            update={"origin": Origin(channel="telegram", chat="111", member="alice")}
        )
        await bus.publish(reply)
        async with delivering(gateway):
            await wait_until(lambda: _value(platform.sent), what="the reply sent")

        assert gateway.presence.chats == frozenset()
    # Stopped before the reply was sent: no indicator follows the answer.
    assert platform.events[-1] == "send"


async def test_typing_stops_by_itself_when_no_reply_comes_in_time(bus: Bus) -> None:
    platform = Platform()

    async with gateway_on(bus, platform, typing_every=0.02, typing_for=0.1) as gateway:
        await gateway.receive(sent_with(text="Prépare le devis"))

        await wait_until(lambda: _true(not gateway.presence.chats), what="typing given up")

    assert 2 <= len(platform.typed) <= 7


async def test_closing_the_gateway_ends_the_typing_it_keeps_alive(bus: Bus) -> None:
    platform = Platform()
    gateway = Gateway(CONFIG, bus, channels={"telegram": platform})
    await gateway.receive(sent_with(text="Prépare le devis"))
    [task] = gateway.presence._tasks.values()

    await gateway.aclose()

    assert task.cancelled()
    assert gateway.presence.chats == frozenset()


def test_the_origin_remembers_the_language_the_person_wrote_in() -> None:
    from equipage.language import language_of

    assert language_of("Prépare un post de lancement pour la semaine prochaine") == "fr"
    assert language_of("Prepare a launch post for next week") == "en"
    assert language_of("/status") is None  # nothing to tell: reports use the company's


# -- the person's language ---------------------------------------------------------------------
FRENCH_ASK = "Prépare un post de lancement pour la semaine prochaine"
FRENCH_COMPANY = CONFIG.model_copy(
    update={
        "company": CONFIG.company.model_copy(
            update={
                "profile": CONFIG.company.profile.model_copy(update={"languages": ("fr", "en")})
            }
        )
    }
)


async def test_french_founders_help_and_status_come_in_french(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    await ask(redis, keys)
    await gateway.receive(said("alice", FRENCH_ASK))

    [help_] = await gateway.receive(said("alice", "/help"))
    [status] = await gateway.receive(said("alice", "/status"))

    assert help_.text == FR.help != HELP
    assert "/approve ID [note] (ou /approuver)" in help_.text
    assert status.text.splitlines() == [
        "1 question(s) en attente de votre réponse.",
        "- 3f9a1c2e (ceo) : Shall I publish it?",
    ]
    # Bob wrote nothing yet in an English company: English.
    [bobs] = await gateway.receive(said("bob", "/help"))
    assert bobs.text == HELP


async def test_approval_after_a_french_message_is_acknowledged_in_french(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    await ask(redis, keys)
    await gateway.receive(said("alice", FRENCH_ASK))

    [answer] = await gateway.receive(said("alice", f"/approve {QUESTION.id}"))

    assert isinstance(answer, Answered)
    assert answer.text == f"Approuvé {QUESTION.id} ; l'équipage continue."
    assert (answer.language, answer.line) == ("fr", "✓ Approuvé par Alice")
    [_, resume] = await inbox(redis, keys)
    assert resume.answer is not None and resume.answer.approved is True


async def test_french_aliases_approve_and_reject_and_a_french_note_is_answered_in_french(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    await ask(redis, keys)

    [answer] = await gateway.receive(
        said("alice", f"/refuser {QUESTION.id} pas cette semaine, merci")
    )

    assert answer.text == f"Refusé {QUESTION.id} ; l'équipage continue."
    [resume] = await inbox(redis, keys)
    assert resume.answer is not None
    assert (resume.answer.approved, resume.answer.text) == (False, "pas cette semaine, merci")
    [unknown] = await gateway.receive(said("alice", "/approuver deadbeef"))
    assert unknown.text == "Aucune question deadbeef en attente ; /status les liste."


async def test_members_language_is_remembered_in_redis_for_every_gateway_process(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    first, second = Gateway(CONFIG, bus), Gateway(CONFIG, bus)
    try:
        await first.receive(said("alice", FRENCH_ASK))
        [stopped] = await second.receive(said("alice", "/stop"))
        await second.receive(said("alice", "Prepare a launch post for next week"))
        [resumed] = await first.receive(said("alice", "/resume"))
    finally:
        await first.aclose()
        await second.aclose()

    assert stopped.text.startswith("L'équipage est en pause")
    assert resumed.text == "The crew goes on."
    assert await redis.hget(keys.member_languages(), "alice") == b"en"


async def test_stranger_is_refused_in_the_companys_language(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    gateway = Gateway(FRENCH_COMPANY, bus)
    try:
        [refused] = await gateway.receive(said("mallory", "/start", channel="telegram"))
        [english] = await gateway.receive(said("eve", "Please let me in", channel="telegram"))
    finally:
        await gateway.aclose()

    [code] = [p.code for p in await gateway.members.pending() if p.user == "mallory"]
    assert refused.text.startswith(
        f"Vous n'êtes pas encore membre de cet équipage. Demandez à son propriétaire "
        f"d'approuver votre code d'appairage {code} (/pair {code}"
    )
    assert english.text.startswith("You are not a member of this crew yet.")  # their words
    assert await inbox(redis, keys) == []


async def test_members_who_never_wrote_are_answered_in_the_companys_language(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    gateway = Gateway(FRENCH_COMPANY, bus)
    try:
        [no_session] = await gateway.receive(said("bob", "/endcall"))
        [owner_only] = await gateway.receive(said("bob", "/stop"))
    finally:
        await gateway.aclose()

    assert no_session.text.startswith("Aucune session en direct n'est en cours")
    assert owner_only.text == "Seul le propriétaire de cet équipage peut utiliser /stop."


@pytest.mark.parametrize(
    ("origin_language", "remembered", "expected"),
    [("fr", None, "fr"), (None, "fr", "fr"), (None, None, "en"), ("en", "fr", "en")],
    ids=["origin", "member", "company", "origin-first"],
)
async def test_delivered_question_is_worded_in_its_persons_language(
    bus: Bus,
    redis: aioredis.Redis,
    keys: Keys,
    origin_language: str | None,
    remembered: str | None,
    expected: str,
) -> None:
    console = FakeChannel()
    gateway = Gateway(CONFIG, bus, channels={"console": console})
    if remembered:
        await redis.hset(keys.member_languages(), "alice", remembered)
    origin = Origin(channel="console", chat="alice", member="alice", language=origin_language)
    await bus.publish(
        Envelope(
            kind=Kind.QUESTION,
            company="acme",
            to="human",
            sender="ceo",
            thread="console:alice",
            text="Shall I publish it?",
            origin=origin,
            question=Question(id="3f9a1c2e", text="Shall I publish it?"),
        )
    )

    async with delivering(gateway):
        await wait_until(lambda: _value(console.sent), what="the question sent")
    await gateway.aclose()

    [sent] = console.sent
    assert isinstance(sent, Worded)
    assert sent.language == expected


def test_console_says_how_to_answer_a_question_in_the_persons_language() -> None:
    from rich.console import Console

    from channels.console import render

    question = Question(id="3f9a1c2e", text="Je le publie ?")
    out = Console(width=100, record=True, color_system=None)
    out.print(render(Worded(channel="console", chat="a", text="Voici.", question=question)))
    out.print(render(Worded(channel="console", chat="a", text="Voici.", question=question,
                            language="fr")))  # fmt: skip
    english, french = out.export_text().split("Voici.")[1:]

    assert "Answer: /approve 3f9a1c2e or /reject 3f9a1c2e [reason]" in english
    assert "Répondre : /approve 3f9a1c2e ou /reject 3f9a1c2e [raison]" in french


def test_unread_file_notice_follows_the_persons_language() -> None:
    failed = Attachment(name="devis.pdf", mime="application/pdf", ref="f1", error="too big.")

    assert notice([failed], FR) == (
        "Je n'ai pas pu lire devis.pdf : too big.\n"
        "Votre message est tout de même parti à l'équipage, sans ce contenu."
    )
    assert (notice([failed]) or "").startswith("I could not read devis.pdf: too big.")
