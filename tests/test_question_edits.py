"""A question sent with buttons is marked where it was sent, however it is answered.

The crew's question goes out through the gateway's outbound side to a fake platform; it is
then answered from the web console, by a typed ``/approve`` or by its own button, and the
message that holds its buttons loses them and says who decided, once.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from channels.answered import Answered
from channels.asked import Marking
from channels.gateway import Gateway
from channels.slack import SlackChannel
from channels.telegram import TelegramChannel
from channels.whatsapp import WhatsAppChannel
from equipage.approvals import Approval, Approvals
from equipage.bus import Bus
from equipage.chat import Channel, Incoming
from equipage.config import CompanyConfig
from equipage.envelope import Envelope, Kind, Origin, Question
from equipage.keys import Keys
from equipage.testing import wait_until
from equipage.testing.fake_graph import FakeGraph
from equipage.testing.fake_slack import FakeSlack, blocks
from equipage.testing.fake_telegram import FakeTelegram
from equipage.web.context import Console
from equipage.web.login import COOKIE, start_session
from equipage.web.serve import console_server
from tests.test_telegram import polling, press

# PTB 22 itself reads RetryAfter.retry_after while building the error, and warns.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"
)

TG_TOKEN = "123456:SECRET-token-never-logged"
SLACK_TOKEN = "xoxb-test-token"
ALICE_TG = "222222222"  # from.id of the callback_query fixture
ALICE_SLACK = "U0ALICE"
ALICE_WA = "972987654321"
QID = "3f9a1c2e"
TEXT = "Voici le post.\n\nShall I publish it?"

CONFIG = CompanyConfig.model_validate(
    {
        "company": {"id": "acme", "name": "Acme", "profile": {"sells": "cloud hosting"}},
        "members": [
            {
                "id": "alice",
                "name": "Alice",
                "role": "owner",
                "identities": {"telegram": ALICE_TG, "slack": ALICE_SLACK, "whatsapp": ALICE_WA},
            }
        ],
        "roles": {"ceo": {"description": "runs the company"}},
    }
)


async def ask(gateway: Gateway, bus: Bus, origin: Origin) -> None:
    """The crew asks, as a worker does: the question opened, then sent by the outbound side."""
    thread = f"{origin.channel}:{origin.chat}"
    approval = Approval(id=QID, role="ceo", thread=thread, text=TEXT, origin=origin)
    await Approvals(bus.redis, bus.keys).open(approval, f"ceo:{thread}")
    question = Question(id=QID, text=TEXT)
    await bus.ensure_groups(())  # the gateway's group on the outbox, as ``deliver`` makes it
    await bus.publish(
        Envelope(
            kind=Kind.QUESTION,
            company="acme",
            to="human",
            sender="ceo",
            thread=thread,
            text=TEXT,
            origin=origin,
            question=question,
        )
    )
    assert await gateway.outbound.drain("gw") == 1


async def from_browser(gateway: Gateway, tmp_path: Path, verb: str = "approve") -> None:
    """The owner answers on the console's Questions page."""
    redis, keys = gateway.bus.redis, gateway.bus.keys
    console = Console(redis=redis, keys=keys, config=CONFIG, home=tmp_path)
    async with console_server(console, answer=gateway.receive) as served:
        session_id, session = await start_session(redis, keys, "alice")
        async with httpx.AsyncClient(base_url=served.url, cookies={COOKIE: session_id}) as client:
            done = await client.post(f"/questions/{QID}/{verb}", data={"csrf": session.csrf})
    assert done.status_code == 303


async def typed(gateway: Gateway, channel: str, user: str, text: str, n: int = 1) -> Answered:
    """The owner types the command in a chat; the gateway's answer."""
    [answer] = await gateway.receive(
        Incoming(channel=channel, chat=user, user=user, text=text, message_id=f"typed-{n}")
    )
    assert isinstance(answer, Answered)
    return answer


async def closed(gateway: Gateway) -> None:
    """Every mark under way is done (they run in the background of the answer)."""
    await gateway.outbound.asked.aclose()


# -- Telegram -----------------------------------------------------------------------------------
@pytest.fixture
async def fake_tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TG_TOKEN) as server:
        yield server


@pytest.fixture
async def telegram(fake_tg: FakeTelegram) -> AsyncIterator[TelegramChannel]:
    channel = TelegramChannel(TG_TOKEN, base_url=fake_tg.base_url, poll_timeout=1)
    yield channel
    await channel.aclose()


@pytest.fixture
async def tg_gateway(bus: Bus, telegram: TelegramChannel) -> AsyncIterator[Gateway]:
    gateway = Gateway(CONFIG, bus, channels={"telegram": telegram}, commands=())
    yield gateway
    await gateway.aclose()


TG_ORIGIN = Origin(channel="telegram", chat=ALICE_TG, member="alice")


def tg_edits(fake: FakeTelegram) -> list[str]:
    return [name for name, _ in fake.calls if name.startswith("editMessage")]


async def tg_marked(fake: FakeTelegram, line: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        question = fake.message(ALICE_TG, 1)
        return question if question["text"].endswith(line) else None

    return await wait_until(probe, what="the question marked answered")


async def test_platforms_that_edit_mark_and_whatsapp_does_not(
    telegram: TelegramChannel, fake_slack: FakeSlack, fake_wa: FakeGraph
) -> None:
    slack = SlackChannel(SLACK_TOKEN, signing_secret="secret", base_url=fake_slack.base_url)
    wa = whatsapp(fake_wa)
    try:
        assert isinstance(telegram, Marking) and isinstance(slack, Marking)
        assert not isinstance(wa, Marking)
    finally:
        await slack.aclose()
        await wa.aclose()


@pytest.mark.parametrize(
    ("verb", "line"), [("approve", "✓ Approved by Alice"), ("reject", "✗ Rejected by Alice")]
)
async def test_telegram_question_answered_from_the_browser_loses_its_buttons(
    fake_tg: FakeTelegram, tg_gateway: Gateway, bus: Bus, tmp_path: Path, verb: str, line: str
) -> None:
    await ask(tg_gateway, bus, TG_ORIGIN)
    assert "reply_markup" in fake_tg.message(ALICE_TG, 1)

    await from_browser(tg_gateway, tmp_path, verb)

    question = await tg_marked(fake_tg, line)
    assert "reply_markup" not in question  # nothing left to press
    assert question["text"] == f"{TEXT}\n\n{line}"
    await closed(tg_gateway)
    assert tg_edits(fake_tg) == ["editMessageReplyMarkup", "editMessageText"]


async def test_telegram_question_answered_by_a_typed_reject_is_marked_once_when_sent_twice(
    fake_tg: FakeTelegram, tg_gateway: Gateway, bus: Bus
) -> None:
    await ask(tg_gateway, bus, TG_ORIGIN)

    first = await typed(tg_gateway, "telegram", ALICE_TG, f"/reject {QID}")
    # Counted twice (the worker has not closed the question yet): the mark is not redone.
    again = await typed(tg_gateway, "telegram", ALICE_TG, f"/approve {QID}", n=2)
    await closed(tg_gateway)

    assert first.marked and not again.marked
    question = fake_tg.message(ALICE_TG, 1)
    assert "reply_markup" not in question
    assert question["text"] == f"{TEXT}\n\n✗ Rejected by Alice"
    assert tg_edits(fake_tg) == ["editMessageReplyMarkup", "editMessageText"]


async def test_telegram_question_pressed_is_marked_by_one_edit_not_two(
    fake_tg: FakeTelegram, telegram: TelegramChannel, tg_gateway: Gateway, bus: Bus
) -> None:
    await ask(tg_gateway, bus, TG_ORIGIN)
    fake_tg.push_update(press(fake_tg.message(ALICE_TG, 1), f"approve:{QID}"))

    async with polling(telegram, tg_gateway):
        await tg_marked(fake_tg, "✓ Approved by Alice")
        await wait_until(_true(lambda: len(fake_tg.sent) >= 2), what="the answer sent")
        await closed(tg_gateway)

    assert tg_edits(fake_tg) == ["editMessageReplyMarkup", "editMessageText"]


async def test_a_mark_telegram_refuses_is_logged_and_the_answer_stands(
    fake_tg: FakeTelegram, tg_gateway: Gateway, bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    await ask(tg_gateway, bus, TG_ORIGIN)
    fake_tg.fail_next("editMessageReplyMarkup", 400)

    answer = await typed(tg_gateway, "telegram", ALICE_TG, f"/approve {QID}")
    await closed(tg_gateway)

    assert answer.text.startswith(f"Approved {QID}")
    assert f"telegram question {QID} not marked answered" in caplog.text
    assert await Approvals(bus.redis, bus.keys).get(QID) is not None  # the worker closes it


async def test_closing_the_question_forgets_where_it_was_sent(
    tg_gateway: Gateway, bus: Bus, keys: Keys, redis: aioredis.Redis
) -> None:
    await ask(tg_gateway, bus, TG_ORIGIN)
    assert await redis.hexists(keys.asked, QID)

    await Approvals(redis, keys).close(QID, f"ceo:telegram:{ALICE_TG}")

    assert not await redis.hexists(keys.asked, QID)


# -- Slack --------------------------------------------------------------------------------------
@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(SLACK_TOKEN) as server:
        yield server


@pytest.fixture
async def slack_gateway(bus: Bus, fake_slack: FakeSlack) -> AsyncIterator[Gateway]:
    slack = SlackChannel(SLACK_TOKEN, signing_secret="secret", base_url=fake_slack.base_url)
    gateway = Gateway(CONFIG, bus, channels={"slack": slack}, commands=())
    yield gateway
    await gateway.aclose()
    await slack.aclose()


SLACK_ORIGIN = Origin(channel="slack", chat="C1", member="alice", thread="17.5")


async def slack_marked(fake: FakeSlack, ts: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        message = fake.message("C1", ts)
        return message if any(b["type"] == "context" for b in blocks(message)) else None

    return await wait_until(probe, what="the question marked answered")


@pytest.mark.parametrize("how", ["browser", "typed"])
async def test_slack_question_answered_elsewhere_has_its_buttons_replaced_by_who_decided(
    fake_slack: FakeSlack, slack_gateway: Gateway, bus: Bus, tmp_path: Path, how: str
) -> None:
    await ask(slack_gateway, bus, SLACK_ORIGIN)
    [posted] = fake_slack.posted
    assert posted.buttons  # sent with Approve and Reject

    if how == "browser":
        await from_browser(slack_gateway, tmp_path)
    else:
        await typed(slack_gateway, "slack", ALICE_SLACK, f"/approve {QID}")

    message = await slack_marked(fake_slack, posted.ts)
    *sections, marked = blocks(message)
    assert all(b["type"] == "section" for b in sections)  # nothing left to press
    assert marked["type"] == "context"
    assert marked["elements"][0]["text"] == "✓ Approved by Alice"
    assert message["text"].endswith("✓ Approved by Alice")
    await closed(slack_gateway)
    assert len(fake_slack.updated) == 1


# -- WhatsApp -----------------------------------------------------------------------------------
@pytest.fixture
async def fake_wa() -> AsyncIterator[FakeGraph]:
    async with FakeGraph(token="graph-token") as server:
        yield server


def whatsapp(fake: FakeGraph) -> WhatsAppChannel:
    return WhatsAppChannel(
        "graph-token",
        phone_number_id="1122334455667",
        app_secret="app-secret",
        verify_token="verify-me",
        base_url=fake.base_url,
    )


async def test_whatsapp_question_answered_from_the_browser_is_not_edited(
    fake_wa: FakeGraph, bus: Bus, tmp_path: Path, redis: aioredis.Redis, keys: Keys
) -> None:
    channel = whatsapp(fake_wa)
    await channel.windows.set(ALICE_WA, time.time())  # she wrote: buttons may be sent
    channels: dict[str, Channel] = {"whatsapp": channel}
    gateway = Gateway(CONFIG, bus, channels=channels, commands=())
    try:
        await ask(gateway, bus, Origin(channel="whatsapp", chat=ALICE_WA, member="alice"))
        [question] = fake_wa.sent
        assert question["type"] == "interactive"

        await from_browser(gateway, tmp_path)
        await gateway.outbound.drain("gw")  # the console's line to the chat
        await closed(gateway)
    finally:
        await gateway.aclose()
        await channel.aclose()

    assert not await redis.hexists(keys.asked, QID)  # nothing kept: nothing to edit
    line = fake_wa.sent[-1]
    assert line["type"] == "text" and "Approved by Alice" in line["text"]["body"]
    assert len(fake_wa.sent) == 2  # the question and the line: no edit exists there


def _true(check: Any) -> Any:
    async def probe() -> bool:
        return bool(check())

    return probe
