"""The README's farm of three crews, end to end: the CLI in its own processes, the farm's
one process serving them all over one shared Telegram bot and one shared Slack app (fake
Bot API and Slack servers)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from equipage.app.farming import open_farm_service, serve_farm
from equipage.config import Settings
from equipage.testing import wait_until
from equipage.testing.fake_slack import FakeSlack
from equipage.testing.fake_telegram import FakeTelegram

TOKEN = "123456:TEST-token"
SLACK_TOKEN, SLACK_APP_TOKEN = "xoxb-farm-token", "xapp-1-A00FAKEAPP01-farm-token"
ADMIN, ALICE, BOB = 1000, 1001, 1002
CAROL, CAROL_DM = "U00CAROL001", "D00CAROLDM1"


async def cli(root: Path, env: dict[str, str], *args: str) -> str:
    """One ``equipage`` command, as a person types it, in a process of its own."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "equipage.cli",
        *args,
        cwd=root,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    text = output.decode()
    assert process.returncode == 0, text
    return text


class SlackPerson:
    """Someone writing to the farm's Slack app in a direct message."""

    def __init__(self, fake: FakeSlack, user: str, dm: str) -> None:
        self.fake, self.user, self.dm = fake, user, dm
        self.name = user
        self.events = 0

    def says(self, text: str) -> None:
        self.events += 1
        ts = f"{int(time.time())}.{self.events:06d}"
        self.fake.push(
            "events_api",
            {
                "type": "event_callback",
                "team_id": "T00FAKE00AA",
                "api_app_id": "A00FAKEAPP01",
                "event_id": f"Ev{self.user}{self.events}",
                "event": {
                    "type": "message",
                    "user": self.user,
                    "ts": ts,
                    "text": text,
                    "channel": self.dm,
                    "event_ts": ts,
                    "channel_type": "im",
                },
                "authorizations": [{"user_id": self.fake.bot_user, "is_bot": True}],
            },
        )

    async def asks(self, text: str) -> None:
        seen = len(self.texts())
        self.says(text)

        async def answered() -> bool:
            return len(self.texts()) > seen

        await wait_until(answered, timeout=60, what=f"an answer to {self.name}")

    def texts(self) -> list[str]:
        mine = {self.user, self.dm}
        return [p.text for p in self.fake.posted if p.body.get("channel") in mine]

    async def hears(self, *words: str) -> str:
        async def heard() -> bool:
            return any(all(w in t for w in words) for t in self.texts())

        await wait_until(heard, timeout=60, what=f"{self.name} hears {words}")
        return next(t for t in self.texts() if all(w in t for w in words))


class Person:
    """Someone writing to the farm's one bot from their own Telegram account."""

    updates = 0

    def __init__(self, fake: FakeTelegram, user: int, name: str) -> None:
        self.fake, self.user, self.name = fake, user, name

    def says(self, text: str) -> None:
        Person.updates += 1
        n = Person.updates
        person = {"id": self.user, "is_bot": False, "first_name": self.name}
        chat = {"id": self.user, "type": "private", "first_name": self.name}
        self.fake.push_update(
            {
                "update_id": n,
                "message": {
                    "message_id": n,
                    "from": person,
                    "chat": chat,
                    "date": int(time.time()),
                    "text": text,
                },
            }
        )

    def presses(self, message: dict[str, Any], data: str) -> None:
        Person.updates += 1
        person = {"id": self.user, "is_bot": False, "first_name": self.name}
        self.fake.push_update(
            {
                "update_id": Person.updates,
                "callback_query": {
                    "id": f"cb{Person.updates}",
                    "from": person,
                    "message": message,
                    "chat_instance": "1",
                    "data": data,
                },
            }
        )

    async def asks(self, text: str) -> None:
        """Say ``text`` and wait for an answer to it."""
        seen = len(self.texts())
        self.says(text)

        async def answered() -> bool:
            return len(self.texts()) > seen

        await wait_until(answered, timeout=60, what=f"an answer to {self.name}")

    def texts(self) -> list[str]:
        return [str(m["text"]) for m in self.fake.messages(self.user)]

    async def hears(self, *words: str, after: int = 0) -> str:
        async def heard() -> bool:
            return any(all(w in t for w in words) for t in self.texts()[after:])

        await wait_until(heard, timeout=60, what=f"{self.name} hears {words}")
        return next(t for t in self.texts()[after:] if all(w in t for w in words))


@pytest.mark.e2e
async def test_a_farm_of_three_crews_from_chat_and_cli_over_one_shared_bot(
    tmp_path: Path,
) -> None:
    root = tmp_path / "farm"
    root.mkdir()
    async with (
        FakeTelegram(TOKEN) as fake,
        FakeSlack(SLACK_TOKEN, app_token=SLACK_APP_TOKEN) as slack,
    ):
        env = {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": fake.base_url,
            "SLACK_BOT_TOKEN": SLACK_TOKEN,
            "SLACK_APP_TOKEN": SLACK_APP_TOKEN,
            "SLACK_API_BASE_URL": slack.base_url,
        }
        await cli(root, env, "farm", "init", ".", "--admin", f"telegram:{ADMIN}")
        (root / "farm.yaml").write_text(
            "channels:\n  telegram:\n    mode: polling\n  slack:\n    mode: socket\n"
        )
        # The first crew from the CLI, before the farm runs: its welcome waits for it.
        made = await cli(root, env, "crew", "new", "alice", "--owner", f"telegram:{ALICE}")
        assert "alice" in made
        settings = Settings(channel_env=Settings.from_env(env).channel_env)
        admin, alice = Person(fake, ADMIN, "Admin"), Person(fake, ALICE, "Alice")
        bob, carol = Person(fake, BOB, "Bob"), SlackPerson(slack, CAROL, CAROL_DM)
        async with open_farm_service(root, settings, force_offline=True) as service:
            stop = asyncio.Event()
            running = asyncio.create_task(serve_farm(service, stop))
            try:
                await alice.hears("alice")  # the welcome, sent once the farm is up
                # Two more crews from chat, by the farm's admin.
                admin.says(f"/crew new bob telegram:{BOB}")
                admin.says(f"/crew new carol slack:{CAROL} fr")
                await bob.hears("bob")
                await carol.hears("carol")
                # Each owner reaches their own crew over the same bot.
                for person in (alice, bob, carol):
                    await person.asks("What can you do for me?")
                # Paused: carol is told, and her crew gets nothing until resumed.
                await cli(root, env, "crew", "pause", "carol")
                await carol.asks("Tu es là ?")
                assert "en pause" in carol.texts()[-1]
                await cli(root, env, "crew", "resume", "carol")
                await carol.asks("Et maintenant ?")
                assert "en pause" not in carol.texts()[-1]
                # Bob's crew asks him a question, then moves: export, delete, import.
                seen = len(bob.texts())
                bob.says("A launch post and a hosting cost note, then publish.")
                await wait_until(lambda: _asked(fake, BOB), timeout=60, what="question")
                question = next(m for m in fake.messages(BOB) if m.get("reply_markup"))
                await cli(root, env, "crew", "export", "bob", "--out", "bob.tar.gz")
                await cli(root, env, "crew", "delete", "bob", "--yes")
                await cli(root, env, "crew", "import", "bob.tar.gz")
                markup = question["reply_markup"]
                markup = json.loads(markup) if isinstance(markup, str) else markup
                approve = markup["inline_keyboard"][0][0]["callback_data"]
                seen = len(bob.texts())
                bob.presses(question, approve)
                await bob.hears("Nothing was published", after=seen)
                # The farm view: every crew, and the serving process's loops.
                shown = await cli(root, env, "status")
                assert all(name in shown for name in ("alice", "bob", "carol"))
                assert "up in 1 process(es)" in shown
            finally:
                stop.set()
                await running
    # Nobody heard anything of another crew.
    for person, crew in ((alice, "alice"), (bob, "bob"), (carol, "carol")):
        others = {"alice", "bob", "carol"} - {crew}
        assert not any(f"crew {o}" in t.lower() for t in person.texts() for o in others)


async def _asked(fake: FakeTelegram, user: int) -> bool:
    return any(m.get("reply_markup") for m in fake.messages(user))
