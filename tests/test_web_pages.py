"""The console's pages against a real server: the overview, threads seen by whom, questions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from langgraph.checkpoint.base import empty_checkpoint

from channels.gateway import Gateway
from equipage.approvals import Approval, Approvals
from equipage.bus import Bus
from equipage.checkpoint import RedisSaver
from equipage.crew import serializer
from equipage.envelope import Envelope, Kind, Origin
from equipage.keys import Keys
from equipage.llm.messages import Message, ToolCall
from equipage.testing import stream_entries
from equipage.web.context import Console
from equipage.web.login import COOKIE, start_session
from equipage.web.serve import Served, console_server
from tests.test_web_login import CONFIG

ALICE = Origin(channel="telegram", chat="111", member="alice")
BOB = Origin(channel="telegram", chat="222", member="bob")
QUESTION = Approval(
    id="3f9a1c2e", role="ceo", thread="telegram:111", text="Publish the post?", origin=ALICE
)


@pytest.fixture
async def served(redis: aioredis.Redis, keys: Keys, tmp_path: Path) -> AsyncIterator[Served]:
    gateway = Gateway(CONFIG, Bus(redis, keys), commands=())
    console = Console(redis=redis, keys=keys, config=CONFIG, home=tmp_path)
    async with console_server(console, answer=gateway.receive) as running:
        yield running
    await gateway.aclose()


@asynccontextmanager
async def browser(
    served: Served, member: str, redis: aioredis.Redis, keys: Keys
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A browser logged in as ``member``, and its session's CSRF token."""
    session_id, session = await start_session(redis, keys, member)
    async with httpx.AsyncClient(base_url=served.url, cookies={COOKIE: session_id}) as client:
        yield client, session.csrf


async def remember(
    redis: aioredis.Redis, keys: Keys, thread_id: str, origin: Origin, *messages: Message
) -> None:
    """A checkpoint of an agent thread, as a worker leaves it."""
    saver = RedisSaver(redis, keys, serde=serializer())
    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = {"messages": list(messages), "origin": origin}
    versions = {"messages": "1", "origin": "1"}
    checkpoint["channel_versions"] = dict(versions)
    config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    await saver.aput(config, checkpoint, {}, versions)  # type: ignore[arg-type]


@pytest.fixture
async def conversations(redis: aioredis.Redis, keys: Keys) -> None:
    """Alice's conversation (the CEO delegated to the CTO) and Bob's."""
    call = ToolCall(id="c1", name="delegate", arguments={"role": "cto", "brief": "price OVH"})
    await remember(
        redis,
        keys,
        "ceo:telegram:111",
        ALICE,
        Message.user("Prepare the launch of Nuage Clair", name="alice"),
        Message.assistant("", (call,)),
        Message.tool(call, "delegated to cto (call c1)"),
    )
    await remember(
        redis,
        keys,
        "cto:telegram:111/cto/c1",
        ALICE,
        Message.user("price OVH"),
        Message.assistant("OVH costs 12 EUR a month."),
    )
    await remember(redis, keys, "ceo:telegram:222", BOB, Message.user("Bob's secret pricing idea"))


async def test_the_overview_shows_the_crew_as_an_org_chart_with_spend_and_queue(
    served: Served, redis: aioredis.Redis, keys: Keys
) -> None:
    await Bus(redis, keys).ensure_groups(["ceo", "cto"])
    await redis.hset(keys.spend_day(_today()), "ceo", 1.25)
    async with browser(served, "alice", redis, keys) as (client, _):
        page = await client.get("/")
    assert page.status_code == 200
    text = page.text
    assert "<svg" in text and ">ceo<" in text and ">cto<" in text
    assert "ask_human" in text  # the CTO's tools
    assert "1,25 USD" in text  # French: the company's first language
    assert "Délègue à" in text and 'sse-connect="/live/overview?after=' in text


async def test_a_viewers_pages_follow_their_language_as_chat_knows_it(
    served: Served, redis: aioredis.Redis, keys: Keys
) -> None:
    await redis.hset(keys.member_languages(), "bob", "en")
    async with browser(served, "bob", redis, keys) as (client, _):
        page = await client.get("/threads")
    assert 'lang="en"' in page.text and "Threads" in page.text and "Fils" not in page.text


@pytest.mark.usefixtures("conversations")
async def test_the_owner_sees_every_thread_and_a_member_only_their_own(
    served: Served, redis: aioredis.Redis, keys: Keys
) -> None:
    async with browser(served, "alice", redis, keys) as (owner, _):
        listed = (await owner.get("/threads")).text
        assert "telegram:111" in listed and "telegram:222" in listed
        assert "telegram:111/cto" not in listed  # a delegation shows inside its conversation
        found = (await owner.get("/threads", params={"q": "nuage"})).text
        assert "telegram:111" in found and "telegram:222" not in found
    async with browser(served, "bob", redis, keys) as (member, _):
        listed = (await member.get("/threads")).text
        assert "telegram:222" in listed and "telegram:111" not in listed
        assert (await member.get("/threads/telegram:222")).status_code == 200
        refused = await member.get("/threads/telegram:111")
        assert refused.status_code == 403 and "Nuage" not in refused.text
        assert (await member.get("/live/threads/telegram:111")).status_code == 403


@pytest.mark.usefixtures("conversations")
async def test_a_threads_timeline_shows_messages_calls_with_arguments_and_delegations(
    served: Served, redis: aioredis.Redis, keys: Keys
) -> None:
    await Approvals(redis, keys).open(QUESTION, "ceo:telegram:111")
    await Bus(redis, keys).publish(
        QUESTION.answered("acme", member="alice", approved=True, note="go", origin=ALICE)
    )
    async with browser(served, "alice", redis, keys) as (client, _):
        page = (await client.get("/threads/telegram:111")).text
    assert "Prepare the launch of Nuage Clair" in page
    assert "delegate" in page and "price OVH" in page  # the call and its arguments
    assert "OVH costs 12 EUR a month." in page  # the CTO's delegated thread
    assert "telegram:111/cto/c1" in page
    assert "3f9a1c2e" in page and "Publish the post?" in page  # the open question
    assert "répondue par alice" in page  # who answered, from the events


async def test_open_questions_are_listed_oldest_first_to_those_who_may_see_them(
    served: Served, redis: aioredis.Redis, keys: Keys
) -> None:
    newer = QUESTION.model_copy(update={"id": "9b8c7d6e", "text": "Second?", "asked_at": 2e9})
    older = QUESTION.model_copy(update={"asked_at": 1e9})
    await Approvals(redis, keys).open(newer, "ceo:telegram:111")
    await Approvals(redis, keys).open(older, "ceo:telegram:111")
    async with browser(served, "alice", redis, keys) as (owner, _):
        page = (await owner.get("/questions")).text
    assert page.index("3f9a1c2e") < page.index("9b8c7d6e")
    async with browser(served, "bob", redis, keys) as (member, _):
        page = (await member.get("/questions")).text
    assert "3f9a1c2e" not in page and "Publish" not in page


async def test_the_owner_approves_from_the_browser_as_from_a_chat_button(
    served: Served, redis: aioredis.Redis, keys: Keys
) -> None:
    await Approvals(redis, keys).open(QUESTION, "ceo:telegram:111")
    async with browser(served, "alice", redis, keys) as (owner, csrf):
        no_token = await owner.post("/questions/3f9a1c2e/approve", data={"note": "go"})
        assert no_token.status_code == 403
        assert await stream_entries(redis, keys.inbox("ceo")) == []
        done = await owner.post("/questions/3f9a1c2e/approve", data={"csrf": csrf, "note": "go"})
        assert done.status_code == 303
    (entry,) = await stream_entries(redis, keys.inbox("ceo"))
    answer = Envelope.decode(entry[1][b"env"])
    assert answer.kind == Kind.ANSWER and answer.thread == "telegram:111"
    assert answer.answer is not None and answer.answer.approved
    assert (answer.answer.member, answer.answer.text) == ("alice", "go")
    assert answer.origin == ALICE  # the thread's replies go back to the chat it came from
    (told,) = await stream_entries(redis, keys.outbox)
    said = Envelope.decode(told[1][b"env"])
    assert said.origin == ALICE and "Alice" in said.text and "3f9a1c2e" in said.text


async def test_a_member_cannot_approve_as_in_chat(
    served: Served, redis: aioredis.Redis, keys: Keys
) -> None:
    mine = QUESTION.model_copy(update={"thread": "telegram:222", "origin": BOB})
    await Approvals(redis, keys).open(mine, "ceo:telegram:222")
    async with browser(served, "bob", redis, keys) as (member, csrf):
        page = (await member.get("/questions")).text
        assert "3f9a1c2e" in page  # their own conversation's question: they may read it
        refused = await member.post("/questions/3f9a1c2e/approve", data={"csrf": csrf})
    assert refused.status_code == 403
    assert "propriétaire" in refused.text  # the gateway's own words, in the viewer's language
    assert await stream_entries(redis, keys.inbox("ceo")) == []
    assert await Approvals(redis, keys).get("3f9a1c2e") is not None


def _today() -> str:
    import time

    return time.strftime("%Y-%m-%d", time.gmtime())
