"""A farm crew's quotas on a real Redis: messages a minute, memory and stored files.

Each is hit, refused in the person's words (fr and en), told to the owner, raised with
``equipage crew quota`` (``Registry.set_quotas``), then accepted; one crew's quota never
touches another's.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from typer.testing import CliRunner

from channels.farm_gateway import FarmGateway
from channels.gateway import Gateway
from equipage.bus import Bus
from equipage.chat import Incoming
from equipage.cli import app
from equipage.config import CompanyConfig, Settings, load_config
from equipage.crew import build_crew
from equipage.crewfiles import stored_bytes
from equipage.envelope import Envelope, Kind, Origin, ReplyTo, WorkflowCall
from equipage.errors import CrewRefused, MemoryFull
from equipage.farm import Farm, Quotas, crew_config
from equipage.farm.inbound import InboundRate
from equipage.farm.runtimes import Runtimes
from equipage.keys import Keys
from equipage.llm.messages import Completion, ToolCall
from equipage.llm.providers import OFFLINE
from equipage.memory import Memory
from equipage.runtime.filesquota import FilesQuotaRunner
from equipage.testing import ScriptedModel, call, stream_entries, wait_until
from equipage.tools import ThreadContext, Toolbox, workflow_inbox
from tests.farms import ADMIN, BOB, alpha_and_beta


# -- messages a minute, at the farm's gateway ---------------------------------------------------
@pytest.fixture
async def farm(tmp_path: Path, redis: aioredis.Redis) -> Farm:
    return await alpha_and_beta(tmp_path, redis)


@pytest.fixture
async def front(farm: Farm) -> AsyncIterator[FarmGateway]:
    built: dict[str, Gateway] = {}

    async def gateway_for(name: str) -> Gateway:
        if name not in built:
            config = load_config(crew_config(farm.root, name))
            built[name] = Gateway(config, Bus(farm.redis, farm.keys(name)), channels={})
        return built[name]

    yield FarmGateway(farm, gateway_for)
    for gateway in built.values():
        await gateway.aclose()


def said(user: str, text: str) -> Incoming:
    return Incoming(channel="telegram", chat=user, user=user, text=text)


async def answer(front: FarmGateway, user: str, text: str) -> str:
    [reply] = await front.receive(said(user, text))
    return reply.text


async def tasks(farm: Farm, crew: str) -> list[str]:
    entries = await stream_entries(farm.redis, farm.keys(crew).inbox("ceo"))
    return [Envelope.decode(fields[b"env"]).text for _, fields in entries]


async def notices(farm: Farm, crew: str) -> list[Envelope]:
    """What the farm told the crew's owner on its outbox."""
    entries = await stream_entries(farm.redis, farm.keys(crew).outbox)
    found = [Envelope.decode(fields[b"env"]) for _, fields in entries]
    return [e for e in found if e.sender == "farm"]


async def set_messages(farm: Farm, crew: str, per_minute: int) -> None:
    await farm.registry.set_quotas(crew, Quotas(messages_per_minute=per_minute))


async def member_of_beta(front: FarmGateway, user: str = "333") -> None:
    text = await answer(front, user, "Hello, I would like to join please")
    code = text.split("pairing code ")[1].split(" ")[0]
    assert "beta" in await answer(front, ADMIN.split(":")[1], f"/crew pair {code} beta")


async def test_a_member_past_the_quota_is_refused_and_the_owner_told_once(
    front: FarmGateway, farm: Farm
) -> None:
    await member_of_beta(front)
    await set_messages(farm, "beta", 2)

    assert await front.receive(said("333", "Please find this week's tenders")) == []
    assert await front.receive(said("333", "Please draft the launch post")) == []
    refused = await answer(front, "333", "Please book the venue too")
    again = await answer(front, "333", "And order the flyers please")

    assert "at most 2 messages a minute" in refused and "not kept" in refused
    assert "Send it again in" in refused and "crew quota" not in refused  # not theirs to raise
    assert "not kept" in again
    assert await tasks(farm, "beta") == [
        "Please find this week's tenders",
        "Please draft the launch post",
    ]
    [told] = await notices(farm, "beta")
    assert told.origin is not None and told.origin.chat == BOB.id
    assert "reached its limit of 2 messages a minute" in told.text
    assert "equipage crew quota beta --messages-per-minute 12" in told.text


async def test_the_owner_past_the_quota_is_told_in_french_in_their_answer(
    front: FarmGateway, farm: Farm
) -> None:
    await set_messages(farm, "alpha", 1)

    assert await front.receive(said("111", "Prépare un post de lancement")) == []
    refused = await answer(front, "111", "Prépare aussi la facture du mois")
    again = await answer(front, "111", "Et réserve la salle pour jeudi")

    assert "au plus 1 messages par minute" in refused and "n'a pas été gardé" in refused
    assert "equipage crew quota alpha --messages-per-minute 11" in refused
    assert "n'a pas été gardé" in again and "crew quota" not in again  # told once
    assert await notices(farm, "alpha") == []  # their answer told them
    assert await tasks(farm, "alpha") == ["Prépare un post de lancement"]


async def test_a_raised_quota_accepts_messages_at_once(front: FarmGateway, farm: Farm) -> None:
    await set_messages(farm, "beta", 1)
    assert await front.receive(said("222", "Find this week's tenders")) == []
    assert "not kept" in await answer(front, "222", "Draft the launch post")

    await set_messages(farm, "beta", 10)

    assert await front.receive(said("222", "Draft the launch post")) == []
    assert await tasks(farm, "beta") == ["Find this week's tenders", "Draft the launch post"]


async def test_commands_are_not_counted(front: FarmGateway, farm: Farm) -> None:
    await set_messages(farm, "beta", 1)
    for _ in range(3):
        assert "not kept" not in await answer(front, "222", "/help")
    assert "not kept" not in await answer(front, "222", "/crew")

    assert await front.receive(said("222", "Find this week's tenders")) == []


async def test_one_crew_at_its_quota_leaves_another_untouched(
    front: FarmGateway, farm: Farm
) -> None:
    await set_messages(farm, "alpha", 1)
    await set_messages(farm, "beta", 1)
    assert await front.receive(said("111", "Prépare un post de lancement")) == []
    assert "gardé" in await answer(front, "111", "Prépare la facture")

    assert await front.receive(said("222", "Find this week's tenders")) == []
    assert await tasks(farm, "beta") == ["Find this week's tenders"]
    assert await notices(farm, "beta") == []


async def test_the_count_ends_with_its_window(redis: aioredis.Redis, keys: Keys) -> None:
    rate = InboundRate(redis, window=0.3)
    assert (await rate.count(keys, 1)).accepted
    over = await rate.count(keys, 1)
    assert not over.accepted and over.first_over and over.resets_in == 1
    assert 0 < await redis.pttl(keys.inbound_rate) <= 300  # set with the count, never left

    await wait_until(lambda: _gone(redis, keys.inbound_rate), what="the window's end")

    assert (await rate.count(keys, 1)).accepted


async def _gone(redis: aioredis.Redis, key: str) -> bool:
    return not await redis.exists(key)


# -- memory ---------------------------------------------------------------------------------------
async def test_a_fact_past_the_memory_quota_is_refused_and_not_stored(
    redis: aioredis.Redis, keys: Keys
) -> None:
    memory = Memory(redis, keys, limit_bytes=300)
    await memory.remember("We sell cloud hosting to small firms in France", by="ceo")
    await memory.remember("Our VAT number is FR123", by="ceo")
    used = await memory.size()

    with pytest.raises(MemoryFull) as refused:
        await memory.remember("Our biggest customer is Nuage Clair in Lyon", by="ceo")

    assert "memory of crew acme is full" in str(refused.value)
    assert "300-byte quota" in str(refused.value) and "was not remembered" in str(refused.value)
    assert "equipage crew quota acme --memory-kb 2" in str(refused.value)
    assert refused.value.used == used <= 300
    assert [f.text for f in await memory.all()] == [
        "We sell cloud hosting to small firms in France",
        "Our VAT number is FR123",
    ]
    # A fact it knows already costs nothing, full or not.
    await memory.remember("Our VAT number is FR123", by="support")

    memory.limit_bytes = 2048  # what a crew built after 'crew quota --memory-kb 2' gets
    await memory.remember("Our biggest customer is Nuage Clair in Lyon", by="ceo")
    assert len(await memory.all()) == 3


async def test_facts_remembered_at_once_never_pass_the_quota(
    redis: aioredis.Redis, keys: Keys
) -> None:
    memory = Memory(redis, keys, limit_bytes=1000)

    results = await asyncio.gather(
        *(memory.remember(f"fact number {i} of the launch", by="ceo") for i in range(30)),
        return_exceptions=True,
    )

    stored = [r for r in results if not isinstance(r, BaseException)]
    assert stored and all(isinstance(r, MemoryFull) for r in results if r not in stored)
    assert len(await memory.all()) == len(stored)
    assert await memory.size() <= 1000
    records = await redis.hvals(keys.memory)
    assert await memory.size() == sum(len(r) for r in records)


async def test_one_crew_s_full_memory_leaves_another_s_alone(redis: aioredis.Redis) -> None:
    namespace = f"t{uuid.uuid4().hex[:10]}"
    full = Memory(redis, Keys("alpha", namespace), limit_bytes=150)
    await full.remember("We sell cloud hosting to small firms", by="ceo")
    with pytest.raises(MemoryFull, match="crew alpha"):
        await full.remember("Our VAT number is FR123", by="ceo")

    other = Memory(redis, Keys("beta", namespace), limit_bytes=150)
    await other.remember("Our VAT number is FR123", by="ceo")
    assert [f.text for f in await other.all()] == ["Our VAT number is FR123"]


async def test_facts_stored_before_the_size_was_kept_count(
    redis: aioredis.Redis, keys: Keys
) -> None:
    await redis.hset(keys.memory, "old", "x" * 500)  # remembered by an older version

    with pytest.raises(MemoryFull):
        await Memory(redis, keys, limit_bytes=600).remember("a fact of two hundred", by="ceo")
    assert await Memory(redis, keys).size() == 500


async def test_a_company_on_its_own_has_no_memory_quota(redis: aioredis.Redis, keys: Keys) -> None:
    memory = Memory(redis, keys)
    for i in range(5):
        await memory.remember(f"a long fact {i} " + "word " * 400, by="ceo")
    assert await memory.size() > 10_000


def company() -> CompanyConfig:
    return CompanyConfig.model_validate(
        {
            "company": {"id": "acme", "name": "Acme", "profile": {"sells": "cloud hosting"}},
            "members": [
                {"id": "alice", "name": "Alice", "role": "owner", "identities": {"console": "a"}}
            ],
            "roles": {"ceo": {"description": "runs the company"}},
        }
    )


async def test_a_crew_built_with_a_memory_quota_remembers_nothing_past_it(
    redis: aioredis.Redis, keys: Keys
) -> None:
    model = ScriptedModel(
        [
            call("remember", "c1", fact="Our VAT number is FR123"),
            Completion(content="noted", model="scripted", stop_reason="end_turn"),
        ]
    )
    crew = build_crew(company(), redis, keys, models={"ceo": model}, memory_bytes=10)
    task = Envelope(
        kind=Kind.TASK,
        company="acme",
        to="ceo",
        sender="member:alice",
        thread="t1",
        text="Remember our VAT number",
        origin=Origin(channel="console", chat="a", member="alice"),
    )
    try:
        # The tool answers the refusal to the model once equipage.tools reports MemoryFull
        # as a tool error; until then the turn stops on it. Either way nothing is stored.
        with contextlib.suppress(MemoryFull):
            await crew.handlers["ceo"](task)
    finally:
        await crew.aclose()
    assert await redis.hlen(keys.memory) == 0


# -- stored files ---------------------------------------------------------------------------------
def run_of(language: str, *, by_agent: bool = False) -> Envelope:
    return Envelope(
        kind=Kind.WORKFLOW,
        company="acme",
        to=workflow_inbox("digest"),
        sender="ceo" if by_agent else "member:alice",
        thread=f"t-{uuid.uuid4().hex[:8]}",
        origin=Origin(channel="console", chat="a", member="alice", language=language),
        reply_to=ReplyTo(role="ceo", thread="t1", call_id="c1") if by_agent else None,
        workflow=WorkflowCall(name="digest", input={}),
    )


async def handled(redis: aioredis.Redis, keys: Keys, files: Path, limit: int, run: Envelope) -> str:
    crew = build_crew(
        company(), redis, keys, models={"ceo": OFFLINE}, files=files, files_bytes=limit
    )
    try:
        [reply] = await crew.handlers[workflow_inbox("digest")](run)
    finally:
        await crew.aclose()
    return reply.text


async def test_a_workflow_run_is_refused_once_the_crew_s_files_are_full(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    report = tmp_path / "acme" / "coaching" / "report.md"
    report.parent.mkdir(parents=True)
    report.write_bytes(b"x" * 3000)
    (tmp_path / "acme" / "company.yaml").write_text("its config: not a stored file")
    assert stored_bytes(tmp_path / "acme") == 3000

    french = await handled(redis, keys, tmp_path, 2048, run_of("fr"))
    english = await handled(redis, keys, tmp_path, 2048, run_of("en"))
    for_agent = await handled(redis, keys, tmp_path, 2048, run_of("fr", by_agent=True))

    assert french.startswith("erreur : les fichiers de l'équipage acme sont pleins")
    assert "2 Ko" in french and "equipage crew quota acme --files-mb 2" in french
    assert english.startswith("error: the files of crew acme are full")
    assert "equipage crew quota acme --files-mb 2" in english
    assert for_agent.startswith("error: the files of crew acme are full")  # agents read English

    raised = await handled(redis, keys, tmp_path, 2 * 2**20, run_of("en"))
    assert raised.startswith("**Crew activity over the last 24 h**")  # the digest ran


async def test_a_company_on_its_own_has_no_files_quota(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    crew = build_crew(company(), redis, keys, models={"ceo": OFFLINE}, files=tmp_path)
    try:
        assert type(crew.handlers[workflow_inbox("digest")]).__name__ == "WorkflowRunner"
    finally:
        await crew.aclose()


# -- the registry, the pool, the command line -----------------------------------------------------
async def test_set_quotas_changes_the_quotas_only(farm: Farm) -> None:
    await farm.registry.pause("beta")
    before = await farm.registry.get("beta")

    after = await farm.registry.set_quotas("beta", Quotas(messages_per_minute=7))

    assert after.quotas.messages_per_minute == 7
    assert after.model_copy(update={"quotas": before.quotas}) == before  # still paused
    with pytest.raises(CrewRefused, match="no crew is named 'gamma'"):
        await farm.registry.set_quotas("gamma", Quotas())
    await farm.registry.begin_delete("beta")
    with pytest.raises(CrewRefused, match="being deleted"):
        await farm.registry.set_quotas("beta", Quotas())


async def test_a_loaded_crew_takes_its_new_quotas_once_nothing_of_it_runs(farm: Farm) -> None:
    settings = Settings.from_env({"EQUIPAGE_NAMESPACE": farm.registry.keys.namespace})

    def offline(config: CompanyConfig) -> dict[str, Any]:
        return dict.fromkeys(config.roles, OFFLINE)

    runtimes = Runtimes(
        farm.root, farm.registry, settings, consumer="pool-1", models_for=offline, state_every=0
    )
    try:
        loaded = await runtimes.get("beta")
        assert loaded is not None and loaded.cap == 2
        await farm.registry.set_quotas("beta", Quotas(concurrent_runs=5, memory_bytes=4096))

        loaded.running = 1  # one of its runs is in progress: it stays as it is
        assert await runtimes.get("beta") is loaded
        loaded.running = 0
        fresh = await runtimes.get("beta")  # idle now: loaded anew
        assert fresh is not None and fresh is not loaded
        assert fresh.cap == 5 and fresh.record.quotas.memory_bytes == 4096
        digest = fresh.crew.handlers[workflow_inbox("digest")]
        assert isinstance(digest, FilesQuotaRunner)
        assert digest.limit_bytes == Quotas().files_bytes
        assert digest.root == farm.root / "crews" / "beta"  # its own folder, no other's
        assert await runtimes.get("alpha") is not None
        assert await runtimes.unload_idle() == 0  # alpha's quotas did not change
    finally:
        await runtimes.aclose()


def cli(*args: str, code: int = 0) -> str:
    env = {"REDIS_URL": "", "EQUIPAGE_HOME": "", "EQUIPAGE_NAMESPACE": "", "COLUMNS": "140"}
    done = CliRunner().invoke(app, [*args], env=env)
    output = done.output + (done.stderr if done.stderr_bytes is not None else "")
    assert done.exit_code == code, f"{args} exited {done.exit_code}: {output}"
    return output


def test_crew_quota_shows_and_raises_a_crew_s_quotas(tmp_path: Path) -> None:
    on = ("--farm", str(tmp_path))
    cli("farm", "init", str(tmp_path))
    cli("crew", "new", "alice", "--owner", "console:alice", *on)

    shown = cli("crew", "quota", "alice", *on)
    assert "messages a minute" in shown and "30" in shown and "1024.0 KB" in shown

    changed = cli("crew", "quota", "alice", "--messages-per-minute", "90", "--memory-kb", "64", *on)
    assert "90" in changed and "64.0 KB" in changed and "are changed" in changed
    again = cli("crew", "quota", "alice", "--files-mb", "5", *on)
    assert "90" in again and "64.0 KB" in again and "5.0 MB" in again
    cli("crew", "quota", "alice", "--concurrent-runs", "0", *on, code=2)
    assert "no crew is named 'bob'" in cli("crew", "quota", "bob", *on, code=1)


async def test_the_remember_tool_answers_the_model_with_the_quota_when_memory_is_full(
    redis: aioredis.Redis, keys: Keys
) -> None:
    memory = Memory(redis, keys, limit_bytes=200)
    toolbox = Toolbox(["remember"], memory=memory)
    ctx = ThreadContext(
        company="acme", role="ceo", thread="t", cause="e", hops=0, origin=None, reply_to=None
    )
    fact = "Our biggest customer is Nuage Clair in Lyon, since 2019, on the hosting plan. " * 3
    outcome = await toolbox.run(ToolCall(id="c1", name="remember", arguments={"fact": fact}), ctx)
    assert outcome.text.startswith("error: ")
    assert "--memory-kb" in outcome.text
    assert await memory.all() == []
