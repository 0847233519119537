"""Chat platforms plug in through the registry: a toy one defined here, and the shipped ones.

The toy platform lives only in this file: it is declared, registered, read from
company.yaml, built from the environment and talked to through the gateway, with no change
to ``equipage``.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from pydantic import Field

from channels.gateway import Gateway
from equipage.bus import Bus
from equipage.channelsetup import platform_channels
from equipage.chat import Downloader, Incoming, Outgoing, Receiver
from equipage.company import ConfigModel
from equipage.config import CompanyConfig, Settings, load_config
from equipage.envelope import Envelope, Kind, Origin
from equipage.errors import ConfigError
from equipage.keys import Keys
from equipage.platform import Capabilities, Platform, PlatformSetup
from equipage.registry import platforms, register_platform, unregister_platform
from equipage.scheduler import owner_origin
from equipage.testing import stream_entries, wait_until


class ToyConfig(ConfigModel):
    """The ``channels.toy`` section."""

    room: str = Field(min_length=1, description="the room the crew listens in")
    loud: bool = Field(False, description="shout every answer")


class ToyChannel:
    """A platform that records what the gateway sends it."""

    name = "toy"

    def __init__(self, token: str, room: str) -> None:
        self.token = token
        self.room = room
        self.sent: list[Outgoing] = []

    async def send(self, message: Outgoing) -> None:
        self.sent.append(message)

    async def run(self, receiver: Receiver, stop: asyncio.Event) -> None:
        await stop.wait()

    def routes(self, receiver: Receiver) -> list[Any]:
        return []


def build_toy(setup: PlatformSetup) -> ToyChannel:
    section: ToyConfig = setup.section
    return ToyChannel(setup.need("TOY_TOKEN"), section.room)


TOY = Platform(
    name="toy",
    build=build_toy,
    config=ToyConfig,
    env={"TOY_TOKEN": "Toy app > Settings > Token"},
    capabilities=Capabilities(),
)

COMPANY = """\
company:
  name: Acme
  profile:
    sells: cloud hosting
members:
  - id: alice
    name: Alice
    role: owner
    identities: {console: alice, toy: t-1}
roles:
  ceo:
    description: runs the company
"""


@pytest.fixture
def toy() -> Iterator[Platform]:
    register_platform(TOY)
    try:
        yield TOY
    finally:
        unregister_platform(TOY.name)


def written(tmp_path: Path, channels: str, extra: str = "") -> Path:
    path = tmp_path / "company.yaml"
    path.write_text(f"{COMPANY}{extra}channels:\n{channels}", encoding="utf-8")
    return path


def line_of(path: Path, snippet: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if snippet in line)


def refused(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value


# -- a toy platform -------------------------------------------------------------------------
async def test_a_toy_platform_from_the_test_file_is_read_built_and_reached_through_the_gateway(
    toy: Platform, tmp_path: Path, bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    config = load_config(written(tmp_path, "  toy: {room: lobby}\n"))
    settings = Settings.from_env({"TOY_TOKEN": "s3cret", "UNRELATED_TOKEN": "x"})

    made = platform_channels(config, settings, redis=redis, keys=keys)

    channel = made["toy"]
    assert isinstance(channel, ToyChannel)
    assert (channel.token, channel.room) == ("s3cret", "lobby")
    assert config.channels.section("toy") == ToyConfig(room="lobby")
    gateway = Gateway(config, bus, channels=made)
    try:
        await gateway.receive(Incoming(channel="toy", chat="t-1", user="t-1", text="hello"))
        [(_, fields)] = await stream_entries(redis, keys.inbox("ceo"))
        task = Envelope.decode(fields[b"env"])
        assert (task.sender, task.thread) == ("member:alice", "toy:t-1")
        reply = Envelope(
            kind=Kind.REPLY,
            company=config.company.id,
            to="human",
            sender="ceo",
            thread="toy:t-1",
            text="Hello Alice.",
            origin=Origin(channel="toy", chat="t-1", member="alice"),
        )
        await bus.publish(reply)
        stop = asyncio.Event()
        delivering = asyncio.create_task(gateway.deliver("gw-toy", stop, block_ms=50))
        await wait_until(lambda: _some(channel.sent), what="the reply sent on the toy platform")
        stop.set()
        await delivering
    finally:
        await gateway.aclose()
    assert [(m.channel, m.chat, m.text) for m in channel.sent] == [("toy", "t-1", "Hello Alice.")]


async def _some(sent: list[Outgoing]) -> bool | None:
    return True if sent else None


def test_a_toy_platform_without_its_variable_fails_at_start_saying_where_to_get_it(
    toy: Platform, tmp_path: Path
) -> None:
    config = load_config(written(tmp_path, "  toy: {room: lobby}\n"))

    with pytest.raises(ConfigError, match="TOY_TOKEN is not set: Toy app > Settings") as raised:
        platform_channels(config, Settings.from_env({}))

    assert raised.value.field == "TOY_TOKEN"


def test_a_mistake_in_a_toy_section_names_the_file_the_line_and_the_field(
    toy: Platform, tmp_path: Path
) -> None:
    path = written(tmp_path, "  toy:\n    room: lobby\n    lowd: true\n")

    error = refused(path)

    assert (error.path, error.field) == (str(path), "channels.toy.lowd")
    assert error.line == line_of(path, "lowd: true")
    assert "did you mean `loud`" in str(error)


def test_a_missing_field_of_a_toy_section_says_where_to_add_it(
    toy: Platform, tmp_path: Path
) -> None:
    path = written(tmp_path, "  toy: {loud: true}\n")

    error = refused(path)

    assert error.field == "channels.toy.room"
    assert error.line == line_of(path, "  toy: {loud")
    assert "add `room:` under channels.toy" in str(error)


def test_a_schedule_may_send_its_result_to_the_toy_platform(toy: Platform, tmp_path: Path) -> None:
    schedule = (
        "workflows: [digest]\nschedules:\n  - name: daily\n    cron: '0 8 * * *'\n"
        "    workflow: digest\n    notify: toy\n"
    )
    config = load_config(written(tmp_path, "  toy: {room: lobby}\n", schedule))

    assert config.schedules[0].notify == "toy"
    assert owner_origin(config) == Origin(channel="toy", chat="t-1", member="alice")


def test_once_unregistered_the_toy_platform_is_an_unknown_one(tmp_path: Path) -> None:
    register_platform(TOY)
    unregister_platform(TOY.name)
    path = written(tmp_path, "  toy: {room: lobby}\n")

    error = refused(path)

    assert (error.field, error.line) == ("channels.toy", line_of(path, "  toy: {room"))
    assert "unknown platform" in str(error)
    assert "TOY_TOKEN" not in Settings.from_env({"TOY_TOKEN": "s3cret"}).channel_env


def test_a_second_platform_under_a_taken_name_is_refused(toy: Platform) -> None:
    other = Platform(name="toy", build=build_toy, config=ToyConfig)

    with pytest.raises(ConfigError, match="already registered"):
        register_platform(other)


# -- the shipped platforms, through the same path --------------------------------------------
@pytest.mark.parametrize(
    ("channels", "at", "field", "says"),
    [
        ("  telegrm: {}\n", "telegrm:", "channels.telegrm", "did you mean `telegram`"),
        ("  irc: {}\n", "irc:", "channels.irc", "use one of: telegram, slack, whatsapp, web"),
        ("  slack:\n    mode: sockets\n", "mode: sockets", "channels.slack.mode", "socket"),
        (
            "  whatsapp: {}\n",
            "whatsapp:",
            "channels.whatsapp.phone_number_id",
            "add `phone_number_id:` under channels.whatsapp",
        ),
        (
            "  telegram:\n    mode: webhook\n    webhook_url: http://x.example/telegram/webhook\n",
            "webhook_url:",
            "channels.telegram.webhook_url",
            "HTTPS",
        ),
        ("  web: {port: 0}\n  telegram: {}\n", "web:", "channels.web.port", "greater than"),
    ],
    ids=["misspelt", "unknown", "bad mode", "missing field", "http webhook", "web port"],
)
def test_a_bad_channels_section_names_the_file_the_line_and_the_field(
    tmp_path: Path, channels: str, at: str, field: str, says: str
) -> None:
    path = written(tmp_path, channels)

    error = refused(path)

    assert (error.path, error.line, error.field) == (str(path), line_of(path, at), field)
    assert str(error).startswith(f"{path}:{error.line}: {field}: ")
    assert says in str(error)


def test_an_unknown_schedule_platform_is_named_with_the_known_ones(tmp_path: Path) -> None:
    schedule = (
        "workflows: [digest]\nschedules:\n  - name: daily\n    cron: '0 8 * * *'\n"
        "    workflow: digest\n    notify: pigeon\n"
    )
    path = written(tmp_path, "  web: {}\n", schedule)

    error = refused(path)

    assert (error.field, error.line) == ("schedules[0].notify", line_of(path, "notify:"))
    assert "telegram, slack, whatsapp" in str(error) and "console" in str(error)


def test_a_config_dumped_and_read_back_keeps_its_platform_sections() -> None:
    data: dict[str, Any] = {
        "company": {"name": "Acme", "profile": {"sells": "hosting"}},
        "members": [{"id": "alice", "name": "Alice", "role": "owner"}],
        "roles": {"ceo": {"description": "runs it"}},
        "channels": {"telegram": {"mode": "webhook"}, "whatsapp": None},
    }
    config = CompanyConfig.model_validate(data)

    again = CompanyConfig.model_validate(config.model_dump(mode="json"))

    assert list(config.channels.sections) == ["telegram"]  # an empty section is off
    assert again.channels.sections == config.channels.sections


@pytest.mark.parametrize(
    ("name", "adapter"),
    [
        ("telegram", "channels.telegram.TelegramChannel"),
        ("slack", "channels.slack.SlackChannel"),
        ("whatsapp", "channels.whatsapp.WhatsAppChannel"),
        ("console", "channels.console.ConsoleChannel"),
    ],
)
def test_a_shipped_platform_declares_what_its_adapter_does(name: str, adapter: str) -> None:
    declared = platforms()[name]
    module, _, attribute = adapter.rpartition(".")
    kind = getattr(importlib.import_module(module), attribute)

    assert kind.name == name
    assert declared.capabilities.typing == hasattr(kind, "typing")
    assert declared.capabilities.files == issubclass(kind, Downloader)
    assert all(declared.env.values()), "every variable says where to get it"
    assert (declared.config is None) == (declared.identity is None)
