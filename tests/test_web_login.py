"""The console's door against a real server on 127.0.0.1: links, sessions, CSRF, cookies."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from channels.gateway import Gateway
from equipage.bus import Bus
from equipage.chat import Incoming
from equipage.config import CompanyConfig
from equipage.keys import Keys
from equipage.keys.web import WebKeys
from equipage.web.context import Console
from equipage.web.login import COOKIE, LINK_FOR, issue, login_link, start_session
from equipage.web.pages import PAGES
from equipage.web.serve import Served, console_server

CONFIG = CompanyConfig.model_validate(
    {
        "company": {
            "id": "acme",
            "name": "Acme",
            "profile": {"sells": "cloud hosting", "languages": ["fr", "en"]},
        },
        "members": [
            {"id": "alice", "name": "Alice", "role": "owner", "identities": {"console": "alice"}},
            {"id": "bob", "name": "Bob", "role": "member", "identities": {"telegram": "222"}},
        ],
        "roles": {
            "ceo": {"description": "runs the company"},
            "cto": {"description": "hosting and costs", "tools": ["reply", "ask_human"]},
        },
    }
)


@pytest.fixture
async def served(redis: aioredis.Redis, keys: Keys, tmp_path: Path) -> AsyncIterator[Served]:
    """The crew's console on a free port of 127.0.0.1, answering through a real gateway."""
    gateway = Gateway(CONFIG, Bus(redis, keys), commands=())
    console = Console(redis=redis, keys=keys, config=CONFIG, home=tmp_path)
    async with console_server(console, answer=gateway.receive) as running:
        yield running
    await gateway.aclose()


@asynccontextmanager
async def logged_in(served: Served, link: str) -> AsyncIterator[httpx.AsyncClient]:
    """A browser that opened ``link``: the page posts back, the session cookie is set."""
    async with httpx.AsyncClient(base_url=served.url) as client:
        page = await client.get(link)
        assert page.status_code == 200
        action = re.search(r'<form method="post" action="([^"]+)"', page.text)
        assert action is not None
        entered = await client.post(action.group(1))
        assert entered.status_code == 303 and entered.headers["location"] == "/"
        yield client


def _routes() -> list[tuple[str, str]]:
    """Every page's (method, path), its parameters filled."""
    return sorted(
        {(m, re.sub(r"\{[^}]+\}", "x", page.path)) for page in PAGES for m in page.methods}
    )


async def test_every_page_answers_an_anonymous_visitor_with_the_login_page(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.url) as anonymous:
        for method, path in _routes():
            got = await anonymous.request(
                method, path, data={"csrf": "x"} if method != "GET" else None
            )
            assert got.status_code == 401, (method, path)
            if method == "GET":
                assert "/web" in got.text, path  # the login page says how to get a link


async def test_a_login_link_logs_in_once_and_sets_a_strict_httponly_cookie(
    served: Served, redis: aioredis.Redis, keys: Keys
) -> None:
    link = await login_link(redis, keys, "alice")
    assert link is not None and link.startswith(served.url + "/login/")
    async with logged_in(served, link.removeprefix(served.url)) as client:
        set_cookie = (await _raw_set_cookie(served, redis, keys)).lower()
        assert "httponly" in set_cookie and "samesite=strict" in set_cookie
        assert "secure" not in set_cookie  # plain http on loopback
        assert COOKIE in client.cookies
        overview = await client.get("/")
        assert overview.status_code == 200
        assert "alice" in overview.text
        again = await client.get(link.removeprefix(served.url))
        assert again.status_code == 403
        assert "déjà servi" in again.text  # the company's first language: French


async def _raw_set_cookie(served: Served, redis: aioredis.Redis, keys: Keys) -> str:
    token = await issue(redis, keys, "alice")
    async with httpx.AsyncClient(base_url=served.url) as client:
        entered = await client.post(f"/login/{token}")
    return entered.headers["set-cookie"]


async def test_a_link_previewer_fetching_the_link_does_not_use_it_up(
    served: Served, redis: aioredis.Redis, keys: Keys
) -> None:
    token = await issue(redis, keys, "bob")
    async with httpx.AsyncClient(base_url=served.url) as previewer:
        assert (await previewer.get(f"/login/{token}")).status_code == 200
        assert (await previewer.get(f"/login/{token}")).status_code == 200
    async with logged_in(served, f"/login/{token}") as client:
        assert (await client.get("/")).status_code == 200


async def test_an_expired_link_is_refused(
    served: Served, redis: aioredis.Redis, keys: Keys
) -> None:
    token = await issue(redis, keys, "alice")
    stored = [k async for k in redis.scan_iter(match=WebKeys(keys).login("*"))]
    assert len(stored) == 1 and token.encode() not in stored[0]  # only its hash is kept
    assert 0 < await redis.ttl(stored[0]) <= LINK_FOR
    await redis.delete(*stored)  # what its expiry does
    async with httpx.AsyncClient(base_url=served.url) as client:
        assert (await client.get(f"/login/{token}")).status_code == 403
        refused = await client.post(f"/login/{token}")
        assert refused.status_code == 403 and COOKIE not in refused.headers.get("set-cookie", "")


async def test_a_session_cookie_is_secure_when_served_over_https(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    console = Console(redis=redis, keys=keys, config=CONFIG, home=tmp_path)
    async with console_server(console, public="https://crew.example") as running:
        assert running.url == "https://crew.example"
        assert (await login_link(redis, keys, "alice") or "").startswith("https://crew.example/")
        token = await issue(redis, keys, "alice")
        # The listener is plain http behind the proxy that serves https.
        async with httpx.AsyncClient(base_url=running.listener) as client:
            entered = await client.post(f"/login/{token}")
        assert "secure" in entered.headers["set-cookie"].lower()


async def test_every_post_needs_the_sessions_csrf_token(
    served: Served, redis: aioredis.Redis, keys: Keys
) -> None:
    session_id, session = await start_session(redis, keys, "alice")
    async with httpx.AsyncClient(base_url=served.url, cookies={COOKIE: session_id}) as client:
        missing = await client.post("/logout")
        wrong = await client.post("/logout", data={"csrf": "not-it"})
        _, other = await start_session(redis, keys, "bob")
        someone_elses = await client.post("/logout", data={"csrf": other.csrf})
        assert [missing.status_code, wrong.status_code, someone_elses.status_code] == [403] * 3
        assert (await client.get("/")).status_code == 200  # still logged in
        by_header = await client.post("/logout", headers={"X-CSRF-Token": session.csrf})
        assert by_header.status_code == 303
        assert (await client.get("/")).status_code == 401  # the session is gone


async def test_the_web_chat_command_answers_a_member_with_their_own_link(
    served: Served, redis: aioredis.Redis, keys: Keys
) -> None:
    gateway = Gateway(CONFIG, Bus(redis, keys), commands=())
    try:
        asked = Incoming(channel="console", chat="alice", user="alice", text="/web")
        (answer,) = await gateway.receive(asked)
    finally:
        await gateway.aclose()
    assert served.url in answer.text and "15 minutes" in answer.text
    assert "console web" in answer.text  # the company's first language, as chat speaks
    link = re.search(r"(http://\S+/login/\S+)", answer.text)
    assert link is not None
    async with logged_in(served, link.group(1).removeprefix(served.url)) as client:
        page = await client.get("/")
        assert "alice" in page.text


async def test_the_web_chat_command_says_so_when_no_console_is_served(
    redis: aioredis.Redis, keys: Keys
) -> None:
    gateway = Gateway(CONFIG, Bus(redis, keys), commands=())
    try:
        asked = Incoming(channel="console", chat="alice", user="alice", text="/web please")
        (answer,) = await gateway.receive(asked)
    finally:
        await gateway.aclose()
    assert "equipage up" in answer.text and "/login/" not in answer.text
