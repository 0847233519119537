"""Answers stream into the chat: a crew on a model that streams, seen from fake Telegram.

The CEO's model (the real ``anthropic`` SDK against the fake Messages API, which streams
its text a word at a time) writes a long answer; the founder sees one message grow by
edits, at most about one a second, the last with the whole text. A turn that fails
midway has its partial text replaced by what happened; a question with buttons is sent
whole, never edited.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from equipage.app import open_session, serve
from equipage.config import CompanyConfig, Settings
from equipage.testing import HAIKU_SPEC, wait_until
from equipage.testing.fake_anthropic import (
    FakeAnthropic,
    RecordedRequest,
    Step,
    error,
    streamed,
    tool_use,
)
from equipage.testing.fake_telegram import FakeTelegram
from tests.test_channels_e2e import FOUNDER, TOKEN, company, message

pytestmark = pytest.mark.e2e

ANSWER = " ".join(f"Point {n}: the hosting costs fall by {n} percent." for n in range(1, 31))


def on_anthropic(config: CompanyConfig) -> CompanyConfig:
    data: dict[str, Any] = config.model_dump(mode="json", exclude_unset=True)
    for role in data["roles"].values():
        role["model"] = HAIKU_SPEC
    return CompanyConfig.model_validate(data)


async def crew_answers(
    tmp_path: Path, steps: list[Step], done: Any, *, said: str = "How do costs fall?"
) -> FakeTelegram:
    """Run a crew on Telegram whose CEO answers ``steps`` in order, until ``done(fake)``."""
    queue = list(steps)

    def next_step(request: RecordedRequest) -> Step:
        return queue.pop(0) if queue else Step(text="Done.")

    async with FakeTelegram(TOKEN) as fake, FakeAnthropic(next_step) as model:
        env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": fake.base_url}
        settings = Settings(
            home=tmp_path,
            channel_env=Settings.from_env(env).channel_env,
            anthropic_api_key="sk-test",
            anthropic_base_url=model.url,
        )
        async with open_session(on_anthropic(company()), settings) as session:
            stop = asyncio.Event()
            running = asyncio.create_task(serve(session, stop, channels=[]))
            try:
                fake.push_update(message(1, said))
                await wait_until(lambda: done(fake), timeout=40, what="the answer")
            finally:
                stop.set()
                await running
    return fake


def edits(fake: FakeTelegram) -> list[tuple[float, dict[str, Any]]]:
    return [
        (at, params)
        for (method, params), at in zip(fake.calls, fake.times, strict=True)
        if method == "editMessageText"
    ]


async def test_a_long_answer_grows_in_one_message_edited_at_most_once_a_second(
    tmp_path: Path,
) -> None:
    async def whole(fake: FakeTelegram) -> bool:
        return any(m["text"] == ANSWER for m in fake.messages(FOUNDER))

    fake = await crew_answers(tmp_path, [streamed(ANSWER, over=4.0)], whole)
    [shown] = fake.messages(FOUNDER)
    assert shown["text"] == ANSWER  # the one message, now the whole answer
    assert len(fake.sent) == 1 and len(fake.sent[0]["text"]) < len(ANSWER)
    made = edits(fake)
    assert len(made) >= 3
    assert all(int(p["message_id"]) == shown["message_id"] for _, p in made)
    assert made[-1][1]["text"] == ANSWER
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(made)]
    assert min(gaps) >= 0.9, gaps  # Telegram's pace for edits of one chat
    grown = [len(p["text"]) for _, p in made]
    assert grown == sorted(grown)


async def test_a_turn_that_fails_midway_replaces_its_partial_text_with_what_happened(
    tmp_path: Path,
) -> None:
    half = ANSWER[: len(ANSWER) // 2]
    broken = error(529, "overloaded_error", "Overloaded", in_stream=True, text=half, pace=0.03)

    async def told(fake: FakeTelegram) -> bool:
        first = fake.messages(FOUNDER)[:1]
        return bool(first) and not first[0]["text"].startswith(half[:40])

    fake = await crew_answers(tmp_path, [broken], told)
    first = fake.messages(FOUNDER)[0]
    assert fake.sent[0]["text"].startswith("Point 1:")  # it was shown while written
    assert "Point 1" not in first["text"]  # then replaced by what happened
    assert int(edits(fake)[-1][1]["message_id"]) == first["message_id"]


async def test_a_question_with_buttons_is_sent_whole_and_never_edited(tmp_path: Path) -> None:
    asked = tool_use("ask_human", {"question": "Shall I move the servers to Scaleway?"})

    async def question(fake: FakeTelegram) -> bool:
        return any(m.get("reply_markup") for m in fake.sent)

    fake = await crew_answers(tmp_path, [asked], question)
    [sent] = [m for m in fake.sent if m.get("reply_markup")]
    markup = sent["reply_markup"]
    markup = json.loads(markup) if isinstance(markup, str) else markup
    assert "Shall I move the servers to Scaleway?" in sent["text"]
    assert markup["inline_keyboard"][0][0]["callback_data"].startswith("approve:")
    assert edits(fake) == []
