"""The farm's one way in, over a real Redis: routing by identity, strangers, /crew, isolation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from channels.farm_gateway import FarmGateway
from channels.gateway import Gateway
from equipage.approvals import Approval, Approvals
from equipage.bus import Bus
from equipage.chat import Incoming
from equipage.config import load_config
from equipage.envelope import Envelope, Kind, Origin
from equipage.farm import CrewState, Farm, Owner, Registry, crew_config, init_folder
from equipage.farm.archive import import_crew
from equipage.keys import Keys
from equipage.memory import Memory
from equipage.testing import stream_entries
from tests.farms import BOB, alpha_and_beta


@pytest.fixture
async def farm(tmp_path: Path, redis: aioredis.Redis) -> Farm:
    return await alpha_and_beta(tmp_path, redis)


@pytest.fixture
async def gateways(farm: Farm) -> AsyncIterator[dict[str, Gateway]]:
    built: dict[str, Gateway] = {}
    yield built
    for gateway in built.values():
        await gateway.aclose()


@pytest.fixture
def front(farm: Farm, gateways: dict[str, Gateway]) -> FarmGateway:
    async def gateway_for(name: str) -> Gateway:
        if name not in gateways:
            config = load_config(crew_config(farm.root, name))
            gateways[name] = Gateway(config, Bus(farm.redis, farm.keys(name)), channels={})
        return gateways[name]

    async def forget(name: str) -> None:
        gone = gateways.pop(name, None)
        if gone is not None:
            await gone.aclose()

    return FarmGateway(farm, gateway_for, forget=forget)


def said(user: str, text: str, message_id: str | None = None) -> Incoming:
    return Incoming(channel="telegram", chat=user, user=user, text=text, message_id=message_id)


async def inbox(farm: Farm, crew: str) -> list[Envelope]:
    entries = await stream_entries(farm.redis, farm.keys(crew).inbox("ceo"))
    return [Envelope.decode(fields[b"env"]) for _, fields in entries]


async def answer(front: FarmGateway, user: str, text: str) -> str:
    [reply] = await front.receive(said(user, text))
    return reply.text


async def code_of(front: FarmGateway, user: str) -> str:
    text = await answer(front, user, "Hello, I would like to join please")
    assert "pairing code" in text
    return text.split("pairing code ")[1].split(" ")[0]


# -- routing ------------------------------------------------------------------------------------
async def test_an_owner_s_message_reaches_their_own_crew_and_no_other(
    front: FarmGateway, farm: Farm
) -> None:
    assert await front.receive(said("111", "Prépare un post de lancement")) == []
    assert await front.receive(said("222", "Find this week's tenders")) == []

    [task] = await inbox(farm, "alpha")
    assert (task.company, task.text, task.sender) == (
        "alpha",
        "Prépare un post de lancement",
        "member:owner",
    )
    assert [t.text for t in await inbox(farm, "beta")] == ["Find this week's tenders"]


async def test_a_person_in_two_crews_is_asked_to_pick_then_reaches_the_pick(
    front: FarmGateway, farm: Farm
) -> None:
    await farm.people.add("telegram:111", "beta")
    await farm.redis.hset(farm.keys("beta").identities, "telegram:111", "alice")

    text = await answer(front, "111", "Hello there, what is new?")
    assert "/crew use" in text and "alpha, beta" in text
    assert await inbox(farm, "alpha") == [] and await inbox(farm, "beta") == []

    assert "beta" in await answer(front, "111", "/crew use beta")
    assert await front.receive(said("111", "Hello there, what is new?")) == []
    assert [t.text for t in await inbox(farm, "beta")] == ["Hello there, what is new?"]
    assert "In use: beta" in await answer(front, "111", "/crew")


async def test_crew_use_of_a_crew_you_do_not_belong_to_is_refused(
    front: FarmGateway, farm: Farm
) -> None:
    text = await answer(front, "111", "/crew use beta")

    assert "beta" in text and "alpha" in text
    assert await farm.people.choice("telegram:111") is None
    await front.receive(said("111", "Bonjour, quoi de neuf ?"))
    assert await inbox(farm, "beta") == []


async def test_a_paused_crew_tells_its_people_their_message_was_not_kept(
    front: FarmGateway, farm: Farm
) -> None:
    await farm.registry.pause("beta")

    text = await answer(front, "222", "Find this week's tenders")

    assert "paused" in text and "not kept" in text
    assert await inbox(farm, "beta") == []
    assert await farm.people.crews_of("telegram:222") == ["beta"]  # pausing keeps people
    await farm.registry.resume("beta")
    assert await front.receive(said("222", "Find this week's tenders")) == []
    assert len(await inbox(farm, "beta")) == 1


async def test_the_farm_answers_in_the_crew_s_language(front: FarmGateway, farm: Farm) -> None:
    await farm.registry.pause("alpha")
    assert "en pause" in await answer(front, "111", "/status")
    assert "Vos équipages : alpha" in await answer(front, "111", "/crew")


# -- strangers and pairing -------------------------------------------------------------------
async def test_a_stranger_gets_a_farm_code_and_reaches_no_crew(
    front: FarmGateway, farm: Farm
) -> None:
    code = await code_of(front, "333")

    assert await code_of(front, "333") == code  # the same code while it waits
    assert await inbox(farm, "alpha") == [] and await inbox(farm, "beta") == []


async def test_the_owner_pairs_a_stranger_into_their_crew_only(
    front: FarmGateway, farm: Farm
) -> None:
    code = await code_of(front, "333")

    text = await answer(front, "111", f"/pair {code}")

    assert "alpha" in text and "333" in text
    assert await farm.people.crews_of("telegram:333") == ["alpha"]
    assert await front.receive(said("333", "Hello crew, I am Carol")) == []
    [task] = await inbox(farm, "alpha")
    assert task.sender == "member:telegram-333"
    assert await inbox(farm, "beta") == []
    assert await farm.redis.hget(farm.keys("beta").identities, "telegram:333") is None


async def test_a_member_who_is_not_the_owner_cannot_pair(front: FarmGateway, farm: Farm) -> None:
    carol = await code_of(front, "333")
    await answer(front, "111", f"/pair {carol}")
    dave = await code_of(front, "444")

    text = await answer(front, "333", f"/pair {dave}")

    assert "Seul le propriétaire" in text  # alpha speaks French
    assert await farm.people.crews_of("telegram:444") == []


async def test_the_admin_pairs_a_stranger_into_the_crew_named(
    front: FarmGateway, farm: Farm
) -> None:
    code = await code_of(front, "333")
    assert code in await answer(front, "999", "/crew pair")

    text = await answer(front, "999", f"/crew pair {code} beta")

    assert "beta" in text
    assert await farm.people.crews_of("telegram:333") == ["beta"]
    assert (await answer(front, "999", f"/crew pair {code} beta")).startswith("No pending")


async def test_an_owner_cannot_pair_into_another_crew(front: FarmGateway, farm: Farm) -> None:
    code = await code_of(front, "333")

    refused = await answer(front, "111", f"/crew pair {code} beta")

    assert "admin" in refused
    assert await farm.people.crews_of("telegram:333") == []
    assert await farm.redis.hget(farm.keys("beta").identities, "telegram:333") is None


async def test_an_owner_cannot_approve_a_code_another_crew_gave(
    front: FarmGateway, farm: Farm, gateways: dict[str, Gateway]
) -> None:
    # A stranger who wrote to beta's own bot holds a code of beta's, under beta's keys.
    beta = await front.gateway_for("beta")
    [refusal] = await beta.receive(said("333", "Hello, let me in please"))
    code = refusal.text.split("pairing code ")[1].split(" ")[0]

    text = await answer(front, "111", f"/pair {code}")

    assert code in text  # alpha's gateway knows no such code
    assert await farm.redis.hget(farm.keys("alpha").identities, "telegram:333") is None
    assert await farm.redis.hget(farm.keys("beta").identities, "telegram:333") is None
    assert await farm.people.crews_of("telegram:333") == []


async def test_strangers_past_the_limit_get_no_code(farm: Farm, front: FarmGateway) -> None:
    crowded = FarmGateway(farm, front.gateway_for, max_pending=1)
    await code_of(crowded, "333")

    assert "too many" in await answer(crowded, "444", "Hello, may I join?")


async def test_the_terminal_reaches_the_crew_of_its_console_identity(
    front: FarmGateway, farm: Farm
) -> None:
    await farm.new_crew("gamma", owner=Owner(platform="console", id="carol", name="Carol"))

    sent = Incoming(channel="cli", chat="carol", user="carol", text="Hello crew")
    assert await front.receive(sent) == []
    assert [t.text for t in await inbox(farm, "gamma")] == ["Hello crew"]


# -- admin commands -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "command",
    [
        "/crew list",
        "/crew pause beta",
        "/crew resume beta",
        "/crew delete beta",
        "/crew new gamma telegram:555",
        "/crew pair ABCDEF beta",
    ],
)
async def test_admin_commands_are_refused_to_everyone_else(
    front: FarmGateway, farm: Farm, command: str
) -> None:
    text = await answer(front, "111", command)

    assert "admin" in text
    assert [c.name for c in await farm.registry.crews()] == ["alpha", "beta"]
    assert (await farm.registry.get("beta")).state is CrewState.ACTIVE


async def test_the_admin_runs_a_crew_s_life_from_chat(
    front: FarmGateway, farm: Farm, gateways: dict[str, Gateway]
) -> None:
    assert "beta (active" in await answer(front, "999", "/crew list")
    created = await answer(front, "999", "/crew new gamma telegram:555 fr")
    assert "gamma" in created and "welcome" in created
    gamma = await farm.registry.get("gamma")
    assert (gamma.owner.id, gamma.language) == ("555", "fr")
    assert await farm.people.crews_of("telegram:555") == ["gamma"]
    [welcome] = await outbox(farm, "gamma")
    assert welcome.origin == Origin(channel="telegram", chat="555", member="owner", language="fr")

    await front.receive(said("222", "Hi, are you there?"))
    assert "beta" in gateways
    assert "paused" in await answer(front, "999", "/crew pause beta")
    assert "beta" not in gateways  # the cache was told
    assert "active again" in await answer(front, "999", "/crew resume beta")

    deleted = await answer(front, "999", "/crew delete beta")
    assert "exports" in deleted and "beta-" in deleted
    [archive] = (farm.root / "exports").iterdir()
    assert archive.name.startswith("beta-") and archive.name.endswith(".tar.gz")
    assert await farm.people.crews_of("telegram:222") == []
    assert "telegram:222" not in str(await farm.people.people_of("beta"))
    assert "no crew is named 'beta'" in await answer(front, "999", "/crew pause beta")


async def test_an_admin_with_no_crew_is_shown_the_farm_commands(front: FarmGateway) -> None:
    assert "/crew new" in await answer(front, "999", "Hello, what can I do here?")


# -- isolation ---------------------------------------------------------------------------------
async def test_a_member_of_one_crew_cannot_answer_another_crew_s_question(
    front: FarmGateway, farm: Farm
) -> None:
    question = Approval(
        id="b0b0b0b0",
        role="ceo",
        thread="telegram:222",
        text="Publish the post?",
        origin=Origin(channel="telegram", chat="222", member="owner"),
    )
    await Approvals(farm.redis, farm.keys("beta")).open(question, "ceo:telegram:222")

    for command in ("/approve b0b0b0b0", "/show b0b0b0b0", "/reject b0b0b0b0 no"):
        text = await answer(front, "111", command)
        assert "b0b0b0b0" in text and "Publish" not in text

    assert await Approvals(farm.redis, farm.keys("beta")).get("b0b0b0b0") == question
    assert await inbox(farm, "beta") == []
    assert await stream_entries(farm.redis, farm.keys("beta").inbox("ceo")) == []


async def outbox(farm: Farm, crew: str) -> list[Envelope]:
    entries = await stream_entries(farm.redis, farm.keys(crew).outbox)
    return [Envelope.decode(fields[b"env"]) for _, fields in entries]


async def test_the_welcome_is_a_reply_to_the_owner_on_the_crew_s_outbox(farm: Farm) -> None:
    crew = await farm.registry.get("alpha")
    await farm.welcome(crew)

    [welcome] = await outbox(farm, "alpha")
    assert (welcome.kind, welcome.to, welcome.company) == (Kind.REPLY, "human", "alpha")
    assert welcome.origin == Origin(channel="telegram", chat="111", member="owner", language="fr")
    assert "équipage alpha est prêt" in welcome.text
    assert await outbox(farm, "beta") == []
    assert isinstance(farm.keys("alpha"), Keys)


# -- /crew export --------------------------------------------------------------------------------
async def test_the_admin_exports_a_crew_that_imports_into_another_farm_with_its_memory(
    front: FarmGateway, farm: Farm, tmp_path: Path
) -> None:
    await Memory(farm.redis, farm.keys("beta")).remember("We sell hosting to small firms", by="ceo")

    text = await answer(front, "999", "/crew export beta")

    [archive] = (farm.root / "exports").iterdir()
    relative = archive.relative_to(farm.root).as_posix()
    assert relative in text and str(farm.root) not in text  # the path in the farm's folder
    assert archive.name.startswith("beta-") and archive.name.endswith(".tar.gz")
    assert (await farm.registry.get("beta")).state is CrewState.ACTIVE  # the crew stays
    # It moves: gone from this farm, then imported into another folder on the same namespace.
    await farm.delete_crew("beta", export=False)
    other = tmp_path / "other"
    init_folder(other)
    registry = Registry(farm.redis, namespace=farm.registry.keys.namespace)
    crew = await import_crew(registry, other, archive)
    assert (crew.name, crew.owner) == ("beta", BOB)
    assert crew_config(other, "beta").is_file()
    facts = await Memory(farm.redis, farm.keys("beta")).all()
    assert [f.text for f in facts] == ["We sell hosting to small firms"]


async def test_exporting_an_unknown_crew_answers_no_such_crew_in_the_farm_s_language(
    front: FarmGateway, farm: Farm
) -> None:
    french = FarmGateway(farm, front.gateway_for, language="fr")

    assert "No crew is named gamma" in await answer(front, "999", "/crew export gamma")
    assert "Aucun équipage ne s'appelle gamma" in await answer(french, "999", "/crew export gamma")
    assert "/crew export NOM" in await answer(french, "999", "Bonjour, que puis-je faire ici ?")
    assert not (farm.root / "exports").exists()


async def test_a_crew_owner_who_is_not_an_admin_cannot_export(
    front: FarmGateway, farm: Farm
) -> None:
    for command in ("/crew export alpha", "/crew export beta"):
        text = await answer(front, "111", command)
        assert "administrateurs" in text  # alpha's owner is answered in alpha's French

    assert not (farm.root / "exports").exists()
