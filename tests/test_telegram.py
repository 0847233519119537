"""The Telegram channel: real python-telegram-bot against the fake Bot API, real gateway."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from starlette.applications import Starlette
from telegram.error import RetryAfter

from channels.gateway import Gateway
from channels.telegram import MAX_TEXT, TelegramChannel, incoming, split
from channels.telegram_text import with_line
from equipage.approvals import Approval, Approvals
from equipage.bus import Bus
from equipage.chat import Attachment, Downloader, Incoming, Outgoing, PlatformChannel
from equipage.config import CompanyConfig
from equipage.envelope import Envelope, Kind, Origin, Question
from equipage.errors import ConfigError
from equipage.keys import Keys
from equipage.testing import stream_entries, wait_for_stream, wait_until
from equipage.testing.fake_telegram import FakeTelegram
from tests.test_documents import FRENCH, pdf

# PTB 22 itself reads RetryAfter.retry_after while building the error, and warns.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"
)
FIXTURES = Path(__file__).parent / "fixtures" / "telegram"
TOKEN = "123456:SECRET-token-never-logged"
SECRET = "webhook-secret"
BOB = "12345678"  # from.id of nutgram_update_text.json
ALICE = "222222222"  # from.id of the callback_query fixtures
STRANGER = "7527593"  # from.id of vercel-chat_replay_telegram.json

CONFIG = CompanyConfig.model_validate(
    {
        "company": {"id": "acme", "name": "Acme", "profile": {"sells": "cloud hosting"}},
        "members": [
            {"id": "alice", "name": "Alice", "role": "owner", "identities": {"telegram": ALICE}},
            {"id": "bob", "name": "Bob", "role": "member", "identities": {"telegram": BOB}},
        ],
        "roles": {"ceo": {"description": "runs the company"}},
    }
)


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def pressed(data: str, *, update_id: int = 2) -> dict[str, Any]:
    """The real callback_query fixture, with our button's data."""
    update = fixture("nutgram_update_callback_query")
    update["callback_query"]["data"] = data
    update["update_id"] = update_id
    return update


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN) as server:
        yield server


@pytest.fixture
async def channel(fake: FakeTelegram) -> AsyncIterator[TelegramChannel]:
    telegram = TelegramChannel(TOKEN, base_url=fake.base_url, poll_timeout=1)
    try:
        yield telegram
    finally:
        await telegram.aclose()


@pytest.fixture
async def gateway(bus: Bus, channel: TelegramChannel) -> AsyncIterator[Gateway]:
    opened = Gateway(CONFIG, bus, channels={"telegram": channel})
    yield opened
    await opened.aclose()  # before the channel closes: it ends the typing tasks


@asynccontextmanager
async def polling(channel: TelegramChannel, gateway: Gateway) -> AsyncIterator[asyncio.Task[None]]:
    stop = asyncio.Event()
    task = asyncio.create_task(channel.run(gateway, stop))
    try:
        yield task
    finally:
        stop.set()
        await task


async def inbox(redis: aioredis.Redis, keys: Keys) -> list[Envelope]:
    return [Envelope.decode(f[b"env"]) for _, f in await stream_entries(redis, keys.inbox("ceo"))]


def sent_count(fake: FakeTelegram, count: int = 1) -> Any:
    async def probe() -> bool:
        return len(fake.sent) >= count

    return probe


# -- translation of real updates ---------------------------------------------------------------
def test_channel_satisfies_the_platform_channel_protocol(channel: TelegramChannel) -> None:
    assert isinstance(channel, PlatformChannel)
    assert channel.name == "telegram"


def test_real_text_update_becomes_an_incoming_keyed_by_update_id() -> None:
    assert incoming(fixture("nutgram_update_text")) == Incoming(
        channel="telegram", chat=BOB, user=BOB, text="aaaaaaaaaa", message_id="123456789"
    )


def test_command_with_parameters_keeps_its_text_for_the_gateway() -> None:
    message = incoming(fixture("nutgram_update_command_with_parameters"))

    assert message is not None
    assert (message.text, message.user, message.chat) == ("/register HR John Doe", "456", "456")


def test_edited_message_is_marked_edited() -> None:
    message = incoming(fixture("nutgram_update_edited_message"))

    assert message is not None
    assert (message.text, message.edited, message.message_id) == (
        "Editing this message",
        True,
        "62257549",
    )


def test_document_becomes_an_attachment_with_the_file_id_as_ref() -> None:
    message = incoming(fixture("nutgram_update_document"))

    assert message is not None
    assert message.text == ""
    assert message.attachments == (
        Attachment(
            name="document.pdf", mime="application/pdf", size=123456, ref="a1b2c34d5e6f7g8h9i"
        ),
    )


def test_document_caption_is_the_text() -> None:
    update = fixture("nutgram_update_document")
    update["message"]["caption"] = "Voici le devis signé"

    message = incoming(update)

    assert message is not None and message.text == "Voici le devis signé"


def test_button_press_becomes_the_approve_command_in_the_chat_of_the_question() -> None:
    assert incoming(pressed("approve:3f9a1c2e")) == Incoming(
        channel="telegram", chat=ALICE, user=ALICE, text="/approve 3f9a1c2e", message_id="2"
    )
    rejected = incoming(pressed("reject:3f9a1c2e"))
    assert rejected is not None and rejected.text == "/reject 3f9a1c2e"


def test_button_press_without_a_message_answers_in_the_pressers_chat() -> None:
    update = fixture("nutgram_update_callback_query_without_message")
    update["callback_query"]["data"] = "reject:3f9a1c2e"

    message = incoming(update)

    assert message is not None
    assert (message.chat, message.user, message.text) == (ALICE, ALICE, "/reject 3f9a1c2e")


def test_topic_message_keeps_its_thread() -> None:
    update = fixture("nutgram_update_text")
    update["message"].update(message_thread_id=42, is_topic_message=True)

    message = incoming(update)

    assert message is not None and message.thread == "42"


@pytest.mark.parametrize(
    "update",
    [
        fixture("nutgram_update_callback_query"),  # someone else's button data
        {"update_id": 9, "my_chat_member": {"chat": {"id": 1}}},
        {"update_id": 10, "channel_post": {"chat": {"id": -100}, "text": "news"}},
    ],
    ids=["foreign-button", "chat-member", "channel-post"],
)
def test_updates_nobody_wrote_to_the_crew_are_ignored(update: dict[str, Any]) -> None:
    assert incoming(update) is None


# -- splitting -------------------------------------------------------------------------------
def test_long_reply_is_split_at_paragraphs_and_keeps_every_character_in_order() -> None:
    paragraph = " ".join(["Le budget mensuel de l'hébergement baisse de 12 %."] * 30)
    text = "\n\n".join([paragraph] * 12)

    pieces = split(text)

    assert len(pieces) > 1
    assert "".join(pieces) == text
    assert all(0 < len(p) <= MAX_TEXT for p in pieces)
    assert all(p.endswith("\n\n") for p in pieces[:-1])


def test_text_without_paragraphs_is_split_between_words() -> None:
    text = " ".join(f"mot{i}" for i in range(3000))

    pieces = split(text)

    assert "".join(pieces) == text
    assert all(p.endswith(" ") for p in pieces[:-1])


def test_split_counts_emoji_as_two_units_and_never_yields_a_blank_piece() -> None:
    text = "😆" * 3000 + "\n" * 5000

    pieces = split(text)

    # Telegram counts UTF-16 units: 2048 emoji fill a message; trailing blank lines vanish.
    assert pieces == ["😆" * 2048, "😆" * 952 + "\n" * (MAX_TEXT - 2 * 952)]
    assert split("   \n ") == []


# -- polling against the fake Bot API ----------------------------------------------------------
async def test_polling_delivers_a_members_message_to_the_entry_roles_inbox(
    fake: FakeTelegram,
    channel: TelegramChannel,
    gateway: Gateway,
    redis: aioredis.Redis,
    keys: Keys,
) -> None:
    fake.push_update(fixture("nutgram_update_text"))

    async with polling(channel, gateway):
        await wait_for_stream(redis, keys.inbox("ceo"), 1)

    [task] = await inbox(redis, keys)
    assert task.kind is Kind.TASK
    assert (task.sender, task.thread, task.text) == ("member:bob", f"telegram:{BOB}", "aaaaaaaaaa")
    assert task.origin == Origin(channel="telegram", chat=BOB, member="bob")
    assert fake.sent == []


async def test_unknown_sender_gets_the_refusal_and_nothing_reaches_the_inbox(
    fake: FakeTelegram,
    channel: TelegramChannel,
    gateway: Gateway,
    redis: aioredis.Redis,
    keys: Keys,
) -> None:
    replay = fixture("vercel-chat_replay_telegram")
    fake.push_update(replay["mention"])

    async with polling(channel, gateway):
        await wait_until(sent_count(fake), what="the refusal sent")

    [refusal] = fake.sent
    assert refusal["chat_id"] == STRANGER
    assert "not a member" in refusal["text"]
    assert "parse_mode" not in refusal
    assert await inbox(redis, keys) == []


async def test_duplicate_update_is_processed_once(
    fake: FakeTelegram,
    channel: TelegramChannel,
    gateway: Gateway,
    redis: aioredis.Redis,
    keys: Keys,
) -> None:
    # Real update ids only grow; the library fixture's is 123456789, above the next one.
    update = {**fixture("nutgram_update_text"), "update_id": 1001}
    later = fixture("vercel-chat_replay_telegram")["followUp"]
    fake.push_update(update)
    fake.push_update(update)
    fake.push_update(later)  # a stranger's message: its refusal shows the batch was read

    async def confirmed() -> bool:
        return len(fake.called("getUpdates")) >= 2

    async with polling(channel, gateway):
        await wait_until(sent_count(fake), what="the whole batch handled")
        await wait_until(confirmed, what="the next poll")

    assert [t.text for t in await inbox(redis, keys)] == ["aaaaaaaaaa"]
    # The next poll confirms the batch with the following update_id.
    assert fake.called("getUpdates")[1]["offset"] == "1003"
    assert fake.updates == []


async def test_button_press_reaches_the_gateway_as_approve_and_stops_the_spinner(
    fake: FakeTelegram,
    channel: TelegramChannel,
    gateway: Gateway,
    redis: aioredis.Redis,
    keys: Keys,
) -> None:
    fake.push_update(pressed("approve:deadbeef"))

    async with polling(channel, gateway):
        await wait_until(sent_count(fake), what="the gateway's answer sent")

    assert [p["callback_query_id"] for p in fake.called("answerCallbackQuery")] == [
        "666728699048485871"
    ]
    [answer] = fake.sent
    assert answer["chat_id"] == ALICE
    assert answer["text"].startswith("No open question deadbeef")
    assert await inbox(redis, keys) == []


class FlakyReceiver:
    """A gateway whose Redis is down for the first message."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.failures = 1

    async def receive(self, message: Incoming) -> list[Outgoing]:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("redis is down")
        return await self.gateway.receive(message)


async def test_update_the_gateway_failed_on_is_handed_over_again(
    fake: FakeTelegram,
    channel: TelegramChannel,
    gateway: Gateway,
    redis: aioredis.Redis,
    keys: Keys,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake.push_update(fixture("nutgram_update_text"))
    stop = asyncio.Event()
    task = asyncio.create_task(channel.run(FlakyReceiver(gateway), stop))
    try:
        await wait_for_stream(redis, keys.inbox("ceo"), 1)
    finally:
        stop.set()
        await task

    assert [t.text for t in await inbox(redis, keys)] == ["aaaaaaaaaa"]
    assert "not handled; retrying" in caplog.text


def test_malformed_update_is_ignored_rather_than_raised() -> None:
    assert incoming({"update_id": 5, "message": {"from": {"id": 1}, "text": "no chat"}}) is None


async def test_stop_ends_run_promptly(
    fake: FakeTelegram, channel: TelegramChannel, gateway: Gateway
) -> None:
    async def long_polling() -> bool:
        return bool(fake.called("getUpdates"))

    async with polling(channel, gateway) as task:
        await wait_until(long_polling, what="the first long poll")
        started = time.monotonic()
    assert task.done()
    assert time.monotonic() - started < channel.poll_timeout + 1.5


async def test_rejected_token_stops_polling_with_a_config_error(
    fake: FakeTelegram, gateway: Gateway
) -> None:
    wrong = TelegramChannel("999:WRONG", base_url=fake.base_url, poll_timeout=1)
    try:
        with pytest.raises(ConfigError, match="BotFather"):
            await wrong.run(gateway, asyncio.Event())
    finally:
        await wrong.aclose()


async def test_token_never_appears_in_the_logs(
    fake: FakeTelegram,
    channel: TelegramChannel,
    gateway: Gateway,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.push_update(fixture("vercel-chat_replay_telegram")["mention"])

    async with polling(channel, gateway):
        await wait_until(sent_count(fake), what="the refusal sent")

    # The fake's own access log stands for Telegram's servers: only our side counts.
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("uvicorn"))
    assert "getUpdates" in ours
    assert TOKEN.split(":")[1] not in ours


# -- sending ----------------------------------------------------------------------------------
async def test_flood_control_retry_after_is_honoured_on_send(
    fake: FakeTelegram, channel: TelegramChannel
) -> None:
    fake.fail_next("sendMessage", 429, retry_after=1)
    started = time.monotonic()

    await channel.send(Outgoing(channel="telegram", chat=BOB, text="Bonjour"))

    assert time.monotonic() - started >= 0.9
    assert len(fake.called("sendMessage")) == 2
    assert [m["text"] for m in fake.sent] == ["Bonjour"]


async def test_fake_flood_error_has_the_shape_of_the_real_one(fake: FakeTelegram) -> None:
    real = fixture("nutgram_response_too_many_requests")
    fake.fail_next("sendMessage", 429, retry_after=14)

    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{fake.base_url}{TOKEN}/sendMessage", data={"chat_id": "1"})

    assert answer.status_code == 429
    assert answer.json() == real


async def test_long_flood_wait_goes_back_to_the_gateway(
    fake: FakeTelegram, channel: TelegramChannel
) -> None:
    fake.fail_next("sendMessage", 429, retry_after=3600)

    with pytest.raises(RetryAfter):
        await channel.send(Outgoing(channel="telegram", chat=BOB, text="Bonjour"))

    assert len(fake.called("sendMessage")) == 1
    assert fake.sent == []


async def test_long_reply_arrives_in_order_in_several_messages(
    fake: FakeTelegram, channel: TelegramChannel
) -> None:
    text = "\n".join(f"Ligne {i} : le coût baisse encore." for i in range(400))

    await channel.send(Outgoing(channel="telegram", chat=BOB, text=text))

    assert len(fake.sent) > 1
    assert all(len(m["text"]) <= MAX_TEXT for m in fake.sent)
    assert "".join(m["text"] for m in fake.sent) == text


async def test_question_gets_approve_and_reject_buttons_on_its_last_piece(
    fake: FakeTelegram, channel: TelegramChannel
) -> None:
    question = Question(id="3f9a1c2e", text="Shall I publish it?")
    text = "Voici le post.\n" * 600 + "Shall I publish it?"

    await channel.send(
        Outgoing(channel="telegram", chat=ALICE, text=text, question=question, thread="7")
    )

    *first, last = fake.sent
    assert first and all("reply_markup" not in m for m in first)
    assert last["reply_markup"] == {
        "inline_keyboard": [
            [
                {"text": "Approve", "callback_data": "approve:3f9a1c2e"},
                {"text": "Reject", "callback_data": "reject:3f9a1c2e"},
            ]
        ]
    }
    assert {m["message_thread_id"] for m in fake.sent} == {"7"}


async def test_budget_question_buttons_say_resume_and_stop(
    fake: FakeTelegram, channel: TelegramChannel
) -> None:
    question = Question(id="b1", text="Budget reached.", topic="budget")

    await channel.send(Outgoing(channel="telegram", chat=ALICE, text="Budget", question=question))

    [buttons] = fake.sent[0]["reply_markup"]["inline_keyboard"]
    assert [(b["text"], b["callback_data"]) for b in buttons] == [
        ("Resume", "approve:b1"),
        ("Stop", "reject:b1"),
    ]


async def test_typing_sends_the_typing_chat_action(
    fake: FakeTelegram, channel: TelegramChannel
) -> None:
    await channel.typing(BOB)

    assert fake.called("sendChatAction") == [{"chat_id": BOB, "action": "typing"}]


# -- webhook ------------------------------------------------------------------------------------
@asynccontextmanager
async def webhook(
    fake: FakeTelegram, gateway: Gateway, *, raise_app_exceptions: bool = True
) -> AsyncIterator[tuple[TelegramChannel, httpx.AsyncClient]]:
    hooked = TelegramChannel(TOKEN, base_url=fake.base_url, mode="webhook", webhook_secret=SECRET)
    app = Starlette(routes=hooked.routes(gateway))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://equipage") as client:
            yield hooked, client
    finally:
        await hooked.aclose()


async def test_webhook_with_the_right_secret_delivers_the_update(
    fake: FakeTelegram, gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    async with webhook(fake, gateway) as (hooked, client):
        await hooked.run(gateway, asyncio.Event())  # returns at once: webhooks feed it instead
        answer = await client.post(
            "/telegram/webhook",
            json=fixture("nutgram_update_text"),
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )

    assert answer.status_code == 200
    assert [t.text for t in await inbox(redis, keys)] == ["aaaaaaaaaa"]


@pytest.mark.parametrize("headers", [{}, {"X-Telegram-Bot-Api-Secret-Token": "guess"}])
async def test_webhook_without_the_right_secret_is_refused_and_delivers_nothing(
    fake: FakeTelegram,
    gateway: Gateway,
    redis: aioredis.Redis,
    keys: Keys,
    headers: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with webhook(fake, gateway) as (_, client):
        answer = await client.post(
            "/telegram/webhook", json=fixture("nutgram_update_text"), headers=headers
        )

    assert answer.status_code == 401
    assert "wrong or missing secret" in caplog.text
    assert await inbox(redis, keys) == []


@pytest.mark.parametrize(
    "body", [b"{not json", b"[1, 2]", b'{"update_id": 1, "pad": "' + b"x" * (1 << 20) + b'"}']
)
async def test_webhook_with_a_malformed_or_oversized_body_is_refused(
    fake: FakeTelegram, gateway: Gateway, redis: aioredis.Redis, keys: Keys, body: bytes
) -> None:
    async with webhook(fake, gateway) as (_, client):
        answer = await client.post(
            "/telegram/webhook",
            content=body,
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )

    assert answer.status_code == 400
    assert await inbox(redis, keys) == []


def shaped(**changes: Any) -> bytes:
    """The real text update with some of its fields changed to the wrong type."""
    update = fixture("nutgram_update_text")
    for path, value in changes.items():
        *parents, last = path.split("__")
        found = update
        for part in parents:
            found = found[part]
        found[last] = value
    return json.dumps(update).encode()


DEEP = b"[" * 5000 + b"]" * 5000  # Python's json raises RecursionError, not ValueError


@pytest.mark.parametrize(
    "body",
    [
        shaped(update_id="1"),
        shaped(message=[1, 2]),
        shaped(message__text=12345),
        shaped(message__chat={"id": "nope"}),
        shaped(message__from=["bob"]),
        json.dumps({"update_id": 9, "callback_query": "approve:3f9a"}).encode(),
        json.dumps(
            {"update_id": 9, "message": {"deep": json.loads(b"[" * 900 + b"]" * 900)}}
        ).encode(),
        DEEP,
        b'{"update_id": 1, "text": "caf\xe9"}',
        b"",
        b"not json at all",
    ],
    ids=[
        "update_id-string",
        "message-list",
        "text-number",
        "chat-id-string",
        "from-list",
        "callback-string",
        "message-without-chat",
        "nested-5000",
        "invalid-utf8",
        "empty",
        "not-json",
    ],
)
async def test_signed_webhook_of_the_wrong_shape_is_a_bad_request_with_one_log_line(
    fake: FakeTelegram,
    gateway: Gateway,
    redis: aioredis.Redis,
    keys: Keys,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
) -> None:
    async with webhook(fake, gateway) as (_, client):
        with caplog.at_level(logging.DEBUG):
            answer = await client.post(
                "/telegram/webhook",
                content=body,
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            )

    assert answer.status_code == 400
    [line] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert line.levelno == logging.WARNING and line.exc_info is None
    assert line.getMessage().startswith("telegram webhook refused: ")
    assert "aaaaaaaaaa" not in line.getMessage() and SECRET not in line.getMessage()
    assert await inbox(redis, keys) == []


async def test_webhook_failing_on_our_side_is_a_server_error_so_telegram_sends_again(
    fake: FakeTelegram, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    down = aioredis.Redis(port=1, retry=Retry(NoBackoff(), 0))  # nothing listens: Redis is down
    gateway = Gateway(CONFIG, Bus(down, keys))
    try:
        async with webhook(fake, gateway, raise_app_exceptions=False) as (_, client):
            answer = await client.post(
                "/telegram/webhook",
                json=fixture("nutgram_update_text"),
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            )
    finally:
        await gateway.aclose()
        await down.aclose()

    assert answer.status_code == 500
    assert "webhook refused" not in caplog.text


async def test_webhook_update_still_being_stored_is_answered_503_in_one_line_and_taken_later(
    fake: FakeTelegram,
    bus: Bus,
    redis: aioredis.Redis,
    keys: Keys,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Another delivery of update 123456789 holds its claim (Telegram sent again before our
    # answer): not a duplicate yet, since that store may fail. 503: Telegram sends again.
    caplog.set_level(logging.INFO)
    seen = keys.seen("telegram", "123456789")
    await redis.set(seen, "claimed", px=60_000)
    gateway = Gateway(CONFIG, bus)
    update = fixture("nutgram_update_text")
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    try:
        async with webhook(fake, gateway) as (_, client):
            later = await client.post("/telegram/webhook", json=update, headers=headers)
            await redis.delete(seen)  # that delivery failed and let go of it
            taken = await client.post("/telegram/webhook", json=update, headers=headers)
    finally:
        await gateway.aclose()

    assert (later.status_code, taken.status_code) == (503, 200)
    assert "answered later" in caplog.text and "Traceback" not in caplog.text
    assert await redis.get(seen) == b"stored"


def test_webhook_mode_without_a_secret_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="secret"):
        TelegramChannel(TOKEN, mode="webhook")


# -- documents ------------------------------------------------------------------------------------
def founders_document(size: int | None = None) -> dict[str, Any]:
    """The real document update, sent by the owner (the library fixture's sender is unknown)."""
    update = fixture("nutgram_update_document")
    message = update["message"]
    message["from"]["id"] = message["chat"]["id"] = int(ALICE)
    message["caption"] = "Résume ce cahier des charges"
    if size is not None:
        message["document"]["file_size"] = size
    return update


FILE_ID = "a1b2c34d5e6f7g8h9i"  # document.file_id of nutgram_update_document.json


def test_channel_fetches_files_through_the_fake_file_url(channel: TelegramChannel) -> None:
    assert isinstance(channel, Downloader)
    assert channel._bot.base_file_url.endswith(f"/file/bot{TOKEN}")


async def test_founders_pdf_is_fetched_and_its_text_reaches_the_ceo(
    fake: FakeTelegram,
    channel: TelegramChannel,
    gateway: Gateway,
    redis: aioredis.Redis,
    keys: Keys,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    data = pdf(FRENCH)
    path = fake.add_file(FILE_ID, data)
    fake.push_update(founders_document())

    async with polling(channel, gateway):
        await wait_for_stream(redis, keys.inbox("ceo"), 1)

    [task] = await inbox(redis, keys)
    assert (task.sender, task.text) == ("member:alice", "Résume ce cahier des charges")
    [document] = task.attachments
    assert (document.name, document.ref, document.size) == ("document.pdf", FILE_ID, len(data))
    assert (document.text, document.error) == (FRENCH, None)
    assert fake.called("getFile") == [{"file_id": FILE_ID}]
    assert fake.downloads == [path]
    assert fake.sent == []  # nothing to complain about
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("uvicorn"))
    assert "getFile" in ours
    assert TOKEN.split(":")[1] not in ours


async def test_document_over_telegrams_20_mb_is_refused_unfetched_and_the_founder_told(
    fake: FakeTelegram,
    channel: TelegramChannel,
    gateway: Gateway,
    redis: aioredis.Redis,
    keys: Keys,
) -> None:
    fake.push_update(founders_document(size=25 * 1024 * 1024))

    async with polling(channel, gateway):
        await wait_until(sent_count(fake), what="the founder told")

    [told] = fake.sent
    assert told["chat_id"] == ALICE
    # The caption is French, so is the notice, its reason and the platform's limit.
    assert told["text"].startswith("Je n'ai pas pu lire document.pdf : il fait 25 Mo. ")
    assert "Telegram ne laisse les bots télécharger que des fichiers de 20 Mo" in told["text"]
    assert fake.called("getFile") == []
    [task] = await inbox(redis, keys)
    assert task.text == "Résume ce cahier des charges"  # the message itself went through
    assert task.attachments[0].text is None
    assert "20 MB" in (task.attachments[0].error or "")


async def test_document_whose_real_size_telegram_refuses_is_reported_too_big(
    fake: FakeTelegram,
    channel: TelegramChannel,
    gateway: Gateway,
    redis: aioredis.Redis,
    keys: Keys,
) -> None:
    # The update claims 123456 bytes; getFile finds the file too big, as the Bot API says.
    fake.add_file(FILE_ID, pdf(FRENCH), size=21 * 1024 * 1024)
    fake.push_update(founders_document())

    async with polling(channel, gateway):
        await wait_until(sent_count(fake), what="the founder told")

    told = fake.sent[0]["text"]
    assert told.startswith("Je n'ai pas pu lire document.pdf : il est trop volumineux.")
    assert "Telegram ne laisse les bots télécharger que des fichiers de 20 Mo" in told
    assert fake.downloads == []
    assert len(await inbox(redis, keys)) == 1


async def test_strangers_document_is_never_downloaded(
    fake: FakeTelegram,
    channel: TelegramChannel,
    gateway: Gateway,
    redis: aioredis.Redis,
    keys: Keys,
) -> None:
    fake.add_file(FILE_ID, pdf(FRENCH))
    fake.push_update(fixture("nutgram_update_document"))  # from.id 456: nobody in the crew

    async with polling(channel, gateway):
        await wait_until(sent_count(fake), what="the refusal sent")

    assert "not a member" in fake.sent[0]["text"]
    assert fake.called("getFile") == []
    assert fake.downloads == []
    assert await inbox(redis, keys) == []


async def test_webhook_answers_telegram_without_waiting_on_the_typing_call(
    fake: FakeTelegram, gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    held = fake.hold("sendChatAction")

    async with webhook(fake, gateway) as (_, client):
        # Shorter than PTB's 5 s read timeout: an answer that waited on the call misses it.
        answer = await asyncio.wait_for(
            client.post(
                "/telegram/webhook",
                json=fixture("nutgram_update_text"),
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            ),
            timeout=3,
        )
        assert answer.status_code == 200
        await wait_until(
            lambda: _true(bool(fake.called("sendChatAction"))), what="the typing call made"
        )
        assert "sendChatAction" not in fake.answered  # still held by the fake Bot API
        held.set()
        await wait_until(
            lambda: _true("sendChatAction" in fake.answered), what="the typing call answered"
        )

    assert [t.text for t in await inbox(redis, keys)] == ["aaaaaaaaaa"]
    assert fake.called("sendChatAction") == [{"chat_id": BOB, "action": "typing"}]


async def _true(value: bool) -> bool:
    return value


# -- answered questions -------------------------------------------------------------------------
QUESTION_ID = "3f9a1c2e"


async def asked(
    fake: FakeTelegram,
    channel: TelegramChannel,
    redis: aioredis.Redis,
    keys: Keys,
    *,
    text: str = "Voici le post.\n\nShall I publish it?",
    topic: str = "approval",
    open_in_redis: bool = True,
) -> dict[str, Any]:
    """Send the question with its keyboard as the crew would; returns the message sent."""
    if open_in_redis:
        approval = Approval(
            id=QUESTION_ID, role="ceo", thread=f"telegram:{ALICE}", text=text, topic=topic
        )
        await Approvals(redis, keys).open(approval, f"ceo:telegram:{ALICE}")
    question = Question(id=QUESTION_ID, text=text, topic=topic)
    await channel.send(Outgoing(channel="telegram", chat=ALICE, text=text, question=question))
    message_id = len(fake.sent)  # the fake numbers messages from 1
    return fake.message(ALICE, message_id)


def press(message: dict[str, Any], data: str, *, by: str = ALICE, update_id: int = 3) -> Any:
    """The real callback_query fixture, pressed by ``by`` on the question the bot sent."""
    update = pressed(data, update_id=update_id)
    update["callback_query"]["from"]["id"] = int(by)
    update["callback_query"]["message"] = message
    return update


def edits(fake: FakeTelegram) -> list[str]:
    return [name for name, _ in fake.calls if name.startswith("editMessage")]


@pytest.mark.parametrize(
    ("data", "topic", "line"),
    [
        (f"approve:{QUESTION_ID}", "approval", "✓ Approved by Alice"),
        (f"reject:{QUESTION_ID}", "approval", "✗ Rejected by Alice"),
        (f"reject:{QUESTION_ID}", "budget", "✗ Stopped by Alice"),
    ],
)
async def test_accepted_button_press_takes_the_keyboard_away_and_says_who_decided(
    fake: FakeTelegram,
    channel: TelegramChannel,
    gateway: Gateway,
    redis: aioredis.Redis,
    keys: Keys,
    data: str,
    topic: str,
    line: str,
) -> None:
    question = await asked(fake, channel, redis, keys, topic=topic)
    assert "reply_markup" in question
    fake.push_update(press(question, data))

    async with polling(channel, gateway):
        await wait_until(sent_count(fake, 2), what="the gateway's answer sent")

    message_id = question["message_id"]
    after = fake.message(ALICE, message_id)
    assert "reply_markup" not in after  # nothing left to press
    assert after["text"] == f"Voici le post.\n\nShall I publish it?\n\n{line}"
    assert edits(fake) == ["editMessageReplyMarkup", "editMessageText"]
    assert fake.called("editMessageReplyMarkup") == [
        {"chat_id": ALICE, "message_id": str(message_id)}
    ]
    assert "parse_mode" not in fake.called("editMessageText")[0]  # plain text, as sent
    [resume] = await inbox_answers(redis, keys)
    assert resume.answer is not None and resume.answer.approved is data.startswith("approve")
    assert fake.sent[-1]["text"].endswith(f"{QUESTION_ID}; the crew goes on.")


@pytest.mark.parametrize(
    ("by", "open_in_redis", "told"),
    [
        (STRANGER, True, "not a member"),  # a forwarded button pressed by someone else
        (BOB, True, "Only the owner"),
        (ALICE, False, f"No open question {QUESTION_ID}"),  # answered already, elsewhere
    ],
    ids=["stranger", "member-not-owner", "question-closed"],
)
async def test_button_press_the_gateway_refuses_leaves_the_question_as_it_is(
    fake: FakeTelegram,
    channel: TelegramChannel,
    gateway: Gateway,
    redis: aioredis.Redis,
    keys: Keys,
    by: str,
    open_in_redis: bool,
    told: str,
) -> None:
    question = await asked(fake, channel, redis, keys, open_in_redis=open_in_redis)
    fake.push_update(press(question, f"approve:{QUESTION_ID}", by=by))

    async with polling(channel, gateway):
        await wait_until(sent_count(fake, 2), what="the refusal sent")

    assert told in fake.sent[-1]["text"]
    assert edits(fake) == []
    assert fake.message(ALICE, question["message_id"]) == question  # buttons still there
    assert await inbox_answers(redis, keys) == []


async def test_long_question_is_cut_so_the_verdict_fits_telegrams_4096_units(
    fake: FakeTelegram,
    channel: TelegramChannel,
    gateway: Gateway,
    redis: aioredis.Redis,
    keys: Keys,
) -> None:
    text = "Publier ? " + "😆" * 2040  # 4090 UTF-16 units: one message, full to the brim
    question = await asked(fake, channel, redis, keys, text=text)
    fake.push_update(press(question, f"approve:{QUESTION_ID}"))

    async with polling(channel, gateway):
        await wait_until(sent_count(fake, 2), what="the gateway's answer sent")

    after = fake.message(ALICE, question["message_id"])["text"]
    assert len(after.encode("utf-16-le")) // 2 <= MAX_TEXT  # the fake refuses longer ones
    assert after.endswith("…\n\n✓ Approved by Alice")
    assert text.startswith(after.split("…")[0]) and len(after.split("…")[0]) > 2000


async def test_edit_telegram_refuses_still_lets_the_answer_through(
    fake: FakeTelegram,
    channel: TelegramChannel,
    gateway: Gateway,
    redis: aioredis.Redis,
    keys: Keys,
    caplog: pytest.LogCaptureFixture,
) -> None:
    question = await asked(fake, channel, redis, keys)
    fake.fail_next("editMessageReplyMarkup", 400)
    fake.push_update(press(question, f"approve:{QUESTION_ID}"))

    async with polling(channel, gateway):
        await wait_until(sent_count(fake, 2), what="the gateway's answer sent")

    assert f"question {QUESTION_ID} not marked answered" in caplog.text
    assert len(await inbox_answers(redis, keys)) == 1
    assert fake.sent[-1]["text"].startswith(f"Approved {QUESTION_ID}")


async def inbox_answers(redis: aioredis.Redis, keys: Keys) -> list[Envelope]:
    return [e for e in await inbox(redis, keys) if e.kind is Kind.ANSWER]


@pytest.mark.parametrize(
    ("data", "topic", "labels", "line"),
    [
        (f"approve:{QUESTION_ID}", "approval", ["Approuver", "Refuser"], "✓ Approuvé par Alice"),
        (f"reject:{QUESTION_ID}", "budget", ["Reprendre", "Arrêter"], "✗ Arrêté par Alice"),
    ],
)
async def test_french_founders_question_has_french_buttons_and_is_marked_answered_in_french(
    fake: FakeTelegram,
    channel: TelegramChannel,
    gateway: Gateway,
    bus: Bus,
    redis: aioredis.Redis,
    keys: Keys,
    data: str,
    topic: str,
    labels: list[str],
    line: str,
) -> None:
    french = {**fixture("nutgram_update_text"), "update_id": 1}
    french["message"] = {**french["message"], "text": "Prépare le post de lancement de la semaine"}
    french["message"]["from"] = {**french["message"]["from"], "id": int(ALICE)}
    french["message"]["chat"] = {**french["message"]["chat"], "id": int(ALICE)}
    text = "Voici le post.\n\nJe le publie ?"
    origin = Origin(channel="telegram", chat=ALICE, member="alice", language="fr")
    approval = Approval(
        id=QUESTION_ID, role="ceo", thread=f"telegram:{ALICE}", text=text, topic=topic
    )
    await Approvals(redis, keys).open(approval, f"ceo:telegram:{ALICE}")
    stop = asyncio.Event()
    delivery = asyncio.create_task(gateway.deliver("gw-test", stop, block_ms=50))
    try:
        async with polling(channel, gateway):
            fake.push_update(french)  # what the founder last wrote: French
            await wait_for_stream(redis, keys.inbox("ceo"), 1)
            await bus.publish(
                Envelope(
                    kind=Kind.QUESTION,
                    company="acme",
                    to="human",
                    sender="ceo",
                    thread=f"telegram:{ALICE}",
                    text=text,
                    origin=origin,
                    question=Question(id=QUESTION_ID, text=text, topic=topic),
                )
            )
            await wait_until(sent_count(fake), what="the question sent")
            [buttons] = fake.sent[0]["reply_markup"]["inline_keyboard"]
            assert [b["text"] for b in buttons] == labels
            fake.push_update(press(fake.message(ALICE, 1), data, update_id=2))
            await wait_until(sent_count(fake, 2), what="the gateway's answer sent")
    finally:
        stop.set()
        await delivery

    after = fake.message(ALICE, 1)
    assert "reply_markup" not in after
    assert after["text"] == f"{text}\n\n{line}"
    verdict = "Approuvé" if data.startswith("approve") else "Refusé"
    assert fake.sent[-1]["text"] == f"{verdict} {QUESTION_ID} ; l'équipage continue."


# -- webhook registration -----------------------------------------------------------------------
HOOK_URL = "https://crew.example.com/telegram/webhook"


def hooked_channel(fake: FakeTelegram, url: str = HOOK_URL) -> TelegramChannel:
    return TelegramChannel(
        TOKEN, base_url=fake.base_url, mode="webhook", webhook_secret=SECRET, webhook_url=url
    )


async def test_webhook_mode_registers_its_url_with_the_secret_at_start_and_again_harmlessly(
    fake: FakeTelegram, gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hooked = hooked_channel(fake)
    try:
        await hooked.run(gateway, asyncio.Event())
        await hooked.run(gateway, asyncio.Event())  # the next start
    finally:
        await hooked.aclose()

    first, again = fake.called("setWebhook")
    assert first == again
    assert fake.webhook == first
    assert (first["url"], first["secret_token"]) == (HOOK_URL, SECRET)
    assert first["allowed_updates"] == ["message", "edited_message", "callback_query"]
    assert first["drop_pending_updates"] in ("false", "False", False)
    assert f"telegram webhook set to {HOOK_URL}" in caplog.text
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("uvicorn"))
    assert "setWebhook" in ours  # PTB logged the call and its parameters...
    assert SECRET not in ours and TOKEN.split(":")[1] not in ours  # ...without the secrets


async def test_webhook_mode_without_a_url_leaves_telegram_alone(
    fake: FakeTelegram, gateway: Gateway
) -> None:
    async with webhook(fake, gateway) as (hooked, _):
        await hooked.run(gateway, asyncio.Event())

    assert fake.called("setWebhook") == [] and fake.webhook is None


async def test_webhook_url_telegram_refuses_stops_the_channel_with_the_reason(
    fake: FakeTelegram, gateway: Gateway
) -> None:
    hooked = hooked_channel(fake, "http://crew.example.com/telegram/webhook")
    try:
        with pytest.raises(ConfigError, match=r"(?i)https url must be provided") as raised:
            await hooked.run(gateway, asyncio.Event())
    finally:
        await hooked.aclose()

    assert "channels.telegram.webhook_url" in str(raised.value)
    assert SECRET not in str(raised.value)
    assert fake.webhook is None


async def test_polling_a_bot_that_has_a_webhook_fails_saying_how_to_fix_it(
    fake: FakeTelegram, channel: TelegramChannel, gateway: Gateway
) -> None:
    hooked = hooked_channel(fake)
    try:
        await hooked.run(gateway, asyncio.Event())  # left over from a webhook deployment
    finally:
        await hooked.aclose()

    with pytest.raises(ConfigError, match="a webhook is set for this bot") as raised:
        await asyncio.wait_for(channel.run(gateway, asyncio.Event()), timeout=5)

    assert "mode: webhook" in str(raised.value) and "deleteWebhook" in str(raised.value)
    assert TOKEN not in str(raised.value)
    assert len(fake.called("getUpdates")) == 1  # not retried: retrying cannot help


async def test_polling_works_again_once_the_webhook_is_deleted(
    fake: FakeTelegram,
    channel: TelegramChannel,
    gateway: Gateway,
    redis: aioredis.Redis,
    keys: Keys,
) -> None:
    hooked = hooked_channel(fake)
    try:
        await hooked.run(gateway, asyncio.Event())
    finally:
        await hooked.aclose()
    async with httpx.AsyncClient() as client:
        await client.post(f"{fake.base_url}{TOKEN}/deleteWebhook")
    fake.push_update(fixture("nutgram_update_text"))

    async with polling(channel, gateway):
        await wait_for_stream(redis, keys.inbox("ceo"), 1)

    assert fake.webhook is None


def test_verdict_goes_under_a_text_that_fits_and_cuts_one_that_does_not_between_words() -> None:
    line = "✓ Approved by Camille"
    fits = "a" * (MAX_TEXT - len(line) - 2)
    words = "Le devis est prêt. " * 300  # 5,700 characters: cut between words

    assert with_line("Publier ?", line) == "Publier ?\n\n✓ Approved by Camille"
    assert with_line(fits, line) == fits + "\n\n" + line  # exactly 4096: not cut
    cut = with_line(words, line)
    head = cut.removesuffix("…\n\n✓ Approved by Camille")
    assert len(cut) <= MAX_TEXT and head != cut and len(head) > 3000
    assert words.startswith(head) and words[len(head)] == " "  # a whole word last
