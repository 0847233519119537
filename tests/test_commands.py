"""The command table: workflows add slash commands the gateway hands over without naming them."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from channels.gateway import Gateway
from equipage.bus import Bus
from equipage.commands import Command, Invocation, installed, table
from equipage.errors import ConfigError
from equipage.keys import Keys
from equipage.testing import stream_entries
from tests.test_gateway import CONFIG, said


class Toy:
    """A workflow's command handler that remembers how it was called."""

    def __init__(self) -> None:
        self.calls: list[Invocation] = []

    async def __call__(self, call: Invocation) -> str:
        self.calls.append(call)
        return call.say("ending_live", session=f"{call.member}/{call.rest}")


def test_live_assist_declares_its_call_commands() -> None:
    names = table(installed())

    assert {"/suggest", "/endcall", "/end"} <= set(names)
    assert names["/end"] is names["/endcall"]


def test_a_name_declared_twice_is_refused() -> None:
    toy = Toy()

    with pytest.raises(ConfigError, match="/ping is declared twice"):
        table([Command(("/ping",), toy), Command(("/pong", "/ping"), toy)])


def test_a_name_must_be_a_lower_case_slash_command() -> None:
    with pytest.raises(ConfigError, match="lower case with a leading /"):
        table([Command(("/Ping",), Toy())])


def test_a_workflow_cannot_shadow_the_gateways_own_commands(bus: Bus) -> None:
    with pytest.raises(ConfigError, match="/status is the gateway's own"):
        Gateway(CONFIG, bus, commands=[Command(("/status",), Toy())])


async def test_gateway_hands_a_declared_command_to_its_handler(
    bus: Bus, redis: aioredis.Redis, keys: Keys
) -> None:
    toy = Toy()
    gateway = Gateway(CONFIG, bus, commands=[Command(("/ping",), toy)])
    try:
        [answer] = await gateway.receive(said("bob", "/PING loud", message_id="m9"))
        unknown = await gateway.receive(said("bob", "/suggest pricing"))
    finally:
        await gateway.aclose()

    assert answer.text == "Live session bob/loud is ending."  # in the gateway's wording
    [call] = toy.calls
    assert (call.member, call.rest, call.producer) == ("bob", "loud", "console:m9")
    assert call.redis is redis and call.keys == keys
    # Only the commands given are known: /suggest is a plain task for this gateway.
    assert unknown == []
    [task] = await stream_entries(redis, keys.inbox("ceo"))
    assert b"/suggest pricing" in task[1][b"env"]
