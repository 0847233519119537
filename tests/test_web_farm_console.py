"""A farm's one console on 127.0.0.1: each person logged into their own crew, never another's.

Two crews: alpha (Alice's, in French; Alice also runs the farm) and beta (Bob's). Both
owners are member ``owner`` in their crew's company.yaml, so only the crew a session is
for keeps them apart.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from equipage.approvals import Approval, Approvals
from equipage.bus import Bus
from equipage.envelope import Origin
from equipage.events import Event, EventType
from equipage.farm import Farm
from equipage.keys import Keys
from equipage.llm.messages import Message
from equipage.testing import wait_until
from equipage.web.farmdoor import FarmDoor
from equipage.web.login import COOKIE, address, login_link
from equipage.web.serve import Served, farm_console_server
from tests.consoles import shown
from tests.farms import alpha_and_beta
from tests.test_web_pages import remember

ALICE = Origin(channel="telegram", chat="111", member="owner")
BOB = Origin(channel="telegram", chat="222", member="owner")
#: Words of beta's data that no page of alpha may show.
BETA_SECRETS = ("Bob secret pricing", "b0b0b0b0", "Beta secret question", "beta secret")


@dataclass
class FarmConsole:
    farm: Farm
    door: FarmDoor
    served: Served
    stack: AsyncExitStack

    def keys(self, crew: str) -> Keys:
        return self.farm.keys(crew)

    async def browser(self, crew: str, member: str = "owner") -> httpx.AsyncClient:
        """A browser that opened the link ``/web`` gives ``member`` of ``crew``."""
        link = await login_link(self.farm.redis, self.keys(crew), member)
        assert link is not None and link.startswith(f"{self.served.url}/login/{crew}.")
        client = httpx.AsyncClient(base_url=self.served.url, timeout=10)
        await self.stack.enter_async_context(client)
        page = await client.get(link)
        assert page.status_code == 200
        action = re.search(r'<form method="post" action="([^"]+)"', page.text)
        assert action is not None
        entered = await client.post(action.group(1))
        assert entered.status_code == 303
        return client


@asynccontextmanager
async def farm_console(redis: aioredis.Redis, root: Path) -> AsyncIterator[FarmConsole]:
    farm = await alpha_and_beta(root, redis)
    await farm.people.add_admin("telegram:111")  # Alice runs the farm too; Bob does not
    door = FarmDoor(redis, farm.registry.keys.namespace, root, root / ".equipage")
    async with farm_console_server(door) as served, AsyncExitStack() as stack:
        yield FarmConsole(farm, door, served, stack)


async def _seed(console: FarmConsole) -> None:
    """Each crew's conversation, open question, file and spend."""
    redis = console.farm.redis
    alpha, beta = console.keys("alpha"), console.keys("beta")
    await remember(redis, alpha, "ceo:telegram:111", ALICE, Message.user("Alice launch plan"))
    await remember(redis, beta, "ceo:telegram:222", BOB, Message.user("Bob secret pricing idea"))
    question = Approval(
        id="b0b0b0b0", role="ceo", thread="telegram:222", text="Beta secret question?", origin=BOB
    )
    await Approvals(redis, beta).open(question, "ceo:telegram:222")
    secret = console.farm.root / "crews" / "beta" / "notes" / "secret.md"
    secret.parent.mkdir(parents=True)
    secret.write_text("beta secret file")
    month = datetime.now(UTC).strftime("%Y-%m")
    await redis.hset(beta.spend_month(month), mapping={"ceo": 987.65})


def _clean(response: httpx.Response) -> None:
    assert not any(word in shown(response) for word in BETA_SECRETS), response.request.url


async def test_a_member_of_one_crew_never_sees_another_crews_data(
    redis: aioredis.Redis, tmp_path: Path
) -> None:
    async with farm_console(redis, tmp_path / "farm") as console:
        await _seed(console)
        alice = await console.browser("alpha")
        csrf = await _csrf(alice)
        threads = await alice.get("/threads")
        assert "Alice launch plan" in threads.text
        for path in ("/", "/threads", "/questions", "/costs", "/workflows", "/audit"):
            page = await alice.get(path)
            assert page.status_code == 200, path
            _clean(page)
        # Beta's ids asked for by name, on every page that takes one.
        for path in (
            "/threads/telegram:222",
            "/threads/telegram:222?search=secret",
            "/workflows/download?path=../beta/notes/secret.md",
            "/workflows/download?path=notes/secret.md",
        ):
            _clean(await alice.get(path))
        # The same ids in beta's own console: there, they show.
        bob = await console.browser("beta")
        assert "Bob secret pricing" in shown(await bob.get("/threads/telegram:222"))
        assert "b0b0b0b0" in shown(await bob.get("/questions"))
        answered = await alice.post("/questions/b0b0b0b0/approve", data={"csrf": csrf})
        assert answered.status_code != 303
        assert await Approvals(redis, console.keys("beta")).get("b0b0b0b0") is not None
        assert await redis.xlen(console.keys("beta").inbox("ceo")) == 0


async def test_a_session_or_link_of_one_crew_opens_nothing_of_another(
    redis: aioredis.Redis, tmp_path: Path
) -> None:
    async with farm_console(redis, tmp_path / "farm") as console:
        alice = await console.browser("alpha")
        cookie = alice.cookies[COOKIE]
        assert cookie.startswith("alpha.")
        forged = cookie.replace("alpha.", "beta.", 1)
        for value in (forged, "gamma.x", "no-crew", "../x.y"):
            async with httpx.AsyncClient(
                base_url=console.served.url, cookies={COOKIE: value}
            ) as other:
                assert (await other.get("/")).status_code == 401, value
        link = await login_link(redis, console.keys("alpha"), "owner")
        assert link is not None
        moved = link.replace("/login/alpha.", "/login/beta.", 1)
        async with httpx.AsyncClient() as other:
            assert (await other.post(moved)).status_code == 403
            assert (await other.post(link)).status_code == 303  # the real one still works
        # A crew deleted: its sessions go with its keys.
        bob = await console.browser("beta")
        assert (await bob.get("/")).status_code == 200
        await console.farm.delete_crew("beta", export=False)
        assert (await bob.get("/")).status_code == 401


async def test_the_farms_admins_get_the_farm_page_and_pause_a_crew_through_it(
    redis: aioredis.Redis, tmp_path: Path
) -> None:
    async with farm_console(redis, tmp_path / "farm") as console:
        alice, bob = await console.browser("alpha"), await console.browser("beta")
        overview = await alice.get("/")
        assert 'href="/farm"' in overview.text and "Ferme" in overview.text  # alpha: French
        assert 'href="/farm"' not in (await bob.get("/")).text
        assert (await bob.get("/farm")).status_code == 403
        farm = await alice.get("/farm")
        assert 'data-crew="alpha"' in farm.text and 'data-crew="beta"' in farm.text
        csrf = await _csrf(alice)
        paused = await alice.post("/farm/pause", data={"csrf": csrf, "crew": "beta"})
        assert paused.status_code == 200 and "L'équipage beta est en pause." in shown(paused)
        assert (await console.farm.registry.get("beta")).state.value == "paused"
        refused = await bob.post("/farm/resume", data={"csrf": await _csrf(bob), "crew": "beta"})
        assert refused.status_code == 403
        assert (await console.farm.registry.get("beta")).state.value == "paused"


async def test_each_watched_crew_has_one_live_reader_while_its_browsers_follow(
    redis: aioredis.Redis, tmp_path: Path
) -> None:
    async with farm_console(redis, tmp_path / "farm") as console:
        alices = [await console.browser("alpha"), await console.browser("alpha")]
        bob = await console.browser("beta")
        assert console.door.watched() == []
        async with AsyncExitStack() as streams:
            following = [
                await streams.enter_async_context(client.stream("GET", "/live/overview"))
                for client in (*alices, bob)
            ]
            assert all(r.status_code == 200 for r in following)

            async def both_read() -> bool:
                return console.door.watched() == ["alpha", "beta"]

            await wait_until(both_read, what="one reader per crew")
            alpha = await console.door.crew("alpha")
            assert alpha is not None and len(alpha.hub.subscribers) == 2
            await _step(Bus(redis, console.keys("beta")), "telegram:222", "beta secret step")
            await _step(Bus(redis, console.keys("alpha")), "telegram:111", "alpha step")
            for response in following[:2]:
                seen = await _data(response, "alpha step")
                assert not any("beta secret" in line for line in seen)
            assert "beta secret step" in "".join(await _data(following[2], "beta secret step"))

        async def none_read() -> bool:
            return console.door.watched() == []

        await wait_until(none_read, what="the readers stopped with their last browser")


async def test_the_door_keeps_few_crews_but_never_drops_a_followed_one(
    redis: aioredis.Redis, tmp_path: Path
) -> None:
    farm = await alpha_and_beta(tmp_path / "farm", redis)
    door = FarmDoor(redis, farm.registry.keys.namespace, farm.root, farm.root, keep=1)
    alpha = await door.crew("alpha")
    assert alpha is not None
    async with alpha.hub.subscribe():
        beta = await door.crew("beta")
        assert beta is not None and await door.crew("beta") is beta  # asked for: kept
        assert await door.crew("alpha") is alpha  # followed: kept
        assert await door.crew("beta") is not beta  # neither: dropped as alpha was asked for
    await door.crew("beta")
    assert await door.crew("alpha") is not alpha  # no one follows it: dropped, built again
    assert await door.crew("gamma") is None and await door.crew("../x") is None
    await door.aclose()


async def test_a_farm_crew_has_no_console_until_its_farm_serves_one(
    redis: aioredis.Redis, tmp_path: Path
) -> None:
    async with farm_console(redis, tmp_path / "farm") as console:
        assert await address(redis, console.keys("alpha")) == console.served.url
        assert await address(redis, Keys("alpha", "elsewhere")) is None
    # Not a crew of the farm: no link to the farm's console.
    assert await address(redis, console.keys("gamma")) is None


async def _csrf(client: httpx.AsyncClient) -> str:
    page = await client.get("/")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


async def _step(bus: Bus, thread: str, detail: str) -> None:
    await bus.emit(Event(type=EventType.TOOL, sender="ceo", thread=thread, detail=detail))


async def _data(response: httpx.Response, wanted: str) -> list[str]:
    """The ``data:`` lines read until one holds ``wanted`` (5 s at most)."""
    seen: list[str] = []
    async with asyncio.timeout(5):
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                seen.append(line)
                if wanted in line:
                    return seen
    pytest.fail(f"the stream ended before {wanted!r}")
