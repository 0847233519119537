"""The Slack channel: signed requests to its routes, real slack_sdk against the fake Web API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import redis.asyncio as aioredis
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import Clock, SignatureVerifier
from starlette.applications import Starlette

from channels.gateway import Gateway
from channels.slack import MAX_SECTION, MAX_TEXT, SlackChannel, incoming, split, verify
from equipage.approvals import Approval, Approvals
from equipage.bus import Bus
from equipage.chat import Incoming, Outgoing, PlatformChannel
from equipage.config import CompanyConfig
from equipage.envelope import Envelope, Kind, Origin, Question
from equipage.errors import ConfigError
from equipage.keys import Keys
from equipage.testing import wait_for_stream, wait_until
from equipage.testing.fake_slack import FakeSlack, sign

FIXTURES = Path(__file__).parent / "fixtures" / "slack"
TOKEN = "xoxb-test-token"
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
    async with FakeSlack(TOKEN) as server:
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
    entries = await redis.xrange(keys.inbox("ceo"))
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


async def test_event_is_acknowledged_before_the_gateway_has_handled_it(
    bus: Bus, slack: SlackChannel, redis: aioredis.Redis, keys: Keys
) -> None:
    gate = asyncio.Event()
    slow = Spy(Gateway(CONFIG, bus, channels={"slack": slack}), gate=gate)
    transport = httpx.ASGITransport(app=Starlette(routes=slack.routes(slow)))
    async with httpx.AsyncClient(transport=transport, base_url="http://equipage") as http:
        response = await post(http, MENTION)

    assert response.status_code == 200
    await wait_until(_value(slow.received), what="the gateway called")
    assert await redis.xlen(keys.inbox("ceo")) == 0  # still held at the gate
    gate.set()
    await wait_for_stream(redis, keys.inbox("ceo"), 1)


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
    section, actions = posted.body["blocks"]
    assert section["text"]["text"].startswith("Here is the launch post &lt;draft&gt; &amp; notes")
    approve, reject = actions["elements"]
    assert (approve["text"]["text"], approve["style"], approve["action_id"]) == (
        "Approve",
        "primary",
        "approve",
    )
    assert (approve["value"], reject["value"]) == ("approve:3f9a1c2e", "reject:3f9a1c2e")
    assert (reject["text"]["text"], reject["style"]) == ("Reject", "danger")


async def test_long_question_is_cut_into_sections_under_slacks_limit(
    slack: SlackChannel, fake: FakeSlack
) -> None:
    text = "\n".join(f"line {n:05d} " + "x" * 80 for n in range(100))  # about 9,000 chars
    question = Question(id="q1", text="Go?")

    await slack.send(Outgoing(channel="slack", chat="C1", text=text, question=question))

    [posted] = fake.posted
    *sections, actions = posted.body["blocks"]
    assert len(sections) >= 3 and actions["type"] == "actions"
    assert all(len(s["text"]["text"]) <= MAX_SECTION for s in sections)
    assert "".join(s["text"]["text"] for s in sections) == text


async def test_question_too_long_for_one_message_has_its_buttons_on_the_last(
    slack: SlackChannel, fake: FakeSlack
) -> None:
    text = ("word " * 10_000).strip()  # 50,000 chars: over 13 sections of 3,000
    question = Question(id="q1", text="Go?")

    await slack.send(Outgoing(channel="slack", chat="C1", text=text, question=question))

    first, last = fake.posted
    assert [b["type"] for b in first.body["blocks"]] == ["section"] * 13
    assert last.body["blocks"][-1]["type"] == "actions"
    assert all(len(p.body["text"]) <= MAX_TEXT for p in fake.posted)


def test_text_is_cut_at_spaces_and_never_inside_an_escaped_character() -> None:
    assert split("aaaa bbbb cccc", 10) == ["aaaa bbbb ", "cccc"]
    assert split("a" * 10 + "&amp;" + "b" * 10, 12) == ["a" * 10, "&amp;" + "b" * 7, "bbb"]


async def test_text_over_slacks_limit_goes_in_several_messages_a_second_apart(
    slack: SlackChannel, fake: FakeSlack
) -> None:
    text = ("word " * 9_000).strip()  # 45,000 chars

    await slack.send(Outgoing(channel="slack", chat="C1", text=text))

    first, second = fake.posted
    assert all(len(p.body["text"]) <= MAX_TEXT for p in fake.posted)
    assert first.body["text"] + second.body["text"] == text
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


def _value(items: list[Any]) -> Any:
    async def probe() -> list[Any]:
        return list(items)

    return probe
