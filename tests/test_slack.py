"""The Slack channel: signed requests to its routes, real slack_sdk against the fake Web API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import Clock, SignatureVerifier
from starlette.applications import Starlette

from channels import slack_blocks
from channels.gateway import Gateway
from channels.seen import CLAIMED
from channels.slack import MAX_SECTION, MAX_TEXT, WORKING, SlackChannel, incoming, split, verify
from channels.wording import Worded
from equipage.approvals import Approval, Approvals
from equipage.bus import Bus
from equipage.chat import Downloader, Incoming, Outgoing, PlatformChannel
from equipage.config import CompanyConfig
from equipage.connection import RedisTarget
from equipage.envelope import Attachment, Envelope, Kind, Origin, Question
from equipage.errors import ConfigError, DocumentRefused, SourceError
from equipage.keys import SEEN_FOR, Keys
from equipage.testing import stream_entries, wait_for_stream, wait_until
from equipage.testing.fake_slack import Ack, FakeSlack, blocks, sign
from tests.test_gateway import FirstStoreStalls

FIXTURES = Path(__file__).parent / "fixtures" / "slack"
TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-A00FAKEAPP01-test-token"
SECRET = "test-signing-secret"
FOUNDER = "U00FAKEUSER1"  # the user of the recorded vercel/chat payloads
CONFIG = CompanyConfig.model_validate(
    {
        "company": {"id": "acme", "name": "Acme", "profile": {"sells": "cloud hosting"}},
        "members": [
            {"id": "alice", "name": "Alice", "role": "owner", "identities": {"slack": FOUNDER}},
            {"id": "bob", "name": "Bob", "role": "member", "identities": {"slack": "U00FAKEUSER2"}},
        ],
        "roles": {"ceo": {"description": "runs the company"}},
    }
)


def recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


DM = recorded("vercel-chat_replay_dm_slack.json")
ACTIONS = recorded("vercel-chat_replay_actions-reactions_slack.json")
COMMANDS = recorded("vercel-chat_replay_slash-commands_slack.json")
# The recorded payloads were stripped of event_id; Slack puts one on every event.
MENTION = {**DM["mention"], "event_id": "Ev00MENTION1"}
DIRECT = {**DM["dmMessage"], "event_id": "Ev00DIRECT01"}


class Spy:
    """The gateway, behind a gate the test opens; records what reached it."""

    def __init__(self, gateway: Gateway, *, gate: asyncio.Event | None = None) -> None:
        self.gateway = gateway
        self.gate = gate
        self.received: list[Incoming] = []

    async def receive(self, message: Incoming) -> list[Outgoing]:
        self.received.append(message)
        if self.gate is not None:
            await self.gate.wait()
        return await self.gateway.receive(message)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(TOKEN, app_token=APP_TOKEN) as server:
        yield server


@pytest.fixture
async def slack(fake: FakeSlack) -> AsyncIterator[SlackChannel]:
    channel = SlackChannel(TOKEN, signing_secret=SECRET, base_url=fake.base_url)
    yield channel
    await channel.aclose()


@pytest.fixture
def spy(bus: Bus, slack: SlackChannel) -> Spy:
    return Spy(Gateway(CONFIG, bus, channels={"slack": slack}))


@pytest.fixture
async def client(slack: SlackChannel, spy: Spy) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=slack.routes(spy))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://equipage") as http:
        yield http


async def post(
    client: httpx.AsyncClient,
    payload: dict[str, Any] | bytes,
    *,
    form: bool = False,
    secret: str = SECRET,
    age: float = 0,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    if isinstance(payload, bytes):
        body = payload
    elif form:
        body = urlencode(payload).encode()
    else:
        body = json.dumps(payload).encode()
    kind = "application/x-www-form-urlencoded" if form else "application/json"
    signed = sign(body, secret, int(time.time() - age))
    all_headers = {"Content-Type": kind, **signed, **(headers or {})}
    return await client.post("/slack/events", content=body, headers=all_headers)


async def inbox(redis: aioredis.Redis, keys: Keys) -> list[Envelope]:
    entries = await stream_entries(redis, keys.inbox("ceo"))
    return [Envelope.decode(fields[b"env"]) for _, fields in entries]


# -- signatures ---------------------------------------------------------------------------------
async def test_slacks_published_signing_example_verifies_to_its_published_signature() -> None:
    # The worked example of https://api.slack.com/authentication/verifying-requests-from-slack
    # (Slack's documentation, no licence to copy it as a file): values written out here.
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    stamp = 1531420618
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
        b"&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
        b"&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com"
        b"%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    published = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    headers = {"x-slack-request-timestamp": str(stamp), "x-slack-signature": published}

    assert sign(body, secret, stamp)["X-Slack-Signature"] == published
    assert verify(secret, body, headers, now=stamp + 60)
    assert not verify(secret, body + b"x", headers, now=stamp + 60)
    assert not verify(secret, body, headers, now=stamp + 301)  # outside Slack's 5 minutes
    assert not verify(secret, body, {**headers, "x-slack-request-timestamp": "²"}, now=0)
    assert not verify(secret, body, {"x-slack-signature": published}, now=stamp)

    class Then(Clock):
        def now(self) -> float:
            return stamp + 60.0

    assert SignatureVerifier(secret, Then()).is_valid_request(body, headers)  # slack_sdk agrees


async def test_request_with_a_bad_signature_is_refused_and_reaches_nobody(
    client: httpx.AsyncClient, slack: SlackChannel, spy: Spy, caplog: pytest.LogCaptureFixture
) -> None:
    response = await post(client, MENTION, secret="not-the-secret")

    assert response.status_code == 401
    assert "bad or stale signature" in caplog.text
    assert SECRET not in caplog.text and TOKEN not in caplog.text
    await slack.aclose()
    assert spy.received == []


async def test_request_signed_more_than_five_minutes_ago_is_refused(
    client: httpx.AsyncClient, slack: SlackChannel, spy: Spy
) -> None:
    response = await post(client, MENTION, age=301)

    assert response.status_code == 401
    await slack.aclose()
    assert spy.received == []


async def test_unsigned_request_is_refused(client: httpx.AsyncClient, spy: Spy) -> None:
    response = await client.post("/slack/events", json=MENTION)

    assert response.status_code == 401
    assert spy.received == []


async def test_oversized_or_malformed_bodies_are_refused_with_400(
    client: httpx.AsyncClient, spy: Spy
) -> None:
    assert (await post(client, b"{" + b" " * (1 << 20) + b"}")).status_code == 400
    assert (await post(client, b"{not json")).status_code == 400
    assert (await post(client, b"[1, 2]")).status_code == 400
    assert spy.received == []


async def test_url_verification_challenge_is_answered(client: httpx.AsyncClient) -> None:
    body = (FIXTURES / "python-slack-events-api_url_challenge.json").read_bytes()

    response = await post(client, body)

    assert response.status_code == 200
    assert response.json() == {"challenge": "valid_challenge_token"}


# -- events -------------------------------------------------------------------------------------
async def test_mention_from_a_member_becomes_a_task_in_the_messages_thread(
    client: httpx.AsyncClient, redis: aioredis.Redis, keys: Keys
) -> None:
    response = await post(client, MENTION)

    assert response.status_code == 200
    await wait_for_stream(redis, keys.inbox("ceo"), 1)
    [task] = await inbox(redis, keys)
    ts = MENTION["event"]["ts"]
    assert (task.kind, task.text, task.sender) == (Kind.TASK, "Hey", "member:alice")
    assert task.thread == f"slack:C00FAKECHAN1:{ts}"
    assert task.origin == Origin(channel="slack", chat="C00FAKECHAN1", member="alice", thread=ts)


async def test_direct_message_from_a_member_becomes_a_task(
    client: httpx.AsyncClient, redis: aioredis.Redis, keys: Keys
) -> None:
    assert (await post(client, DIRECT)).status_code == 200

    await wait_for_stream(redis, keys.inbox("ceo"), 1)
    [task] = await inbox(redis, keys)
    assert task.text == "Hey!"
    assert task.origin is not None
    assert (task.origin.chat, task.origin.thread) == ("D0A5319PS02", "1767377001.319859")


async def test_unknown_user_is_answered_in_the_thread_and_nothing_is_published(
    client: httpx.AsyncClient,
    fake: FakeSlack,
    slack: SlackChannel,
    redis: aioredis.Redis,
    keys: Keys,
) -> None:
    stranger = {**MENTION, "event": {**MENTION["event"], "user": "U0STRANGER"}}

    await post(client, stranger)

    [answer] = await wait_until(_value(fake.posted), what="the refusal posted")
    assert answer.body["channel"] == "C00FAKECHAN1"
    assert answer.body["thread_ts"] == MENTION["event"]["ts"]
    await slack.aclose()
    assert await inbox(redis, keys) == []


async def test_retried_event_is_acknowledged_and_processed_once(
    client: httpx.AsyncClient, slack: SlackChannel, spy: Spy, redis: aioredis.Redis, keys: Keys
) -> None:
    first = await post(client, MENTION)
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    again = await post(client, MENTION, headers=retry)

    assert (first.status_code, again.status_code) == (200, 200)
    await slack.aclose()  # both deliveries handled by the gateway
    assert len(spy.received) == 2
    assert len(await inbox(redis, keys)) == 1


async def test_event_the_gateway_has_not_stored_in_time_gets_503_and_is_stored_after(
    bus: Bus, fake: FakeSlack, redis: aioredis.Redis, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    slack = SlackChannel(TOKEN, signing_secret=SECRET, base_url=fake.base_url, ack_within=0.05)
    gate = asyncio.Event()
    slow = Spy(Gateway(CONFIG, bus, channels={"slack": slack}), gate=gate)
    transport = httpx.ASGITransport(app=Starlette(routes=slack.routes(slow)))
    async with httpx.AsyncClient(transport=transport, base_url="http://equipage") as http:
        response = await post(http, MENTION)
        assert response.status_code == 503  # Slack sends it again: nothing told it stored
        assert "not stored within" in caplog.text
        assert await redis.xlen(keys.inbox("ceo")) == 0  # still held at the gate
        gate.set()
        await wait_for_stream(redis, keys.inbox("ceo"), 1)
        seen = keys.seen("slack", str(MENTION["event_id"]))

        async def stored() -> bool:
            # Stored, and safe on a replica where there is one (equipage.replication).
            return await redis.get(seen) not in (None, CLAIMED.encode())

        await wait_until(stored, what="the first delivery marked stored")
        retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"}
        again = await post(http, MENTION, headers=retry)

    assert again.status_code == 200  # a duplicate of what was stored
    await slack.aclose()
    assert len(await inbox(redis, keys)) == 1


async def test_slacks_retry_while_the_first_delivery_is_stored_gets_503_so_a_failed_store_is_kept(
    fake: FakeSlack, redis: aioredis.Redis, keys: Keys
) -> None:
    # Answered 200 as a duplicate, the retry would have lost the message when the first
    # delivery's store then failed: Slack does not send again after a 2xx.
    bus = FirstStoreStalls(redis, keys)
    slack = SlackChannel(TOKEN, signing_secret=SECRET, base_url=fake.base_url, ack_within=0.05)
    gateway = Gateway(CONFIG, bus, channels={"slack": slack})
    transport = httpx.ASGITransport(app=Starlette(routes=slack.routes(gateway)))
    seen = keys.seen("slack", str(MENTION["event_id"]))
    async with httpx.AsyncClient(transport=transport, base_url="http://equipage") as http:
        first = await post(http, MENTION)
        retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
        again = await post(http, MENTION, headers=retry)
        bus.release.set()

        async def forgotten() -> bool:
            return not await redis.exists(seen)

        await wait_until(forgotten, what="the failed first delivery forgotten")
        retry = {"X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": "http_error"}
        last = await post(http, MENTION, headers=retry)

    assert (first.status_code, again.status_code, last.status_code) == (503, 503, 200)
    await slack.aclose()
    assert len(await inbox(redis, keys)) == 1


async def test_event_is_answered_200_only_once_the_gateway_has_stored_it(
    client: httpx.AsyncClient, redis: aioredis.Redis, keys: Keys
) -> None:
    response = await post(client, DIRECT)

    assert response.status_code == 200
    assert await redis.xlen(keys.inbox("ceo")) == 1  # no waiting: stored before the answer


async def test_approve_button_reaches_the_gateway_as_the_approve_command(
    client: httpx.AsyncClient, fake: FakeSlack, redis: aioredis.Redis, keys: Keys
) -> None:
    question = Approval(id="3f9a1c2e", role="ceo", thread="slack:C00FAKECHAN1", text="Publish?")
    await Approvals(redis, keys).open(question, "ceo:slack:C00FAKECHAN1")
    pressed = {"action_id": "approve", "value": "approve:3f9a1c2e"}
    action = {**ACTIONS["action"], "actions": [{**ACTIONS["action"]["actions"][0], **pressed}]}

    response = await post(client, {"payload": json.dumps(action)}, form=True)

    assert response.status_code == 200
    await wait_for_stream(redis, keys.inbox("ceo"), 1)
    [resume] = await inbox(redis, keys)
    assert resume.kind is Kind.ANSWER
    assert resume.answer is not None
    assert (resume.answer.question_id, resume.answer.approved) == ("3f9a1c2e", True)
    [said] = await wait_until(_value(fake.posted), what="the approval confirmed")
    assert said.body["text"].startswith("Approved 3f9a1c2e")
    assert said.body["thread_ts"] == action["container"]["thread_ts"]


async def test_slash_command_is_acknowledged_ephemerally_and_becomes_a_task(
    client: httpx.AsyncClient, redis: aioredis.Redis, keys: Keys
) -> None:
    command = {**COMMANDS["slashCommandWithArgs"], "command": "/equipage"}

    response = await post(client, command, form=True)

    assert response.status_code == 200
    assert response.json()["response_type"] == "ephemeral"
    await wait_for_stream(redis, keys.inbox("ceo"), 1)
    [task] = await inbox(redis, keys)
    assert (task.text, task.sender) == ("some arguments here", "member:bob")


def test_recorded_payloads_translate_to_what_people_meant() -> None:
    mention = incoming(MENTION)
    command = incoming(COMMANDS["slashCommand"])

    assert mention is not None and (mention.text, mention.message_id) == ("Hey", "Ev00MENTION1")
    assert command is not None and command.text == "/help"  # a bare command asks for help
    assert command.message_id == COMMANDS["slashCommand"]["trigger_id"]
    assert incoming(ACTIONS["action"]) is None  # a button that is not ours
    assert incoming(DM["dmRequest"]) is None  # a channel message without a mention
    assert incoming(ACTIONS["reaction"]) is None


def test_bot_posts_are_ignored_and_an_edited_direct_message_is_marked_edited() -> None:
    event = DIRECT["event"]
    ours = {**DIRECT, "event": {**event, "bot_id": "B01"}}
    joined = {**DIRECT, "event": {**event, "subtype": "channel_join"}}
    changed = {
        **DIRECT,
        "event": {
            **event,
            "subtype": "message_changed",
            "message": {"user": FOUNDER, "text": "Hey, all of you!", "ts": event["ts"]},
            "previous_message": {"user": FOUNDER, "text": "Hey!", "ts": event["ts"]},
        },
    }

    edit = incoming(changed)

    assert incoming(ours) is None and incoming(joined) is None
    assert edit is not None
    assert (edit.text, edit.edited, edit.thread) == ("Hey, all of you!", True, event["ts"])


# -- sending ------------------------------------------------------------------------------------
async def test_question_is_posted_in_its_thread_with_approve_and_reject_buttons(
    slack: SlackChannel, fake: FakeSlack
) -> None:
    question = Question(id="3f9a1c2e", text="Shall I publish it?")
    text = "Here is the launch post <draft> & notes.\n\nShall I publish it?"

    await slack.send(
        Outgoing(channel="slack", chat="C1", text=text, thread="1.2", question=question)
    )

    [posted] = fake.posted
    assert (posted.body["channel"], posted.body["thread_ts"]) == ("C1", "1.2")
    section, actions = posted.blocks
    assert section["type"] == "section" and actions["type"] == "actions"
    assert section["text"]["text"].startswith("Here is the launch post &lt;draft&gt; &amp; notes")
    approve, reject = actions["elements"]
    assert (approve["text"]["text"], approve["style"], approve["action_id"]) == (
        "Approve",
        "primary",
        "approve",
    )
    assert (approve["value"], reject["value"]) == ("approve:3f9a1c2e", "reject:3f9a1c2e")
    assert (reject["text"]["text"], reject["style"]) == ("Reject", "danger")


async def test_question_worded_for_a_french_founder_has_french_buttons(
    slack: SlackChannel, fake: FakeSlack
) -> None:
    question = Question(id="3f9a1c2e", text="Je le publie ?")
    budget = Question(id="b1", text="Le plafond est atteint.", topic="budget")

    await slack.send(
        Worded(channel="slack", chat="C1", text="Voici le post.", question=question, language="fr")
    )
    await slack.send(
        Worded(channel="slack", chat="C1", text="Budget", question=budget, language="fr")
    )

    labels = [[(b["text"]["text"], b["value"]) for b in posted.buttons] for posted in fake.posted]
    assert labels == [
        [("Approuver", "approve:3f9a1c2e"), ("Refuser", "reject:3f9a1c2e")],
        [("Reprendre", "approve:b1"), ("Arrêter", "reject:b1")],
    ]


async def test_long_question_is_cut_into_sections_under_slacks_limit(
    slack: SlackChannel, fake: FakeSlack
) -> None:
    text = "\n".join(f"line {n:05d} " + "x" * 80 for n in range(100))  # about 9,000 chars
    question = Question(id="q1", text="Go?")

    await slack.send(Outgoing(channel="slack", chat="C1", text=text, question=question))

    [posted] = fake.posted
    *sections, actions = posted.blocks
    assert len(sections) >= 3 and actions["type"] == "actions"
    texts = [s["text"]["text"] for s in sections if s["type"] == "section"]
    assert len(texts) == len(sections)
    assert all(len(t) <= MAX_SECTION for t in texts)
    assert "".join(texts) == text


async def test_question_too_long_for_one_message_has_its_buttons_on_the_last(
    slack: SlackChannel, fake: FakeSlack
) -> None:
    text = ("word " * 10_000).strip()  # 50,000 chars: over 13 sections of 3,000
    question = Question(id="q1", text="Go?")

    await slack.send(Outgoing(channel="slack", chat="C1", text=text, question=question))

    first, last = fake.posted
    assert [b["type"] for b in first.blocks] == ["section"] * 13
    assert last.blocks[-1]["type"] == "actions"
    assert all(len(p.text) <= MAX_TEXT for p in fake.posted)


def test_text_is_cut_at_spaces_and_never_inside_an_escaped_character() -> None:
    assert split("aaaa bbbb cccc", 10) == ["aaaa bbbb ", "cccc"]
    assert split("a" * 10 + "&amp;" + "b" * 10, 12) == ["a" * 10, "&amp;" + "b" * 7, "bbb"]


async def test_text_over_slacks_limit_goes_in_several_messages_a_second_apart(
    slack: SlackChannel, fake: FakeSlack
) -> None:
    text = ("word " * 9_000).strip()  # 45,000 chars

    await slack.send(Outgoing(channel="slack", chat="C1", text=text))

    first, second = fake.posted
    assert all(len(p.text) <= MAX_TEXT for p in fake.posted)
    assert first.text + second.text == text
    assert second.at - first.at >= 0.95


async def test_posts_to_one_channel_are_paced_but_other_channels_are_not_held(
    slack: SlackChannel, fake: FakeSlack
) -> None:
    await asyncio.gather(
        slack.send(Outgoing(channel="slack", chat="C1", text="one")),
        slack.send(Outgoing(channel="slack", chat="C1", text="two")),
        slack.send(Outgoing(channel="slack", chat="C2", text="elsewhere")),
    )

    at = {p.body["text"]: p.at for p in fake.posted}
    assert abs(at["two"] - at["one"]) >= 0.95
    assert abs(at["elsewhere"] - min(at["one"], at["two"])) < 0.5


async def test_rate_limit_is_waited_out_as_retry_after_says(
    slack: SlackChannel, fake: FakeSlack
) -> None:
    fake.rate_limit_next(retry_after=1)
    started = time.monotonic()

    await slack.send(Outgoing(channel="slack", chat="C1", text="hello"))

    [posted] = fake.posted
    assert fake.rejected == [(429, "chat.postMessage")]
    assert posted.at - started >= 1.0


async def test_rate_limit_that_persists_raises_so_the_gateway_retries_later(
    slack: SlackChannel, fake: FakeSlack
) -> None:
    for _ in range(3):
        fake.rate_limit_next(retry_after=0)

    with pytest.raises(SlackApiError):
        await slack.send(Outgoing(channel="slack", chat="C1", text="hello"))

    assert fake.posted == [] and len(fake.rejected) == 3


async def test_wrong_bot_token_raises(fake: FakeSlack) -> None:
    channel = SlackChannel("xoxb-wrong", signing_secret=SECRET, base_url=fake.base_url)

    with pytest.raises(SlackApiError, match="invalid_auth"):
        await channel.send(Outgoing(channel="slack", chat="C1", text="hello"))


async def test_outbox_reply_is_delivered_by_the_gateway_in_its_slack_thread(
    bus: Bus, slack: SlackChannel, fake: FakeSlack
) -> None:
    gateway = Gateway(CONFIG, bus, channels={"slack": slack})
    origin = Origin(channel="slack", chat="C1", member="alice", thread="17.5")
    await bus.publish(
        Envelope(
            kind=Kind.REPLY,
            company="acme",
            to="human",
            sender="ceo",
            thread="slack:C1:17.5",
            text="Done.",
            origin=origin,
        )
    )
    stop = asyncio.Event()
    task = asyncio.create_task(gateway.deliver("gw-slack", stop, block_ms=50))
    try:
        [posted] = await wait_until(_value(fake.posted), what="the reply posted")
    finally:
        stop.set()
        await task

    assert (posted.body["text"], posted.body["thread_ts"]) == ("Done.", "17.5")


# -- socket mode ------------------------------------------------------------------------------
@dataclass
class Live:
    """A socket-mode channel connected to the fake, with the gateway spy it hands messages to."""

    channel: SlackChannel
    spy: Spy
    stop: asyncio.Event


@contextlib.asynccontextmanager
async def running(channel: SlackChannel, spy: Spy) -> AsyncIterator[asyncio.Event]:
    """``channel.run`` in a task until the block ends; yields the stop event."""
    stop = asyncio.Event()
    task = asyncio.create_task(channel.run(spy, stop))
    try:
        yield stop
    finally:
        stop.set()
        await task


@pytest.fixture
async def live(fake: FakeSlack, bus: Bus) -> AsyncIterator[Live]:
    channel = SlackChannel(TOKEN, app_token=APP_TOKEN, mode="socket", base_url=fake.base_url)
    spy = Spy(Gateway(CONFIG, bus, channels={"slack": channel}))
    async with running(channel, spy) as stop:
        await wait_until(_count(fake, "connected", 1), what="the socket connected")
        yield Live(channel, spy, stop)
    await channel.aclose()


async def acked(fake: FakeSlack, envelope_id: str) -> Ack:
    async def probe() -> Ack | None:
        return next((ack for ack in fake.acks if ack.envelope_id == envelope_id), None)

    ack: Ack = await wait_until(probe, what=f"envelope {envelope_id} acknowledged")
    return ack


async def test_mention_over_the_socket_becomes_a_task_and_the_reply_goes_in_its_thread(
    live: Live, fake: FakeSlack, bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    envelope = fake.push("events_api", MENTION)

    await wait_for_stream(redis, keys.inbox("ceo"), 1)
    [task] = await inbox(redis, keys)
    ts = MENTION["event"]["ts"]
    assert (task.kind, task.text, task.sender) == (Kind.TASK, "Hey", "member:alice")
    assert task.origin == Origin(channel="slack", chat="C00FAKECHAN1", member="alice", thread=ts)
    assert (await acked(fake, envelope)).payload is None
    reply = Envelope(
        kind=Kind.REPLY,
        company="acme",
        to="human",
        sender="ceo",
        thread=task.thread,
        text="On it.",
        origin=task.origin,
    )
    await bus.publish(reply)
    delivering = asyncio.create_task(live.spy.gateway.deliver("gw-slack", live.stop, block_ms=50))
    [posted] = await wait_until(_value(fake.posted), what="the reply posted")
    live.stop.set()
    await delivering
    assert posted.body == {"channel": "C00FAKECHAN1", "text": "On it.", "thread_ts": ts}


async def test_socket_envelope_is_acked_only_once_the_gateway_has_stored_it(
    live: Live, fake: FakeSlack, redis: aioredis.Redis, keys: Keys
) -> None:
    envelope = fake.push("events_api", DIRECT)

    await acked(fake, envelope)
    assert await redis.xlen(keys.inbox("ceo")) == 1  # no waiting: stored before the ack


async def test_socket_envelope_the_gateway_has_not_stored_in_time_is_not_acked(
    fake: FakeSlack, bus: Bus, redis: aioredis.Redis, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    channel = SlackChannel(
        TOKEN, app_token=APP_TOKEN, mode="socket", base_url=fake.base_url, ack_within=0.05
    )
    spy = Spy(Gateway(CONFIG, bus, channels={"slack": channel}), gate=asyncio.Event())
    async with running(channel, spy):
        await wait_until(_count(fake, "connected", 1), what="the socket connected")
        late = fake.push("events_api", DIRECT)
        await wait_until(lambda: _true("not stored within" in caplog.text), what="time out")
        reaction = fake.push("events_api", ACTIONS["reaction"])
        await acked(fake, reaction)  # the socket goes on meanwhile
        assert spy.gate is not None
        spy.gate.set()
        await channel.aclose()

    assert await redis.xlen(keys.inbox("ceo")) == 1
    assert late not in [ack.envelope_id for ack in fake.acks]


async def test_envelope_the_crew_does_not_read_is_acked_all_the_same(
    live: Live, fake: FakeSlack
) -> None:
    reaction = fake.push("events_api", ACTIONS["reaction"])
    channel_chatter = fake.push("events_api", DM["dmRequest"])

    await acked(fake, reaction)
    await acked(fake, channel_chatter)
    await live.channel.aclose()
    assert live.spy.received == []


async def test_event_delivered_twice_over_the_socket_is_acked_twice_and_processed_once(
    live: Live, fake: FakeSlack, redis: aioredis.Redis, keys: Keys
) -> None:
    first = fake.push("events_api", MENTION)
    await acked(fake, first)
    again = fake.push("events_api", MENTION, retry_attempt=1, retry_reason="timeout")

    await acked(fake, again)
    await wait_until(lambda: _true(len(live.spy.received) == 2), what="both deliveries")
    await live.channel.aclose()  # both handled by the gateway
    assert len(await inbox(redis, keys)) == 1


async def test_button_pressed_over_the_socket_arrives_as_the_approve_command(
    live: Live, fake: FakeSlack, redis: aioredis.Redis, keys: Keys
) -> None:
    question = Approval(id="3f9a1c2e", role="ceo", thread="slack:C00FAKECHAN1", text="Publish?")
    await Approvals(redis, keys).open(question, "ceo:slack:C00FAKECHAN1")
    pressed = {"action_id": "approve", "value": "approve:3f9a1c2e"}
    action = {**ACTIONS["action"], "actions": [{**ACTIONS["action"]["actions"][0], **pressed}]}

    envelope = fake.push("interactive", action)

    await wait_for_stream(redis, keys.inbox("ceo"), 1)
    [resume] = await inbox(redis, keys)
    assert resume.answer is not None
    assert (resume.answer.question_id, resume.answer.approved) == ("3f9a1c2e", True)
    assert live.spy.received[0].text == "/approve 3f9a1c2e"
    assert (await acked(fake, envelope)).payload is None
    [said] = await wait_until(_value(fake.posted), what="the approval confirmed")
    assert said.body["text"].startswith("Approved 3f9a1c2e")
    assert said.body["thread_ts"] == action["container"]["thread_ts"]


async def test_slash_command_over_the_socket_is_acked_ephemerally_and_becomes_a_task(
    live: Live, fake: FakeSlack, redis: aioredis.Redis, keys: Keys
) -> None:
    command = {**COMMANDS["slashCommandWithArgs"], "command": "/equipage"}

    envelope = fake.push("slash_commands", command)

    ack = await acked(fake, envelope)
    assert ack.payload == WORKING
    await wait_for_stream(redis, keys.inbox("ceo"), 1)
    [task] = await inbox(redis, keys)
    assert (task.text, task.sender) == ("some arguments here", "member:bob")


async def test_client_reconnects_when_slack_asks_and_the_next_event_still_arrives(
    live: Live, fake: FakeSlack, redis: aioredis.Redis, keys: Keys
) -> None:
    fake.disconnect("refresh_requested")

    await wait_until(_count(fake, "connected", 2), what="a second socket")
    assert fake.opened == 2  # a fresh URL from apps.connections.open
    await wait_until(lambda: _true(fake.open_sockets == 1), what="the old socket closed")
    envelope = fake.push("events_api", DIRECT)
    await wait_for_stream(redis, keys.inbox("ceo"), 1)
    await acked(fake, envelope)


async def test_client_reconnects_when_the_socket_is_dropped(
    live: Live, fake: FakeSlack, redis: aioredis.Redis, keys: Keys
) -> None:
    fake.drop()

    await wait_until(_count(fake, "connected", 2), what="a new socket")
    fake.push("events_api", MENTION)
    await wait_for_stream(redis, keys.inbox("ceo"), 1)
    assert fake.opened == 2


async def test_run_returns_promptly_on_stop_and_leaves_no_socket_or_task_open(
    fake: FakeSlack, bus: Bus
) -> None:
    channel = SlackChannel(TOKEN, app_token=APP_TOKEN, mode="socket", base_url=fake.base_url)
    spy = Spy(Gateway(CONFIG, bus, channels={"slack": channel}))
    stop = asyncio.Event()
    task = asyncio.create_task(channel.run(spy, stop))
    await wait_until(_count(fake, "connected", 1), what="the socket connected")
    await acked(fake, fake.push("events_api", MENTION))

    started = time.monotonic()
    stop.set()
    await asyncio.wait_for(task, timeout=5)

    assert time.monotonic() - started < 2.0  # aiohttp would wait 10 s for an unanswered close
    assert [t for t in asyncio.all_tasks() if "slack_sdk" in _source(t)] == []
    await wait_until(lambda: _true(fake.open_sockets == 0), what="the server saw it close")
    await channel.aclose()


async def test_stop_while_the_socket_cannot_connect_returns_promptly_and_leaves_no_task(
    fake: FakeSlack, bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    fake.refuse_sockets = True
    channel = SlackChannel(TOKEN, app_token=APP_TOKEN, mode="socket", base_url=fake.base_url)
    stop = asyncio.Event()
    task = asyncio.create_task(channel.run(Spy(Gateway.__new__(Gateway)), stop))
    await wait_until(_count(fake, "refused", 1), what="a refused handshake")

    started = time.monotonic()
    stop.set()
    await asyncio.wait_for(task, timeout=5)

    assert time.monotonic() - started < 2.0  # not after the client's 5 s retry pause
    assert [t for t in asyncio.all_tasks() if "slack_sdk" in _source(t)] == []
    assert "Failed to connect" in caplog.text and APP_TOKEN not in caplog.text
    # The handshake error names the one-use socket URL, in the message and the traceback.
    ours = [r for r in caplog.records if r.name.startswith("channels.")]
    assert any("ticket=<secret>" in (r.exc_text or "") for r in ours)
    assert not any(re.search(r"ticket=[0-9a-f]{6}", f"{r.getMessage()}{r.exc_text}") for r in ours)


@pytest.mark.parametrize(
    ("app_token", "error"),
    [("xapp-1-not-the-token", "invalid_auth"), (TOKEN, "not_allowed_token_type")],
)
async def test_refused_app_token_stops_socket_mode_with_the_way_to_fix_it(
    fake: FakeSlack, app_token: str, error: str
) -> None:
    channel = SlackChannel(TOKEN, app_token=app_token, mode="socket", base_url=fake.base_url)

    with pytest.raises(ConfigError, match=rf"refused the app-level token \({error}\)") as raised:
        await asyncio.wait_for(channel.run(Spy(Gateway.__new__(Gateway)), asyncio.Event()), 5)

    assert "connections:write" in str(raised.value)
    assert fake.connected == 0 and fake.rejected == [(200, "apps.connections.open")]


async def test_socket_mode_debug_logs_carry_no_message_text_token_or_socket_ticket(
    fake: FakeSlack, bus: Bus, redis: aioredis.Redis, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    said, answered = "our margin on Acme is 37 percent", "the Acme margin stays 37 percent"
    event = {**MENTION, "event": {**MENTION["event"], "text": f"<@U00FAKEBOT01> {said}"}}
    channel = SlackChannel(TOKEN, app_token=APP_TOKEN, mode="socket", base_url=fake.base_url)
    spy = Spy(Gateway(CONFIG, bus, channels={"slack": channel}))
    async with running(channel, spy) as stop:
        await wait_until(_count(fake, "connected", 1), what="the socket connected")
        await acked(fake, fake.push("events_api", event))
        [task] = [e for e in await wait_for_stream(redis, keys.inbox("ceo"), 1)]
        origin = Envelope.decode(task[1][b"env"]).origin
        reply = Envelope(kind=Kind.REPLY, company="acme", to="human", sender="ceo",
                         thread="slack:x", text=answered, origin=origin)  # fmt: skip
        await bus.publish(reply)
        delivering = asyncio.create_task(spy.gateway.deliver("gw-slack", stop, block_ms=50))
        await wait_until(_value(fake.posted), what="the reply posted")
        stop.set()
        await delivering
    await channel.aclose()

    # The fake's own server (uvicorn) logs what it receives: it is Slack's side, not ours.
    ours = [r for r in caplog.records if not r.name.startswith("uvicorn")]
    logged = "\n".join(record.getMessage() for record in ours)
    assert "Received message" in logged and "Sending a request" in logged  # debug is on
    assert "Failed to" not in logged
    for secret in (said, answered, MENTION["token"], APP_TOKEN, TOKEN):
        assert secret not in logged, f"{secret!r} is in the logs"
    assert re.search(r"ticket=[0-9a-f]{6}", logged) is None


# -- files --------------------------------------------------------------------------------------
PDF = b"%PDF-1.4\n% appel d'offres : h\xc3\xa9bergement souverain\n" + b"0" * 2_000
FILE_NAME = "Appel d'offres été.pdf"


def shared(fake: FakeSlack, *, size: int = len(PDF)) -> dict[str, Any]:
    """The recorded direct message, as Slack sends it when a file comes with it.

    The file object's fields are those of Slack's documented file object, written out.
    """
    fake.files[f"T00FAKE00AA-F0A1B2C3D4E/{FILE_NAME}"] = PDF
    file = {
        "id": "F0A1B2C3D4E",
        "name": FILE_NAME,
        "title": FILE_NAME,
        "mimetype": "application/pdf",
        "filetype": "pdf",
        "size": size,
        "mode": "hosted",
        "url_private": fake.file_url(f"T00FAKE00AA-F0A1B2C3D4E/{FILE_NAME}"),
        "url_private_download": fake.file_url(f"T00FAKE00AA-F0A1B2C3D4E/{FILE_NAME}"),
    }
    gone = {"id": "F0GONE00000", "mode": "tombstone"}  # a file deleted since
    event = {**DIRECT["event"], "subtype": "file_share", "files": [file, gone]}
    event["text"] = "Peux-tu lire ce dossier ?"
    return {**DIRECT, "event": event, "event_id": "Ev00FILE0001"}


def test_direct_message_with_a_file_carries_it_as_an_attachment(fake: FakeSlack) -> None:
    message = incoming(shared(fake))

    assert message is not None and message.text == "Peux-tu lire ce dossier ?"
    [attachment] = message.attachments  # the deleted file has nothing to fetch
    assert (attachment.name, attachment.mime, attachment.size) == (
        FILE_NAME,
        "application/pdf",
        len(PDF),
    )
    assert attachment.ref.endswith("/Appel%20d%27offres%20%C3%A9t%C3%A9.pdf")


async def test_shared_file_is_downloaded_with_the_bot_token(
    slack: SlackChannel, fake: FakeSlack
) -> None:
    message = incoming(shared(fake))
    assert message is not None

    data = await slack.download(message.attachments[0], limit=1 << 20)

    assert isinstance(slack, Downloader)
    assert data == PDF


async def test_file_larger_than_the_limit_is_refused(slack: SlackChannel, fake: FakeSlack) -> None:
    said_small = incoming(shared(fake, size=10))  # a size that lies: the stream is cut
    said_large = incoming(shared(fake))
    assert said_small is not None and said_large is not None

    with pytest.raises(DocumentRefused, match=rf"^{FILE_NAME}: it is more than 1,000 bytes"):
        await slack.download(said_small.attachments[0], limit=1_000)
    with pytest.raises(DocumentRefused, match=r"2,0\d\d bytes, more than 1,000"):
        await slack.download(said_large.attachments[0], limit=1_000)


async def test_file_that_is_not_on_slack_is_refused_and_the_token_never_sent(
    slack: SlackChannel,
) -> None:
    for ref in ("https://files.example.com/x.pdf", "http://files.slack.com/x.pdf"):
        stranger = Attachment(name="x.pdf", mime="application/pdf", ref=ref)
        with pytest.raises(DocumentRefused, match="not a Slack file"):
            await slack.download(stranger, limit=1_000)


async def test_file_the_token_may_not_read_says_which_scope_to_add(fake: FakeSlack) -> None:
    message = incoming(shared(fake))
    assert message is not None
    channel = SlackChannel("xoxb-wrong", signing_secret=SECRET, base_url=fake.base_url)

    with pytest.raises(SourceError, match="files:read"):
        await channel.download(message.attachments[0], limit=1 << 20)


async def test_file_shared_over_the_socket_reaches_the_task_as_an_attachment(
    live: Live, fake: FakeSlack, redis: aioredis.Redis, keys: Keys
) -> None:
    fake.push("events_api", shared(fake))

    await wait_for_stream(redis, keys.inbox("ceo"), 1)
    [task] = await inbox(redis, keys)
    assert task.text == "Peux-tu lire ce dossier ?"
    assert [a.name for a in task.attachments] == [FILE_NAME]
    assert await live.channel.download(task.attachments[0], limit=1 << 20) == PDF


# -- setup --------------------------------------------------------------------------------------
async def test_channel_is_a_platform_channel_and_http_mode_needs_the_signing_secret(
    fake: FakeSlack,
) -> None:
    channel = SlackChannel(TOKEN, signing_secret=SECRET, base_url=fake.base_url)

    assert isinstance(channel, PlatformChannel)
    await channel.run(Spy(Gateway.__new__(Gateway)), asyncio.Event())  # HTTP mode: at once
    with pytest.raises(ConfigError, match="signing secret"):
        SlackChannel(TOKEN)
    with pytest.raises(ConfigError, match="app-level token"):
        SlackChannel(TOKEN, mode="socket")


def _count(fake: FakeSlack, name: str, at_least: int) -> Any:
    async def probe() -> bool:
        count: int = getattr(fake, name)
        return count >= at_least

    return probe


def _source(task: asyncio.Task[Any]) -> str:
    code = getattr(task.get_coro(), "cr_code", None)
    return code.co_filename if code is not None else ""


async def _true(value: bool) -> bool:
    return value


def _value(items: list[Any]) -> Any:
    async def probe() -> list[Any]:
        return list(items)

    return probe


# -- answered questions -------------------------------------------------------------------------
QUESTION_ID = "3f9a1c2e"
CHAN = "C00FAKECHAN1"


async def asked(
    slack: SlackChannel,
    fake: FakeSlack,
    redis: aioredis.Redis,
    keys: Keys,
    *,
    topic: str = "approval",
    open_in_redis: bool = True,
) -> dict[str, Any]:
    """Post the question with its buttons as the crew would; returns the message posted."""
    text = "Voici le post de lancement.\n\nOn publie ?"
    if open_in_redis:
        approval = Approval(
            id=QUESTION_ID, role="ceo", thread=f"slack:{CHAN}", text=text, topic=topic
        )
        await Approvals(redis, keys).open(approval, f"ceo:slack:{CHAN}")
    question = Question(id=QUESTION_ID, text=text, topic=topic)
    thread = ACTIONS["action"]["container"]["thread_ts"]
    await slack.send(
        Outgoing(channel="slack", chat=CHAN, text=text, thread=thread, question=question)
    )
    [posted] = fake.posted
    return fake.message(CHAN, posted.ts)


def press_on(message: dict[str, Any], verb: str, *, by: str = FOUNDER) -> dict[str, Any]:
    """The recorded block_actions payload, as Slack sends it for a press on ``message``."""
    action = json.loads(json.dumps(ACTIONS["action"]))
    button = next(
        e
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["value"] == f"{verb}:{QUESTION_ID}"
    )
    action["actions"] = [{**action["actions"][0], **button, "block_id": "P0z+f"}]
    action["user"]["id"] = by
    action["container"]["message_ts"] = message["ts"]
    action["message"] = message
    return dict(action)


async def answers(redis: aioredis.Redis, keys: Keys) -> list[Envelope]:
    return [e for e in await inbox(redis, keys) if e.kind is Kind.ANSWER]


@pytest.mark.parametrize(
    ("verb", "topic", "line"),
    [
        ("approve", "approval", "✓ Approved by Alice"),
        ("reject", "approval", "✗ Rejected by Alice"),
        ("approve", "budget", "✓ Resumed by Alice"),
    ],
)
async def test_accepted_button_press_replaces_the_buttons_with_who_decided(
    client: httpx.AsyncClient,
    slack: SlackChannel,
    fake: FakeSlack,
    redis: aioredis.Redis,
    keys: Keys,
    verb: str,
    topic: str,
    line: str,
) -> None:
    question = await asked(slack, fake, redis, keys, topic=topic)

    response = await post(client, {"payload": json.dumps(press_on(question, verb))}, form=True)

    assert response.status_code == 200
    [updated] = await wait_until(_value(fake.updated), what="the question updated")
    assert (updated.body["channel"], updated.body["ts"]) == (CHAN, question["ts"])
    after = fake.message(CHAN, question["ts"])
    *sections, context = blocks(after)
    assert sections == question["blocks"][:-1]  # the question's text, untouched
    assert context == {"type": "context", "elements": [{"type": "plain_text", "text": line}]}
    assert after["text"] == f"{question['text']}\n\n{line}"
    await slack.aclose()
    [resume] = await answers(redis, keys)
    assert resume.answer is not None and resume.answer.approved is (verb == "approve")
    said = fake.posted[-1]
    assert said.text.endswith(f"{QUESTION_ID}; the crew goes on.")


@pytest.mark.parametrize(
    ("by", "open_in_redis", "told"),
    [
        ("U0STRANGER", True, "not a member"),  # a forwarded button pressed by someone else
        ("U00FAKEUSER2", True, "Only the owner"),
        (FOUNDER, False, f"No open question {QUESTION_ID}"),
    ],
    ids=["stranger", "member-not-owner", "question-closed"],
)
async def test_button_press_the_gateway_refuses_leaves_the_question_as_it_is(
    client: httpx.AsyncClient,
    slack: SlackChannel,
    fake: FakeSlack,
    redis: aioredis.Redis,
    keys: Keys,
    by: str,
    open_in_redis: bool,
    told: str,
) -> None:
    question = await asked(slack, fake, redis, keys, open_in_redis=open_in_redis)

    await post(client, {"payload": json.dumps(press_on(question, "approve", by=by))}, form=True)

    await wait_until(lambda: _true(len(fake.posted) == 2), what="the refusal posted")
    await slack.aclose()
    assert told in fake.posted[-1].text
    assert fake.updated == []
    assert fake.message(CHAN, question["ts"]) == question
    assert await answers(redis, keys) == []


async def test_update_slack_refuses_still_lets_the_answer_through(
    client: httpx.AsyncClient,
    slack: SlackChannel,
    fake: FakeSlack,
    redis: aioredis.Redis,
    keys: Keys,
    caplog: pytest.LogCaptureFixture,
) -> None:
    question = await asked(slack, fake, redis, keys)
    gone = {**question, "ts": "1767300000.000100"}  # a message Slack does not know

    await post(client, {"payload": json.dumps(press_on(gone, "approve"))}, form=True)

    await wait_until(lambda: _true(len(fake.posted) == 2), what="the answer posted")
    await slack.aclose()
    assert f"question {QUESTION_ID} not marked answered: message_not_found" in caplog.text
    assert fake.posted[-1].text.startswith(f"Approved {QUESTION_ID}")
    assert len(await answers(redis, keys)) == 1


async def test_button_pressed_over_the_socket_marks_the_question_answered_too(
    live: Live, fake: FakeSlack, redis: aioredis.Redis, keys: Keys
) -> None:
    question = await asked(live.channel, fake, redis, keys)

    envelope = fake.push("interactive", press_on(question, "reject"))

    await acked(fake, envelope)
    [updated] = await wait_until(_value(fake.updated), what="the question updated")
    assert updated.ts == question["ts"]
    *_, context = blocks(fake.message(CHAN, question["ts"]))
    assert context["type"] == "context"
    assert context["elements"][0]["text"] == "✗ Rejected by Alice"


def test_a_press_without_the_message_blocks_gives_nothing_to_update() -> None:
    pressed = {"action_id": "approve", "value": "approve:3f9a1c2e"}
    action = {**ACTIONS["action"], "actions": [{**ACTIONS["action"]["actions"][0], **pressed}]}

    assert slack_blocks.pressed(action) is None  # the recorded message has no blocks
    assert slack_blocks.pressed({"type": "block_actions", "actions": ["junk"]}) is None


# -- stored before acknowledged -----------------------------------------------------------------
class Outage:
    """The gateway while Redis is down (nothing listens on its port), then once it is back."""

    def __init__(self, up: Gateway, keys: Keys) -> None:
        with socket.socket() as probe:  # a port nobody listens on once closed
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        # No retries: the refused connection fails the store at once, inside Slack's 3 s.
        self.dead = aioredis.Redis(port=port, retry=Retry(NoBackoff(), 0))
        self.down = Gateway(CONFIG, Bus(self.dead, keys), channels=up.channels)
        self.up = up
        self.failed = 0
        self.received: list[Incoming] = []

    async def receive(self, message: Incoming) -> list[Outgoing]:
        self.received.append(message)
        if self.failed == 0:
            try:
                return await self.down.receive(message)
            except Exception:
                self.failed += 1
                raise
        return await self.up.receive(message)


@pytest.fixture
async def outage(bus: Bus, slack: SlackChannel, keys: Keys) -> AsyncIterator[Outage]:
    down = Outage(Gateway(CONFIG, bus, channels={"slack": slack}), keys)
    yield down
    await down.dead.aclose()


async def test_event_that_cannot_be_stored_gets_503_and_slacks_retry_is_stored_once(
    slack: SlackChannel,
    outage: Outage,
    redis: aioredis.Redis,
    keys: Keys,
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport = httpx.ASGITransport(app=Starlette(routes=slack.routes(outage)))
    async with httpx.AsyncClient(transport=transport, base_url="http://equipage") as http:
        refused = await post(http, MENTION)
        retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"}
        stored = await post(http, MENTION, headers=retry)

    assert (refused.status_code, stored.status_code) == (503, 200)
    assert outage.failed == 1
    assert "Traceback" not in caplog.text
    await slack.aclose()
    [task] = await inbox(redis, keys)
    assert task.text == "Hey"


async def test_event_whose_store_fails_after_the_duplicate_check_is_stored_on_slacks_retry(
    client: httpx.AsyncClient, slack: SlackChannel, redis: aioredis.Redis, keys: Keys
) -> None:
    # The inbox key holds a string: the duplicate marker is set, then the XADD fails.
    await redis.set(keys.inbox("ceo"), "not a stream")
    refused = await post(client, MENTION)
    await redis.delete(keys.inbox("ceo"))
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"}
    stored = await post(client, MENTION, headers=retry)

    assert (refused.status_code, stored.status_code) == (503, 200)
    await slack.aclose()
    [task] = await inbox(redis, keys)
    assert task.text == "Hey"


class Cut:
    """A TCP way to the test Redis that breaks for good at the first ``at`` command through it."""

    def __init__(self, target: RedisTarget, *, at: bytes) -> None:
        self.target = target
        self.at = at
        self.cut = False
        self.port = 0
        self._server: asyncio.Server | None = None
        self._links: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> Cut:
        self._server = await asyncio.start_server(self._link, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        self._break()
        assert self._server is not None
        await self._server.wait_closed()

    def _break(self) -> None:
        self.cut = True
        assert self._server is not None
        self._server.close()  # the next connection is refused
        for writer in self._links:
            writer.close()

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        url = urlsplit(self.target.url or "")
        if self.target.socket or url.scheme == "unix":
            path = self.target.socket or url.path
            up_reader, up_writer = await asyncio.open_unix_connection(path)
        else:
            up_reader, up_writer = await asyncio.open_connection(url.hostname, url.port or 6379)
        self._links += [writer, up_writer]
        back = asyncio.create_task(self._pipe(up_reader, writer))
        while data := await reader.read(65536):
            if self.at in data.upper():
                self._break()
                break
            up_writer.write(data)
        up_writer.close()
        await asyncio.gather(back, return_exceptions=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()


@pytest.mark.single_server("cuts the link to one server with a proxy")
async def test_event_whose_redis_went_away_between_claim_and_store_is_taken_on_a_later_retry(
    fake: FakeSlack, bus: Bus, redis_target: RedisTarget, redis: aioredis.Redis, keys: Keys
) -> None:
    slack = SlackChannel(TOKEN, signing_secret=SECRET, base_url=fake.base_url)
    # The store is the bus's publish script (EVALSHA, or EVAL when the server lacks it).
    async with Cut(redis_target, at=b"EVAL") as way:
        cut = aioredis.Redis(port=way.port, retry=Retry(NoBackoff(), 0))
        gone = Gateway(CONFIG, Bus(cut, keys), channels={"slack": slack}, claim_for=0.2)
        transport = httpx.ASGITransport(app=Starlette(routes=slack.routes(gone)))
        async with httpx.AsyncClient(transport=transport, base_url="http://equipage") as http:
            refused = await post(http, MENTION)
        await cut.aclose()
    assert (way.cut, refused.status_code) == (True, 503)
    # Redis went away with the duplicate marker set: it lapses instead of lasting a week.
    marker = keys.seen("slack", MENTION["event_id"])
    await wait_until(_gone(redis, marker), what="the claim lapsed")
    up = Gateway(CONFIG, bus, channels={"slack": slack})
    transport = httpx.ASGITransport(app=Starlette(routes=slack.routes(up)))
    async with httpx.AsyncClient(transport=transport, base_url="http://equipage") as http:
        retry = {"X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": "http_error"}
        stored = await post(http, MENTION, headers=retry)

    assert stored.status_code == 200
    await slack.aclose()
    [task] = await inbox(redis, keys)
    assert task.text == "Hey"
    assert 0 < await redis.ttl(marker) <= SEEN_FOR  # stored: a duplicate for a week now


@pytest.mark.single_server("cuts the link to one server with a proxy")
async def test_event_stored_just_before_redis_went_away_gets_200(
    fake: FakeSlack, redis_target: RedisTarget, redis: aioredis.Redis, keys: Keys
) -> None:
    slack = SlackChannel(TOKEN, signing_secret=SECRET, base_url=fake.base_url)
    async with Cut(redis_target, at=b"EXPIRE") as way:
        cut = aioredis.Redis(port=way.port, retry=Retry(NoBackoff(), 0))
        gone = Gateway(CONFIG, Bus(cut, keys), channels={"slack": slack})
        transport = httpx.ASGITransport(app=Starlette(routes=slack.routes(gone)))
        async with httpx.AsyncClient(transport=transport, base_url="http://equipage") as http:
            response = await post(http, MENTION)
        await cut.aclose()

    assert (way.cut, response.status_code) == (True, 200)  # stored: Slack need not resend
    await slack.aclose()
    assert len(await inbox(redis, keys)) == 1


def _gone(redis: aioredis.Redis, key: str) -> Any:
    async def probe() -> bool:
        return not await redis.exists(key)

    return probe


async def test_envelope_that_cannot_be_stored_is_not_acked_and_its_redelivery_is_stored_once(
    fake: FakeSlack, bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    channel = SlackChannel(TOKEN, app_token=APP_TOKEN, mode="socket", base_url=fake.base_url)
    outage = Outage(Gateway(CONFIG, bus, channels={"slack": channel}), keys)
    async with running(channel, outage):  # type: ignore[arg-type]
        await wait_until(_count(fake, "connected", 1), what="the socket connected")
        lost = fake.push("events_api", MENTION)
        await wait_until(lambda: _true(outage.failed == 1), what="the store failed")
        again = fake.push("events_api", MENTION, retry_attempt=1, retry_reason="timeout")
        await acked(fake, again)
        await channel.aclose()
    await outage.dead.aclose()

    assert lost not in [ack.envelope_id for ack in fake.acks]
    [task] = await inbox(redis, keys)
    assert task.text == "Hey"


# -- malformed bodies ---------------------------------------------------------------------------
WRONG_TYPES: list[dict[str, Any]] = [
    {"type": "event_callback", "event_id": "Ev1", "event": "not an object"},
    {"type": "event_callback", "event_id": "Ev2", "event": {**MENTION["event"], "user": ["U1"]}},
    {**MENTION, "event": {**MENTION["event"], "ts": {"nested": 1}}},
    {"type": "block_actions", "actions": [7], "user": {"id": FOUNDER}, "channel": {"id": "C1"}},
    {"type": "block_actions", "actions": "approve", "user": "alice"},
]


@pytest.mark.parametrize("payload", WRONG_TYPES)
async def test_signed_event_with_fields_of_the_wrong_type_gets_400_and_one_warning(
    client: httpx.AsyncClient, spy: Spy, payload: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="channels.slack"):
        response = await post(client, payload)

    assert response.status_code == 400
    assert spy.received == []
    [line] = [r for r in caplog.records if r.name == "channels.slack"]
    assert line.levelno == logging.WARNING and line.exc_info is None
    assert "not an object" not in caplog.text and "nested" not in caplog.text


@pytest.mark.parametrize(
    "body",
    [b"[" * 5000 + b"]" * 5000, b'{"a":' * 5000 + b"1" + b"}" * 5000, b'{"text": "\xff\xfe"}'],
    ids=["array nested 5000 deep", "object nested 5000 deep", "invalid UTF-8"],
)
async def test_signed_body_nested_too_deep_or_not_utf8_gets_400_and_one_warning(
    client: httpx.AsyncClient, spy: Spy, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="channels.slack"):
        response = await post(client, body)

    assert response.status_code == 400
    assert spy.received == []
    [line] = [r for r in caplog.records if r.name == "channels.slack"]
    assert line.exc_info is None


async def test_envelope_with_fields_of_the_wrong_type_is_acked_and_logged_once(
    live: Live, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="channels.slack_socket"):
        envelope = fake.push("events_api", WRONG_TYPES[1])
        await acked(fake, envelope)

    assert live.spy.received == []
    [line] = [r for r in caplog.records if r.name == "channels.slack_socket"]
    assert line.levelno == logging.WARNING and line.exc_info is None
