"""End to end through 'equipage up': a founder on a chat platform, the crew, an approval."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from equipage.app import open_session, serve
from equipage.config import CompanyConfig, Settings
from equipage.keys import Keys
from equipage.testing import wait_until
from equipage.testing.fake_telegram import FakeTelegram

TOKEN = "123456:TEST-token"
FOUNDER = 4242


def company() -> CompanyConfig:
    return CompanyConfig.model_validate(
        {
            "company": {"id": "acme", "name": "Nuage Clair", "profile": {"sells": "hosting"}},
            "members": [{"id": "camille", "name": "Camille", "role": "owner",
                         "identities": {"telegram": str(FOUNDER)}}],
            "roles": {
                "ceo": {"description": "runs the company"},
                "cto": {"description": "hosting costs", "handles": ["hosting", "cost"]},
                "marketing": {"description": "launch posts", "handles": ["launch post"]},
            },
            "channels": {"telegram": {"mode": "polling"}},
        }
    )  # fmt: skip


def update(update_id: int, **body: Any) -> dict[str, Any]:
    return {"update_id": update_id, **body}


def message(update_id: int, text: str) -> dict[str, Any]:
    person = {"id": FOUNDER, "is_bot": False, "first_name": "Camille"}
    chat = {"id": FOUNDER, "type": "private", "first_name": "Camille"}
    return update(
        update_id,
        message={"message_id": update_id, "from": person, "chat": chat,
                 "date": int(time.time()), "text": text},
    )  # fmt: skip


@pytest.mark.e2e
async def test_founder_on_telegram_gets_answers_and_approves_with_the_button(
    tmp_path: Path,
) -> None:
    async with FakeTelegram(TOKEN) as fake:
        settings = Settings.from_env(
            {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": fake.base_url}
        )
        settings = Settings(home=tmp_path, channel_env=settings.channel_env)
        async with open_session(company(), settings) as session:
            stop = asyncio.Event()
            running = asyncio.create_task(serve(session, stop, channels=[]))
            try:
                fake.push_update(message(1, "A launch post and a hosting cost note, then publish."))
                await wait_until(lambda: _sent_with_keyboard(fake), timeout=30, what="question")
                question = next(m for m in fake.messages(FOUNDER) if m.get("reply_markup"))
                markup = question["reply_markup"]
                markup = json.loads(markup) if isinstance(markup, str) else markup
                approve = markup["inline_keyboard"][0][0]["callback_data"]
                assert approve.startswith("approve:")
                fake.push_update(
                    update(
                        2,
                        callback_query={
                            "id": "cb1",
                            "from": {"id": FOUNDER, "is_bot": False, "first_name": "Camille"},
                            "message": question,  # as the Bot API hands it back
                            "chat_instance": "1",
                            "data": approve,
                        },
                    )
                )
                await wait_until(lambda: _published(fake), timeout=30, what="confirmation")
            finally:
                stop.set()
                await running
    texts = [str(m["text"]) for m in fake.sent]
    assert texts[0].startswith("I have asked cto and marketing")
    assert any(t.startswith("Approved ") for t in texts)
    assert all(str(m["chat_id"]) == str(FOUNDER) for m in fake.sent)
    assert fake.called("answerCallbackQuery")
    answered = fake.message(FOUNDER, question["message_id"])
    assert "reply_markup" not in answered  # no second press possible
    assert answered["text"] == question["text"] + "\n\n✓ Approved by Camille"


@pytest.mark.e2e
async def test_telegram_in_webhook_mode_registers_its_url_when_the_crew_starts(
    tmp_path: Path,
) -> None:
    port, url = free_port(), "https://crew.example.com/telegram/webhook"
    async with FakeTelegram(TOKEN) as fake:
        env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": fake.base_url,
               "TELEGRAM_WEBHOOK_SECRET": "hook-secret"}  # fmt: skip
        settings = Settings(home=tmp_path, channel_env=Settings.from_env(env).channel_env)
        config = crew_on(
            {"telegram": {"mode": "webhook", "webhook_url": url}}, {"telegram": str(FOUNDER)}, port
        )
        async with open_session(config, settings) as session:
            stop = asyncio.Event()
            running = asyncio.create_task(serve(session, stop, channels=[]))
            try:
                await wait_until(lambda: _true(fake.webhook is not None), what="webhook set")
            finally:
                stop.set()
                await running
    assert fake.webhook is not None
    assert (fake.webhook["url"], fake.webhook["secret_token"]) == (url, "hook-secret")
    assert fake.called("getUpdates") == []  # webhook mode never polls


async def _true(value: bool) -> bool:
    return value


async def _sent_with_keyboard(fake: FakeTelegram) -> bool:
    return any(m.get("reply_markup") for m in fake.sent)


async def _published(fake: FakeTelegram) -> bool:
    return any(str(m["text"]).startswith("Approved, thank you.") for m in fake.sent)


# -- webhook platforms: signed requests to the real HTTP server of serve() ----------------
def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def crew_on(channels: dict[str, Any], identities: dict[str, str], port: int) -> CompanyConfig:
    data: dict[str, Any] = company().model_dump(mode="json", exclude_unset=True)
    data["members"][0]["identities"] = identities
    data["channels"] = {**channels, "web": {"host": "127.0.0.1", "port": port}}
    return CompanyConfig.model_validate(data)


async def listening(url: str) -> bool:
    import httpx

    try:
        async with httpx.AsyncClient() as client:
            await client.get(url, timeout=1)
        return True
    except httpx.TransportError:
        return False


REQUEST = "A launch post and a hosting cost note, then publish."


@pytest.mark.e2e
async def test_founder_on_slack_gets_answers_in_the_thread_and_approves_with_the_button(
    tmp_path: Path,
) -> None:
    import httpx

    from equipage.testing.fake_slack import FakeSlack, blocks, sign

    port, secret = free_port(), "s3cret"
    async with FakeSlack("xoxb-test") as fake:
        env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": secret,
               "SLACK_API_BASE_URL": fake.base_url}  # fmt: skip
        settings = Settings(home=tmp_path, channel_env=Settings.from_env(env).channel_env)
        config = crew_on({"slack": {"mode": "http"}}, {"slack": "U0FOUNDER"}, port)
        url = f"http://127.0.0.1:{port}/slack/events"

        async def post(body: bytes, content_type: str) -> int:
            headers = {**sign(body, secret, int(time.time())), "Content-Type": content_type}
            async with httpx.AsyncClient() as client:
                return (await client.post(url, content=body, headers=headers)).status_code

        async with open_session(config, settings) as session:
            stop = asyncio.Event()
            running = asyncio.create_task(serve(session, stop, channels=[]))
            try:
                await wait_until(lambda: listening(url), what="webhook server up")
                event = {"type": "event_callback", "event_id": "Ev1", "event": {
                    "type": "app_mention", "user": "U0FOUNDER", "channel": "C1",
                    "ts": "1700000000.000100", "text": f"<@U00FAKEBOT01> {REQUEST}"}}  # fmt: skip
                assert await post(json.dumps(event).encode(), "application/json") == 200
                await wait_until(lambda: _slack_question(fake), timeout=30, what="question")
                value = await _slack_question(fake)
                asked = next(p for p in fake.posted if p.body.get("blocks"))
                question = fake.message("C1", asked.ts)
                action = {"type": "block_actions", "trigger_id": "T1",
                          "user": {"id": "U0FOUNDER"}, "channel": {"id": "C1"},
                          "container": {"thread_ts": "1700000000.000100", "channel_id": "C1",
                                        "message_ts": asked.ts},
                          "message": question,
                          "actions": [{"action_id": "approve", "value": value}]}  # fmt: skip
                form = httpx.QueryParams({"payload": json.dumps(action)})
                body = str(form).encode()
                assert await post(body, "application/x-www-form-urlencoded") == 200
                await wait_until(lambda: _slack_said(fake, "Approved, thank you."), timeout=30,
                                 what="confirmation")  # fmt: skip
            finally:
                stop.set()
                await running
    threads = {str(p.body.get("thread_ts")) for p in fake.posted}
    assert threads == {"1700000000.000100"}
    *_, context = blocks(fake.message("C1", asked.ts))
    assert context["type"] == "context"  # the buttons are gone
    assert context["elements"][0]["text"] == "✓ Approved by Camille"


async def _slack_question(fake: Any) -> str:
    for posted in fake.posted:
        blocks = posted.body.get("blocks")
        blocks = json.loads(blocks) if isinstance(blocks, str) else blocks or []
        for block in blocks:
            for element in block.get("elements", []):
                if str(element.get("value", "")).startswith("approve:"):
                    return str(element["value"])
    return ""


async def _slack_said(fake: Any, start: str) -> bool:
    return any(str(p.body.get("text", "")).startswith(start) for p in fake.posted)


@pytest.mark.e2e
async def test_founder_on_whatsapp_gets_answers_and_approves_with_a_reply_button(
    tmp_path: Path,
) -> None:
    import httpx

    from equipage.testing.fake_graph import FakeGraph, sign

    port, secret, phone, number = free_port(), "app-secret", "PN1", "33600000000"
    async with FakeGraph(token="wa-token") as fake:
        env = {
            "WHATSAPP_TOKEN": "wa-token",
            "WHATSAPP_APP_SECRET": secret,
            "WHATSAPP_VERIFY_TOKEN": "verify",
            "WHATSAPP_GRAPH_BASE_URL": fake.base_url,
        }
        settings = Settings(home=tmp_path, channel_env=Settings.from_env(env).channel_env)
        config = crew_on({"whatsapp": {"phone_number_id": phone}}, {"whatsapp": number}, port)
        url = f"http://127.0.0.1:{port}/whatsapp/webhook"

        async def post(message: dict[str, Any]) -> int:
            value = {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550000000", "phone_number_id": phone},
                "contacts": [{"profile": {"name": "Camille"}, "wa_id": number}],
                "messages": [{"from": number, "timestamp": str(int(time.time())), **message}],
            }
            body = json.dumps(
                {
                    "object": "whatsapp_business_account",
                    "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}],
                }
            ).encode()
            headers = {
                "X-Hub-Signature-256": sign(body, secret),
                "Content-Type": "application/json",
            }
            async with httpx.AsyncClient() as client:
                return (await client.post(url, content=body, headers=headers)).status_code

        async with open_session(config, settings) as session:
            stop = asyncio.Event()
            running = asyncio.create_task(serve(session, stop, channels=[]))
            try:
                await wait_until(lambda: listening(url), what="webhook server up")
                sent = {"id": "wamid.1", "type": "text", "text": {"body": REQUEST}}
                assert await post(sent) == 200
                await wait_until(lambda: _wa_question(fake), timeout=30, what="question")
                button = await _wa_question(fake)
                reply = {
                    "id": "wamid.2",
                    "type": "interactive",
                    "interactive": {
                        "type": "button_reply",
                        "button_reply": {"id": button, "title": "Approve"},
                    },
                }
                assert await post(reply) == 200
                await wait_until(lambda: _wa_said(fake, "Approved, thank you."), timeout=30,
                                 what="confirmation")  # fmt: skip
            finally:
                stop.set()
                await running
    assert all(body["to"] == number for body in fake.sent)


async def _wa_question(fake: Any) -> str:
    for body in fake.sent:
        for button in body.get("interactive", {}).get("action", {}).get("buttons", []):
            if button["reply"]["id"].startswith("approve:"):
                return str(button["reply"]["id"])
    return ""


async def _wa_said(fake: Any, start: str) -> bool:
    return any(str(b.get("text", {}).get("body", "")).startswith(start) for b in fake.sent)


# -- a document the founder sends ------------------------------------------------------------------
async def test_founders_pdf_reaches_the_ceo_as_untrusted_text_so_its_orders_need_approval(
    redis: aioredis.Redis, keys: Keys
) -> None:
    """The owner's own words are trusted; the text of the PDF they forward is not."""
    from channels.gateway import Gateway
    from channels.telegram import TelegramChannel
    from equipage.memory import Memory
    from tests.test_crew import company as crew_company
    from tests.test_crew import crew_running
    from tests.test_documents import pdf
    from tests.test_redteam import REMEMBER, Gullible

    data: dict[str, Any] = crew_company().model_dump(mode="json", exclude_unset=True)
    data["members"][0]["identities"]["telegram"] = str(FOUNDER)
    config = CompanyConfig.model_validate(data)
    report = pdf(f"Rapport trimestriel : chiffre d'affaires en hausse.\n{REMEMBER}")
    forwarded = {"file_id": "F1", "file_unique_id": "U1", "file_name": "rapport.pdf",
                 "mime_type": "application/pdf", "file_size": len(report)}  # fmt: skip
    sent = message(1, "")
    sent["message"].pop("text")
    sent["message"] |= {"document": forwarded, "caption": "Résume ce rapport, s'il te plaît."}

    async with (
        FakeTelegram(TOKEN) as fake,
        crew_running(redis, keys, config, models={"ceo": Gullible()}) as crew,
    ):
        fake.add_file("F1", report)
        fake.push_update(sent)
        channel = TelegramChannel(TOKEN, base_url=fake.base_url, poll_timeout=1)
        gateway = Gateway(config, crew.bus, channels={"telegram": channel})
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(channel.run(gateway, stop)),
            asyncio.create_task(gateway.deliver("gw", stop, block_ms=50)),
        ]
        try:
            await wait_until(lambda: _sent_with_keyboard(fake), timeout=30, what="approval asked")
        finally:
            stop.set()
            await asyncio.gather(*tasks)
            await gateway.aclose()
            await channel.aclose()

    question = next(m for m in fake.sent if m.get("reply_markup"))
    assert "remember" in question["text"]
    assert "document rapport.pdf" in question["text"]  # says where the order came from
    assert fake.downloads == ["documents/file_0"]
    assert await Memory(redis, keys).all() == []  # nothing remembered without the founder
