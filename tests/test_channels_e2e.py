"""End to end through 'equipage up': a founder on a chat platform, the crew, an approval."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from equipage.app import open_session, serve
from equipage.config import CompanyConfig, Settings
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
                question = next(m for m in fake.sent if m.get("reply_markup"))
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
                            "message": {**question_message(question), "message_id": 99},
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


def question_message(sent: dict[str, Any]) -> dict[str, Any]:
    chat = {"id": FOUNDER, "type": "private", "first_name": "Camille"}
    return {"chat": chat, "date": int(time.time()), "text": str(sent["text"])[:100]}


async def _sent_with_keyboard(fake: FakeTelegram) -> bool:
    return any(m.get("reply_markup") for m in fake.sent)


async def _published(fake: FakeTelegram) -> bool:
    return any(str(m["text"]).startswith("Published.") for m in fake.sent)
