"""The console in a real browser: Debian's Chromium, headless, driven by Playwright.

Playwright's async API, not pytest-playwright's sync fixtures: the crew, the gateway and
the console run on pytest-asyncio's loop (``asyncio_mode = "auto"``), and the sync API
refuses to run inside a running loop. The browser is Debian's ``/usr/bin/chromium``
(``executable_path``; no downloaded browser); without it these tests skip.

Screenshots of every page go to ``EQUIPAGE_WEB_SCREENSHOTS`` when set (CI keeps them as
artifacts), else to the test's tmp_path; docs/screenshots/ holds three of them.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis.asyncio as aioredis

from channels.gateway import Gateway
from equipage.bus import Bus
from equipage.chat import Incoming
from equipage.config import CompanyConfig
from equipage.costbook import record_call
from equipage.keys import Keys
from equipage.llm.messages import Completion, Usage
from equipage.testing import SONNET_SPEC, ScriptedModel, call, wait_until
from equipage.web.context import Console
from equipage.web.login import login_link
from equipage.web.serve import Served, console_server
from tests.test_crew import crew_running
from tests.test_gateway import FakeChannel

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page, ViewportSize

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's Chromium is not installed (apt-get install chromium)"
)

#: The README's size: what a laptop shows.
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
#: Milliseconds Playwright waits for what a page must show (a real server, a real crew).
WITHIN = 20_000

CONFIG = CompanyConfig.model_validate(
    {
        "company": {
            "id": "acme",
            "name": "Nuage Clair",
            "profile": {"sells": "cloud hosting", "languages": ["fr", "en"]},
        },
        "members": [
            {
                "id": "alice",
                "name": "Alice",
                "role": "owner",
                "identities": {"telegram": "111", "console": "alice"},
            },
        ],
        "roles": {
            "ceo": {"description": "runs the company"},
            "cto": {"description": "hosting and costs", "handles": ["hosting", "cost"]},
            "marketing": {"description": "launch posts", "handles": ["launch post"]},
        },
        "runtime": {"visibility_timeout": 0.3, "max_attempts": 3},
    }
)
#: Where Alice writes from: a Telegram chat, seen through the fake platform below.
CHAT = "111"
THREAD = f"telegram:{CHAT}"
ASKED = "Publish the launch post with the OVH price (12 EUR a month)?"
DONE = "Published: the launch post is live."


@dataclass
class Crewed:
    """A working crew, its gateway and chat platform, and its console being served."""

    served: Served
    gateway: Gateway
    chat: FakeChannel
    redis: aioredis.Redis
    keys: Keys

    def said(self) -> list[str]:
        """What the chat platform was asked to show Alice."""
        return [m.text for m in self.chat.sent]


@asynccontextmanager
async def crew_at_work(redis: aioredis.Redis, keys: Keys, home: Path) -> AsyncIterator[Crewed]:
    """The CEO delegates pricing to the CTO, asks Alice before publishing, then says so."""
    ceo = ScriptedModel(
        [
            call("delegate", "c1", role="cto", brief="Price a small VM at OVH for the launch"),
            Completion(content="Waiting for the CTO."),
            call("ask_human", "q1", question=ASKED),
            call("reply", "r1", text=DONE),
            Completion(content=""),
        ],
        name=SONNET_SPEC,
    )
    cto = ScriptedModel(
        [call("reply", "r1", text="OVH: a small VM costs 12 EUR a month."), Completion()],
        name=SONNET_SPEC,
    )
    chat = FakeChannel("telegram")
    gateway = Gateway(CONFIG, Bus(redis, keys), channels={"telegram": chat})
    console = Console(redis=redis, keys=keys, config=CONFIG, home=home)
    stop = asyncio.Event()
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(
            crew_running(redis, keys, CONFIG, models={"ceo": ceo, "cto": cto})
        )
        served = await stack.enter_async_context(console_server(console, answer=gateway.receive))
        delivering = asyncio.create_task(gateway.deliver("gw-browser", stop, block_ms=50))
        try:
            yield Crewed(served, gateway, chat, redis, keys)
        finally:
            stop.set()
            await delivering
            await gateway.aclose()


@asynccontextmanager
async def chromium() -> AsyncIterator[BrowserContext]:
    """A fresh headless Chromium context (its own cookies), closed afterwards."""
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            context = await browser.new_context(viewport=VIEWPORT)
            context.set_default_timeout(WITHIN)
            yield context
            await context.close()
        finally:
            await browser.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: ``EQUIPAGE_WEB_SCREENSHOTS`` (CI's artifacts) or tmp_path."""
    folder = Path(os.environ.get("EQUIPAGE_WEB_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def log_in(page: Page, crewed: Crewed, member: str = "alice") -> None:
    """Open a one-time link as ``equipage web login`` prints it; land on the overview."""
    link = await login_link(crewed.redis, crewed.keys, member)
    assert link is not None and link.startswith(crewed.served.url + "/login/")
    await page.goto(link)
    await page.wait_for_url(crewed.served.url + "/")


async def test_a_one_time_link_logs_in_once_and_shows_the_crew(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    async with crew_at_work(redis, keys, tmp_path) as crewed, chromium() as context:
        link = await login_link(redis, keys, "alice")
        assert link is not None
        page = await context.new_page()
        await page.goto(link)  # its page posts back by itself: the browser runs the script
        await page.wait_for_url(crewed.served.url + "/")
        assert await page.locator("svg").count() >= 1
        assert "Délègue à" in await page.content()
        cookie = next(c for c in await context.cookies() if c["name"] == "equipage_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        # Another browser given the same link later: it was used, it opens nothing.
        assert context.browser is not None
        elsewhere = await context.browser.new_context()
        stranger = await elsewhere.new_page()
        answer = await stranger.goto(link)
        assert answer is not None and answer.status == 403
        assert await stranger.locator("form").count() == 0
        await elsewhere.close()


async def test_the_owner_watches_the_crew_work_live_and_approves_from_the_browser(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path, shots: Path
) -> None:
    await redis.hset(keys.member_languages(), "alice", "en")  # as chat learns from her words
    async with crew_at_work(redis, keys, tmp_path) as crewed, chromium() as context:
        page = await context.new_page()
        await log_in(page, crewed)
        await page.goto(f"{crewed.served.url}/threads/{THREAD}")
        events = page.locator("#events li")
        assert await events.count() == 0  # nothing happened in this conversation yet

        # Alice writes in Telegram; the page, loaded before, shows the crew's steps as they come.
        said = Incoming(channel="telegram", chat=CHAT, user=CHAT, text="Prepare the launch")
        await crewed.gateway.receive(said.model_copy(update={"message_id": "m1"}))
        await page.locator("#events li", has_text="cto").first.wait_for()
        await page.locator("#events li", has_text="ask_human").first.wait_for()
        await wait_until(lambda: _asked(crewed), what="the question in chat")

        await page.reload()  # the timeline is read from the checkpoints
        await page.get_by_text("Price a small VM at OVH").first.wait_for()
        await page.screenshot(path=shots / "thread.png")

        await page.goto(f"{crewed.served.url}/questions")
        question = page.locator("ol.questions li").first
        await question.get_by_text("OVH price").wait_for()
        await page.screenshot(path=shots / "questions.png")
        await question.locator('input[name="note"]').fill("go")
        await question.locator('button[value="approve"]').click()
        await page.wait_for_url("**/questions?done=1")
        await page.locator("p.note.ok").wait_for()

        # The thread resumes: its answer reaches the chat, and the page says who approved.
        await wait_until(lambda: _told(crewed, DONE), what="the answer in chat")
        assert any("Alice" in text for text in crewed.said())  # who decided, as a button says
        await page.goto(f"{crewed.served.url}/threads/{THREAD}")
        await page.get_by_text("approved").first.wait_for()
        await page.get_by_text(DONE).first.wait_for()
        await page.screenshot(path=shots / "thread-answered.png")
        await page.screenshot(path=shots / "thread-full.png", full_page=True)
        await _every_page(page, crewed, shots)


async def _every_page(page: Page, crewed: Crewed, shots: Path) -> None:
    """A screenshot of each page (the overview in English and in French)."""
    now = datetime.now(UTC)
    for days, role, cost in ((2, "ceo", 0.42), (1, "cto", 0.18), (0, "marketing", 0.31)):
        usage = Usage(input_tokens=4000, output_tokens=600, cache_read_tokens=9000, cost=cost)
        at = now - timedelta(days=days)
        await record_call(
            crewed.redis, crewed.keys, role=role, model=SONNET_SPEC, workflow="", usage=usage, at=at
        )
    base = crewed.served.url
    for name, path in (
        ("overview", "/"),
        ("threads", "/threads"),
        ("costs", "/costs"),
        ("workflows", "/workflows"),
        ("audit", "/audit"),
    ):
        response = await page.goto(base + path)
        assert response is not None and response.status == 200, path
        await page.screenshot(path=shots / f"{name}.png")
    assert await page.locator("html").get_attribute("lang") == "en"
    await crewed.redis.hset(crewed.keys.member_languages(), "alice", "fr")
    await page.goto(base + "/")
    assert await page.locator("html").get_attribute("lang") == "fr"
    await page.screenshot(path=shots / "overview-fr.png")


async def _asked(crewed: Crewed) -> bool:
    return any(ASKED in text for text in crewed.said())


async def _told(crewed: Crewed, text: str) -> bool:
    return any(text in said for said in crewed.said())
