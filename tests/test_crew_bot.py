"""What a farm crew's own bot hears goes to that crew only, under the farm's rules for it."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis.asyncio as aioredis

from channels.crew_bot import CrewBot
from channels.farm_wording import FARM_EN, FARM_FR
from equipage.chat import Incoming, Outgoing
from equipage.config import CompanyConfig, load_config
from equipage.farm import Farm, Owner, Quotas, crew_config
from tests.farms import empty_farm

BOB = Owner(platform="telegram", id="222", name="Bob")


class Heard:
    """Stands for the crew's gateway: keeps what it was handed."""

    def __init__(self, farm: Farm, config: CompanyConfig) -> None:
        self.bus = farm.bus("bob")
        self.config = config
        self.incoming: list[Incoming] = []

    async def receive(self, incoming: Incoming) -> list[Outgoing]:
        self.incoming.append(incoming)
        return []


@pytest.fixture
async def farm(tmp_path: Path, redis: aioredis.Redis) -> Farm:
    made = empty_farm(tmp_path, redis)
    await made.new_crew("bob", owner=BOB, quotas=Quotas(messages_per_minute=1))
    return made


def said(text: str, user: str = "333", message_id: str | None = "7") -> Incoming:
    return Incoming(channel="telegram", chat=user, user=user, text=text, message_id=message_id)


async def test_messages_reach_the_crews_gateway_with_ids_of_their_own_bot(farm: Farm) -> None:
    heard = Heard(farm, load_config(crew_config(farm.root, "bob")))

    async def gateway_for(name: str) -> Heard:
        assert name == "bob"
        return heard

    bot = CrewBot("bob", farm.registry, gateway_for)  # type: ignore[arg-type]
    assert await bot.receive(said("hello")) == []
    # The farm's bot may hand the same crew an update numbered 7 too: not a duplicate.
    assert [i.message_id for i in heard.incoming] == ["own:7"]


async def test_past_its_quota_the_crew_keeps_nothing_and_its_owner_is_told(farm: Farm) -> None:
    heard = Heard(farm, load_config(crew_config(farm.root, "bob")))

    async def gateway_for(name: str) -> Heard:
        return heard

    bot = CrewBot("bob", farm.registry, gateway_for)  # type: ignore[arg-type]
    await bot.receive(said("first"))
    [refused] = await bot.receive(said("second", message_id="8"))
    assert refused.text.startswith(FARM_EN.too_many.split("{")[0])
    assert len(heard.incoming) == 1
    assert await farm.redis.xlen(farm.keys("bob").outbox) == 1  # the owner's notice, once
    await bot.receive(said("/help", message_id="9"))  # commands are not counted
    assert len(heard.incoming) == 2


async def test_a_paused_or_gone_crew_keeps_nothing_and_says_so(farm: Farm) -> None:
    async def gateway_for(name: str) -> Heard:
        raise AssertionError("a crew not served is not loaded")

    await farm.registry.pause("bob")
    bot = CrewBot("bob", farm.registry, gateway_for)  # type: ignore[arg-type]
    [held] = await bot.receive(said("Bonjour, vous êtes là ?"))
    assert held.text == FARM_FR.paused.format(crew="bob")
    [gone] = await CrewBot("zed", farm.registry, gateway_for).receive(said("hello"))  # type: ignore[arg-type]
    assert gone.text == FARM_EN.deleting.format(crew="zed")
