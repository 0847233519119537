"""A farm crew with a bot of its own: its variables' names, its record, and the farm serving
it beside the farm's shared bot (two fake Bot API servers, one per token)."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import time
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from equipage.app.farming import open_farm_service, serve_farm
from equipage.config import Settings
from equipage.errors import ConfigError
from equipage.farm import Farm, Owner, default_template, init_folder, open_farm
from equipage.farm.archive import export_crew, import_crew
from equipage.farm.bots import bots_in, crew_env_name, shared_names
from equipage.farm.ownbots import build_own_bots, guarded
from equipage.farm.welcome import welcome_text
from equipage.platform import PlatformSetup
from equipage.registry import platform
from equipage.testing import wait_until
from equipage.testing.fake_telegram import FakeTelegram
from tests.farms import empty_farm

FARM_TOKEN, BOB_TOKEN = "111111:FARM-token", "222222:BOB-token"
ALICE, BOB, STRANGER = 1001, 1002, 1999
OWN_BOT = "channels:\n  telegram:\n    mode: polling\n"
HOOK = "https://bob.example.com/crews/bob/telegram/webhook"


def with_own_bot(root: Path, section: str = OWN_BOT) -> None:
    """A template whose crews each get their own bot."""
    (root / "templates" / "own.yaml").write_text(default_template() + section)


# -- names, records ---------------------------------------------------------------------
def test_a_crews_variables_are_named_after_it() -> None:
    assert crew_env_name("bob", "TELEGRAM_BOT_TOKEN") == "EQUIPAGE_CREW_BOB_TELEGRAM_BOT_TOKEN"
    assert crew_env_name("my-team", "X") == "EQUIPAGE_CREW_MY_TEAM_X"
    with pytest.raises(ValueError):
        crew_env_name("Bob!", "X")


def test_two_crews_that_would_read_one_variable_are_both_refused() -> None:
    clashes = shared_names({"my-team": ["telegram"], "my_team": ["telegram"], "bob": ["telegram"]})
    assert clashes == {"my-team": {"my_team"}, "my_team": {"my-team"}}


def test_a_missing_variable_is_named_as_the_crew_reads_it() -> None:
    telegram = platform("telegram")
    section = telegram.config.model_validate({}) if telegram.config else None
    setup = PlatformSetup(telegram, section, {}, prefix="EQUIPAGE_CREW_BOB_")
    with pytest.raises(ConfigError, match="EQUIPAGE_CREW_BOB_TELEGRAM_BOT_TOKEN"):
        telegram.build(setup)


def test_an_archived_config_says_which_bots_it_has() -> None:
    assert bots_in(default_template() + OWN_BOT) == ("telegram",)
    assert bots_in(default_template()) == ()
    assert bots_in("channels: [") == ()
    assert bots_in(None) == ()


@pytest.fixture
def farm(tmp_path: Path, redis: aioredis.Redis) -> Farm:
    made = empty_farm(tmp_path / "farm", redis)
    with_own_bot(made.root)
    return made


async def test_a_new_crew_records_its_own_bots(farm: Farm) -> None:
    owner = Owner(platform="telegram", id=str(BOB), name="Bob")
    bob = await farm.new_crew("bob", owner=owner, template="own")
    alice = await farm.new_crew("alice", owner=owner)
    assert bob.bots == ("telegram",)
    assert alice.bots == ()
    assert (await farm.registry.get("bob")).bots == ("telegram",)


async def test_an_imported_crew_keeps_its_own_bots(farm: Farm, tmp_path: Path) -> None:
    owner = Owner(platform="telegram", id=str(BOB), name="Bob")
    await farm.new_crew("bob", owner=owner, template="own")
    archive = tmp_path / "bob.tar.gz"
    await export_crew(farm.registry, farm.root / "crews" / "bob", "bob", archive)
    await farm.delete_crew("bob", export=False)
    crew = await import_crew(farm.registry, farm.root, archive)
    assert crew.bots == ("telegram",)
    assert (await farm.registry.get("bob")).bots == ("telegram",)


async def test_a_crew_without_its_token_is_skipped_with_one_warning(
    farm: Farm, caplog: pytest.LogCaptureFixture
) -> None:
    owner = Owner(platform="telegram", id=str(BOB), name="Bob")
    await farm.new_crew("bob", owner=owner, template="own")
    await farm.new_crew("carol", owner=owner, template="own")
    # Carol's token is set, but the farm-wide name is no crew's.
    env = {"EQUIPAGE_CREW_CAROL_TELEGRAM_BOT_TOKEN": BOB_TOKEN, "TELEGRAM_BOT_TOKEN": FARM_TOKEN}
    settings = Settings(channel_env=env, namespace=farm.registry.keys.namespace)
    with caplog.at_level(logging.WARNING):
        made = build_own_bots(farm.root, await farm.registry.crews(), settings, farm.redis)
    try:
        assert list(made) == ["carol"]
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "crew bob" in warnings[0]
        assert "EQUIPAGE_CREW_BOB_TELEGRAM_BOT_TOKEN" in warnings[0]
        assert BOB_TOKEN not in caplog.text
    finally:
        for adapters in made.values():
            for adapter in adapters.values():
                await adapter.aclose()


async def test_a_crews_bot_refused_by_its_platform_stops_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def refused(stop: asyncio.Event) -> None:
        raise ConfigError("Telegram refused the bot token: check it with @BotFather")

    with caplog.at_level(logging.WARNING):
        await guarded("bob", "telegram", refused)(asyncio.Event())
    assert "crew bob's own telegram bot stopped" in caplog.text


# -- the farm serving a crew's own bot --------------------------------------------------
class Person:
    """Someone writing from their own Telegram account to one bot (one fake server)."""

    updates = 0

    def __init__(self, bot: FakeTelegram, user: int, name: str) -> None:
        self.bot, self.user, self.name = bot, user, name

    def update(self, text: str) -> dict[str, Any]:
        Person.updates += 1
        n = Person.updates
        chat = {"id": self.user, "type": "private", "first_name": self.name}
        return {
            "update_id": n,
            "message": {
                "message_id": n,
                "from": {"id": self.user, "is_bot": False, "first_name": self.name},
                "chat": chat,
                "date": int(time.time()),
                "text": text,
            },
        }

    def says(self, text: str) -> None:
        self.bot.push_update(self.update(text))

    def texts(self, bot: FakeTelegram | None = None) -> list[str]:
        return [str(m["text"]) for m in (bot or self.bot).messages(self.user)]

    async def hears(self, *words: str, after: int = 0) -> str:
        async def heard() -> bool:
            return any(all(w in t for w in words) for t in self.texts()[after:])

        await wait_until(heard, timeout=60, what=f"{self.name} hears {words}")
        return next(t for t in self.texts()[after:] if all(w in t for w in words))


async def a_farm(root: Path, crews: dict[str, tuple[int, str]]) -> None:
    """A farm at ``root`` with ``crews`` (name -> owner's Telegram id, template)."""
    init_folder(root)
    with_own_bot(root)
    (root / "farm.yaml").write_text("channels:\n  telegram:\n    mode: polling\n")
    async with open_farm(root, Settings()) as farm:
        for name, (user, template) in crews.items():
            owner = Owner(platform="telegram", id=str(user), name=name.title())
            await farm.new_crew(name, owner=owner, template=template)


@pytest.mark.e2e
async def test_a_crew_with_its_own_bot_is_served_beside_the_farms_bot(tmp_path: Path) -> None:
    root = tmp_path / "farm"
    await a_farm(root, {"alice": (ALICE, "default"), "bob": (BOB, "own")})
    async with FakeTelegram(FARM_TOKEN) as shared, FakeTelegram(BOB_TOKEN) as own:
        env = {
            "TELEGRAM_BOT_TOKEN": FARM_TOKEN,
            "TELEGRAM_API_BASE_URL": shared.base_url,
            "EQUIPAGE_CREW_BOB_TELEGRAM_BOT_TOKEN": BOB_TOKEN,
            "EQUIPAGE_CREW_BOB_TELEGRAM_API_BASE_URL": own.base_url,
        }
        alice, bob = Person(shared, ALICE, "Alice"), Person(own, BOB, "Bob")
        stranger = Person(own, STRANGER, "Eve")
        async with open_farm_service(root, Settings(channel_env=env), force_offline=True) as s:
            assert list(s.own_bots) == ["bob"]
            stop = asyncio.Event()
            running = asyncio.create_task(serve_farm(s, stop))
            try:
                # What bob's crew puts on its outbox leaves through bob's bot.
                await s.farm.welcome(await s.farm.registry.get("bob"))
                await bob.hears(welcome_text(await s.farm.registry.get("bob")))
                alice.says("What can you do for me?")
                seen = len(bob.texts())
                bob.says("What can you do for me?")
                await alice.hears("Status note: alice")
                await bob.hears("Status note: bob", after=seen)
                # Through the farm's bot too, bob's crew answers through bob's own.
                seen = len(bob.texts())
                Person(shared, BOB, "Bob").says("What else can you do?")
                await bob.hears("Status note: bob", after=seen)
                # A stranger to bob's bot: bob's crew's own pairing code, not the farm's.
                stranger.says("Hello, who are you?")
                told = await stranger.hears("not a member of this crew")
                code = re.search(r"/pair (\w+)", told)
                assert code is not None, told
                seen = len(bob.texts())
                bob.says(f"/pair {code[1]}")
                await bob.hears(str(STRANGER), after=seen)
                seen = len(stranger.texts())
                stranger.says("Now can you help me?")
                await stranger.hears("Status note: bob", after=seen)
                # Paused by the farm: bob's bot keeps nothing and says so, as the farm's does.
                await s.farm.registry.pause("bob")
                seen = len(bob.texts())
                bob.says("Still there?")
                await bob.hears("paused", after=seen)
            finally:
                stop.set()
                await running
    # Bob's crew spoke through bob's bot only; the farm's bot only to alice.
    assert bob.texts(shared) == [] and stranger.texts(shared) == []
    assert alice.texts(own) == []
    assert not any("any crew" in t for t in stranger.texts())


@pytest.mark.e2e
async def test_a_crews_own_webhook_is_served_under_its_own_path(tmp_path: Path) -> None:
    import httpx

    root = tmp_path / "farm"
    init_folder(root)
    with_own_bot(root, f"channels:\n  telegram:\n    mode: webhook\n    webhook_url: {HOOK}\n")
    port = free_port()
    (root / "farm.yaml").write_text(f"channels:\n  web:\n    port: {port}\n")
    async with open_farm(root, Settings()) as farm:
        owner = Owner(platform="telegram", id=str(BOB), name="Bob")
        await farm.new_crew("bob", owner=owner, template="own")
    async with FakeTelegram(BOB_TOKEN) as own:
        env = {
            "EQUIPAGE_CREW_BOB_TELEGRAM_BOT_TOKEN": BOB_TOKEN,
            "EQUIPAGE_CREW_BOB_TELEGRAM_WEBHOOK_SECRET": "bob-hook-secret",
            "EQUIPAGE_CREW_BOB_TELEGRAM_API_BASE_URL": own.base_url,
        }
        bob = Person(own, BOB, "Bob")
        url = f"http://127.0.0.1:{port}/crews/bob/telegram/webhook"
        headers = {"X-Telegram-Bot-Api-Secret-Token": "bob-hook-secret"}
        async with open_farm_service(root, Settings(channel_env=env), force_offline=True) as s:
            stop = asyncio.Event()
            running = asyncio.create_task(serve_farm(s, stop))
            try:
                await wait_until(lambda: _true(own.webhook is not None), what="webhook set")
                async with httpx.AsyncClient() as client:

                    async def posted() -> bool:
                        try:
                            update = bob.update("What can you do for me?")
                            answer = await client.post(url, json=update, headers=headers)
                        except httpx.TransportError:
                            return False
                        return answer.status_code == 200

                    await wait_until(posted, timeout=30, what="bob's webhook takes an update")
                    refused = await client.post(url, json=bob.update("hi"), headers={})
                    assert refused.status_code in (401, 403)
                await wait_until(lambda: _more(bob, 0), timeout=60, what="bob answered")
            finally:
                stop.set()
                await running
    assert own.webhook is not None and own.webhook["url"] == HOOK
    assert own.called("getUpdates") == []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _more(person: Person, seen: int) -> bool:
    return len(person.texts()) > seen


async def _true(value: bool) -> bool:
    return value
