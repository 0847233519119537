"""The Slack channel's bolt app: what bolt itself cannot read is refused once, never a 500."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from channels.gateway import Gateway
from channels.slack import SlackChannel
from channels.slack_logs import scrub
from equipage.bus import Bus
from equipage.testing import wait_until
from equipage.testing.fake_slack import FakeSlack
from tests.test_slack import APP_TOKEN, CONFIG, FOUNDER, SECRET, TOKEN, Spy, acked, post, running

# A press on one of our buttons, as the crew reads it, but without the action_id that
# bolt routes block_actions by: bolt's matcher raises KeyError on it.
PRESS: dict[str, Any] = {
    "type": "block_actions",
    "trigger_id": "T1",
    "user": {"id": FOUNDER},
    "channel": {"id": "C1"},
    "container": {"message_ts": "1.2"},
    "actions": [{"value": "approve:3f9a1c2e"}],
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(TOKEN, app_token=APP_TOKEN) as server:
        yield server


async def test_signed_press_bolt_cannot_route_gets_400_and_one_warning(
    fake: FakeSlack, bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    slack = SlackChannel(TOKEN, signing_secret=SECRET, base_url=fake.base_url)
    spy = Spy(Gateway(CONFIG, bus, channels={"slack": slack}))
    transport = httpx.ASGITransport(app=Starlette(routes=slack.routes(spy)))
    async with httpx.AsyncClient(transport=transport, base_url="http://equipage") as http:
        with caplog.at_level(logging.DEBUG):
            response = await post(http, {"payload": json.dumps(PRESS)}, form=True)

    assert response.status_code == 400
    await slack.aclose()
    assert spy.received == []
    [line] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert line.name == "channels.slack_app" and line.exc_info is None
    assert "KeyError" in line.getMessage() and "3f9a1c2e" not in caplog.text


async def test_envelope_bolt_cannot_route_is_acked_and_logged_once(
    fake: FakeSlack, bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    channel = SlackChannel(TOKEN, app_token=APP_TOKEN, mode="socket", base_url=fake.base_url)
    spy = Spy(Gateway(CONFIG, bus, channels={"slack": channel}))
    async with running(channel, spy):
        await wait_until(lambda: _connected(fake), what="the socket connected")
        with caplog.at_level(logging.WARNING):
            ack = await acked(fake, fake.push("interactive", PRESS))

    await channel.aclose()
    assert ack.payload is None and spy.received == []
    [line] = [r for r in caplog.records if r.name.startswith("channels.")]
    assert line.levelno == logging.WARNING and "acked unread" in line.getMessage()


def test_bolts_line_about_a_refused_request_keeps_no_form_body() -> None:
    line = "Invalid request signature detected (signature: v0=1, body: token=t&text=our+margin)"

    assert scrub(line) == "Invalid request signature detected (signature: v0=1, body: …"


async def _connected(fake: FakeSlack) -> bool:
    return fake.connected >= 1
