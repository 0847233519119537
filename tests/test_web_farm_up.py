"""``equipage farm up`` serves one web console for all its crews, on its gateway side.

A real farm (its own embedded Redis, two crews, the offline model), the console on
127.0.0.1: a link from ``/web`` typed in a crew's chat or from ``equipage web login
--farm``, each logging its person into their own crew; the farm's admin pauses a crew
from the farm page and the crew's owner is told so in chat.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest

from equipage.app.farming import FarmService, open_farm_service, serve_farm
from equipage.approvals import Approval, Approvals
from equipage.chat import Incoming
from equipage.config import Settings
from equipage.envelope import Origin
from equipage.farm import Owner, init_folder
from equipage.testing import wait_until
from equipage.web.login import farm_address
from equipage.worker import consumer_name
from tests.consoles import shown
from tests.test_farm_e2e import cli

ALICE = Origin(channel="console", chat="alice", member="owner")


def _farm(tmp_path: Path) -> Path:
    root = tmp_path / "farm"
    init_folder(root)
    (root / "farm.yaml").write_text("channels:\n  web:\n    console:\n      port: 0\n")
    return root


async def _crews(service: FarmService) -> None:
    """alpha, Alice's (in French; she runs the farm too), and beta, Bob's."""
    farm = service.farm
    await farm.new_crew("alpha", owner=Owner.parse("console:alice"), language="fr")
    await farm.new_crew("beta", owner=Owner.parse("console:bob"))
    await farm.people.add_admin("console:alice")


async def _says(service: FarmService, user: str, text: str) -> str:
    said = await service.front.receive(Incoming(channel="console", chat=user, user=user, text=text))
    return " ".join(answer.text for answer in said)


async def _logged_in(client: httpx.AsyncClient, text: str) -> None:
    """Open the login link in ``text`` and post its page back, as a browser does."""
    found = re.search(r"(http://127\.0\.0\.1:\d+/login/\S+)", text)
    assert found is not None, text
    page = await client.get(found.group(1))
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert page.status_code == 200 and action is not None
    assert (await client.post(action.group(1))).status_code == 303


@pytest.mark.e2e
async def test_farm_up_serves_one_console_each_person_in_their_own_crew(tmp_path: Path) -> None:
    root = _farm(tmp_path)
    async with open_farm_service(root, Settings(), force_offline=True) as service:
        await _crews(service)
        ready: list[str] = []
        stop = asyncio.Event()
        running = asyncio.create_task(serve_farm(service, stop, web_ready=ready.append))
        try:
            await wait_until(lambda: _true(ready), timeout=30, what="the console")
            (url,) = ready
            assert url.startswith("http://127.0.0.1:")
            async with (
                httpx.AsyncClient(base_url=url, timeout=10) as alice,
                httpx.AsyncClient(base_url=url, timeout=10) as bob,
            ):
                # Alice types /web in her crew's chat; Bob asks the CLI for his.
                said = await _says(service, "alice", "/web")
                assert "/login/alpha." in said and "La console web" in said
                await _logged_in(alice, said)
                printed = await cli(root, {}, "web", "login", "--farm", ".", "--crew", "beta")
                assert f"console: {url}" in printed and "/login/beta." in printed
                await _logged_in(bob, printed)
                assert (await alice.get("/")).status_code == 200
                assert 'href="/farm"' in (await alice.get("/")).text
                assert 'href="/farm"' not in (await bob.get("/")).text

                # A question of alpha answered from the browser, through alpha's gateway.
                keys = service.farm.keys("alpha")
                asked = Approval(
                    id="a1a1a1a1", role="ceo", thread="console:alice", text="Go?", origin=ALICE
                )
                await Approvals(service.farm.redis, keys).open(asked, "ceo:console:alice")
                page = await alice.get("/questions")
                assert "a1a1a1a1" in page.text and "a1a1a1a1" not in (await bob.get("/")).text
                csrf = _csrf(page.text)
                done = await alice.post("/questions/a1a1a1a1/approve", data={"csrf": csrf})
                assert done.status_code == 303
                assert await service.farm.redis.xlen(keys.inbox("ceo")) >= 1

                # The farm's admin pauses beta from the farm page; Bob is told so in chat.
                paused = await alice.post("/farm/pause", data={"csrf": csrf, "crew": "beta"})
                assert "L'équipage beta est en pause." in shown(paused)
                assert "paused" in await _says(service, "bob", "Are you there?")
        finally:
            stop.set()
            await running


@pytest.mark.parametrize(("gateway", "workers"), [(True, False), (False, True)])
async def test_the_console_is_served_where_the_gateway_is(
    tmp_path: Path, gateway: bool, workers: bool
) -> None:
    root = _farm(tmp_path)
    settings = Settings()
    async with open_farm_service(
        root, settings, force_offline=True, gateway=gateway, workers=workers
    ) as service:
        stop = asyncio.Event()
        running = asyncio.create_task(serve_farm(service, stop))
        health = service.farm.registry.keys.health(consumer_name())
        try:

            async def reported() -> bool:
                return bool(await service.farm.redis.hlen(health))

            await wait_until(reported, timeout=30, what="the process's loops")
            loops = {_text(name) for name in await service.farm.redis.hkeys(health)}
            assert ("web" in loops) is gateway
            if gateway:
                namespace = service.farm.registry.keys.namespace

                async def published() -> bool:
                    return await farm_address(service.farm.redis, namespace) is not None

                await wait_until(published, what="the console's address")
            else:
                namespace = service.farm.registry.keys.namespace
                assert await farm_address(service.farm.redis, namespace) is None
        finally:
            stop.set()
            await running


async def _true(found: list[str]) -> bool:
    return bool(found)


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def _text(raw: object) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)
