"""Voice notes end to end: from the fake Telegram and WhatsApp servers, heard, then answered.

The founder records a note; the gateway has it heard (``channels.hearing``) by a fake
OpenAI-compatible transcription server through the real ``openai`` SDK, shows what it
heard first, and the crew's answer follows.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from channels.gateway import Gateway
from channels.telegram import TelegramChannel
from equipage.app import open_session, serve
from equipage.bus import Bus
from equipage.config import CompanyConfig, Settings
from equipage.envelope import Envelope
from equipage.keys import Keys
from equipage.testing import stream_entries, wait_until
from equipage.testing.fake_speech import FakeSpeech
from equipage.testing.fake_telegram import FakeTelegram
from tests.test_channels_e2e import REQUEST, crew_on, free_port, listening
from tests.voices import voice_note

# The gateway calls ``channels.hearing`` once it is wired in (see channels/hearing.py).
pytestmark = pytest.mark.skipif(
    "hearing" not in Gateway.__init__.__code__.co_names,
    reason="channels.gateway does not call channels.hearing yet",
)
TOKEN = "123456:TEST-token"
FOUNDER = 4242
ASKED = "Trouve les appels d'offres cloud de la semaine"


def spoken(config: CompanyConfig, speech: FakeSpeech) -> CompanyConfig:
    """``config`` with a speech section pointed at the fake transcription server."""
    data: dict[str, Any] = config.model_dump(mode="json", exclude_unset=True)
    data["speech"] = {"model": "openai:whisper-1", "base_url": speech.url}
    return CompanyConfig.model_validate(data)


async def test_founders_voice_note_reaches_the_ceo_as_their_words_in_the_language_heard(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    note = voice_note(ASKED)
    async with FakeTelegram(TOKEN) as fake, FakeSpeech() as speech:
        config = spoken(crew_on({}, {"telegram": str(FOUNDER)}, free_port()), speech)
        channel = TelegramChannel(TOKEN, base_url=fake.base_url, poll_timeout=1)
        gateway = Gateway(config, bus, channels={"telegram": channel})
        stop = asyncio.Event()
        polling = asyncio.create_task(channel.run(gateway, stop))
        try:
            speech.say(ASKED, language="french")
            fake.push_voice(1, FOUNDER, note)
            await wait_until(lambda: _true(bool(fake.sent)), what="what was heard")
        finally:
            stop.set()
            await polling
            await gateway.aclose()
            await channel.aclose()
    [task] = [Envelope.decode(f[b"env"]) for _, f in await stream_entries(redis, keys.inbox("ceo"))]
    assert (task.text, task.attachments, task.forwarded) == (ASKED, (), ())
    assert task.origin is not None and task.origin.language == "fr"
    assert [m["text"] for m in fake.sent] == [f"🎙 J'ai entendu : {ASKED}"]
    assert speech.requests[0].audio == note


async def test_strangers_voice_note_is_neither_downloaded_nor_heard(bus: Bus) -> None:
    async with FakeTelegram(TOKEN) as fake, FakeSpeech() as speech:
        config = spoken(crew_on({}, {"telegram": "1"}, free_port()), speech)
        channel = TelegramChannel(TOKEN, base_url=fake.base_url, poll_timeout=1)
        gateway = Gateway(config, bus, channels={"telegram": channel})
        stop = asyncio.Event()
        polling = asyncio.create_task(channel.run(gateway, stop))
        try:
            fake.push_voice(1, FOUNDER, b"OggS not a real note")
            await wait_until(lambda: _true(bool(fake.sent)), what="the pairing answer")
        finally:
            stop.set()
            await polling
            await gateway.aclose()
            await channel.aclose()
    assert fake.downloads == [] and speech.requests == []


@pytest.mark.e2e
async def test_voice_note_on_telegram_is_answered_with_what_was_heard_shown_first(
    tmp_path: Path,
) -> None:
    note = voice_note(REQUEST, voice="en")
    async with FakeTelegram(TOKEN) as fake, FakeSpeech() as speech:
        env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": fake.base_url}
        settings = Settings(home=tmp_path, channel_env=Settings.from_env(env).channel_env)
        config = crew_on({"telegram": {"mode": "polling"}}, {"telegram": str(FOUNDER)}, free_port())
        async with open_session(spoken(config, speech), settings) as session:
            stop = asyncio.Event()
            running = asyncio.create_task(serve(session, stop, channels=[]))
            try:
                speech.say(REQUEST, language="english")
                fake.push_voice(1, FOUNDER, note, duration=4)
                await wait_until(lambda: _true(len(fake.sent) >= 2), timeout=30, what="answer")
            finally:
                stop.set()
                await running
    texts = [str(m["text"]) for m in fake.sent]
    assert texts[0] == f"🎙 I heard: {REQUEST}"
    assert texts[1].startswith("I have asked cto and marketing")


@pytest.mark.e2e
async def test_voice_note_on_whatsapp_is_answered_with_what_was_heard_shown_first(
    tmp_path: Path,
) -> None:
    import httpx

    from equipage.testing.fake_graph import FakeGraph, sign

    note = voice_note(REQUEST, voice="en")
    port, secret, phone, number = free_port(), "app-secret", "PN1", "33600000000"
    async with FakeGraph(token="wa-token") as fake, FakeSpeech() as speech:
        env = {
            "WHATSAPP_TOKEN": "wa-token",
            "WHATSAPP_APP_SECRET": secret,
            "WHATSAPP_VERIFY_TOKEN": "verify",
            "WHATSAPP_GRAPH_BASE_URL": fake.base_url,
        }
        settings = Settings(home=tmp_path, channel_env=Settings.from_env(env).channel_env)
        config = crew_on({"whatsapp": {"phone_number_id": phone}}, {"whatsapp": number}, port)
        url = f"http://127.0.0.1:{port}/whatsapp/webhook"
        fake.add_media("MEDIA1", note, "audio/ogg; codecs=opus")
        audio = {"id": "MEDIA1", "voice": True, "mime_type": "audio/ogg; codecs=opus"}
        message = {"from": number, "id": "wamid.1", "type": "audio", "audio": audio}
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "1555", "phone_number_id": phone},
            "messages": [{**message, "timestamp": str(int(time.time()))}],
        }
        change = {"field": "messages", "value": value}
        payload = {
            "object": "whatsapp_business_account",
            "entry": [{"id": "W", "changes": [change]}],
        }
        body = json.dumps(payload).encode()
        async with open_session(spoken(config, speech), settings) as session:
            stop = asyncio.Event()
            running = asyncio.create_task(serve(session, stop, channels=[]))
            try:
                await wait_until(lambda: listening(url), what="webhook server up")
                speech.say(REQUEST, language="english")
                headers = {"X-Hub-Signature-256": sign(body, secret)}
                headers["Content-Type"] = "application/json"
                async with httpx.AsyncClient() as client:
                    assert (
                        await client.post(url, content=body, headers=headers)
                    ).status_code == 200
                await wait_until(lambda: _true(len(fake.sent) >= 2), timeout=30, what="answer")
            finally:
                stop.set()
                await running
    texts = [str(b.get("text", {}).get("body", "")) for b in fake.sent]
    assert texts[0] == f"🎙 I heard: {REQUEST}"
    assert texts[1].startswith("I have asked cto and marketing")
    assert fake.media_requests == ["MEDIA1", "download:MEDIA1"]


async def _true(value: bool) -> bool:
    return value
