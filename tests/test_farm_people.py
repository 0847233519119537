"""The farm's people index, kept right by the crews' lifecycle; admins; delete after an export."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from equipage.envelope import Envelope, Kind
from equipage.farm import Farm, Owner
from equipage.farm.archive import import_crew
from equipage.farm.people import People
from equipage.keys import FarmKeys, Keys
from equipage.status import read_farm_status
from equipage.testing import stream_entries
from tests.farms import empty_farm
from tests.test_farm import run

ALICE = Owner(platform="telegram", id="111", name="Alice")
BOB = Owner(platform="telegram", id="222", name="Bob")


@pytest.fixture
def people(redis: aioredis.Redis) -> People:
    return People(redis, namespace=f"t{uuid.uuid4().hex[:10]}")


@pytest.fixture
def farm(tmp_path: Path, redis: aioredis.Redis) -> Farm:
    return empty_farm(tmp_path, redis)


# -- the index ---------------------------------------------------------------------------------
async def test_a_person_s_crews_are_listed_sorted_and_once(people: People) -> None:
    assert await people.add("telegram:1", "beta")
    assert await people.add("telegram:1", "alpha")
    assert not await people.add("telegram:1", "beta")

    assert await people.crews_of("telegram:1") == ["alpha", "beta"]
    assert await people.crews_of("telegram:2") == []
    assert await people.people_of("beta") == ["telegram:1"]


async def test_a_pick_is_only_among_a_person_s_own_crews(people: People) -> None:
    await people.add("telegram:1", "alpha")
    await people.add("telegram:1", "beta")

    assert not await people.use("telegram:1", "gamma")
    assert not await people.use("telegram:2", "alpha")
    assert await people.choice("telegram:1") is None
    assert await people.use("telegram:1", "beta")
    assert await people.choice("telegram:1") == "beta"


async def test_removing_a_crew_takes_it_off_lists_and_picks(people: People) -> None:
    for person in ("telegram:1", "telegram:2"):
        await people.add(person, "alpha")
        await people.add(person, "beta")
    await people.use("telegram:1", "beta")
    await people.use("telegram:2", "alpha")

    assert await people.forget_crew("beta") == 2

    assert await people.crews_of("telegram:1") == ["alpha"]
    assert await people.choice("telegram:1") is None
    assert await people.choice("telegram:2") == "alpha"
    assert await people.people_of("beta") == []
    await people.forget_crew("alpha")
    assert await people.redis.hlen(people.keys.people) == 0


async def test_forgetting_a_crew_again_after_a_crash_finishes_the_job(people: People) -> None:
    for n in range(250):
        await people.add(f"telegram:{n}", "alpha")
    # A crash after some people left: the rest are still listed under the crew.
    for n in range(100):
        await people.remove(f"telegram:{n}", "alpha")

    assert await people.forget_crew("alpha") == 150
    assert await people.forget_crew("alpha") == 0
    assert await people.redis.exists(people.keys.people, people.keys.people_of("alpha")) == 0


async def test_admins_are_added_listed_and_removed(people: People) -> None:
    assert await people.add_admin("telegram:9")
    assert not await people.add_admin("telegram:9")
    assert await people.is_admin("telegram:9") and not await people.is_admin("telegram:8")
    assert await people.admins() == ["telegram:9"]
    assert await people.remove_admin("telegram:9")
    assert await people.admins() == []


def test_the_index_lives_under_the_farm_s_hash_tag_only() -> None:
    keys = FarmKeys("eq")
    for key in (keys.people, keys.choices, keys.admins, keys.people_of("alice")):
        assert key.startswith("eq:{.farm}:")
        assert not key.startswith(Keys("alice", "eq").prefix)


# -- the lifecycle keeps it right ------------------------------------------------------------
async def test_a_new_crew_lists_its_owner_and_pausing_keeps_them(farm: Farm) -> None:
    await farm.new_crew("alpha", owner=ALICE)
    await farm.new_crew("beta", owner=ALICE)
    await farm.registry.pause("beta")

    assert await farm.people.crews_of("telegram:111") == ["alpha", "beta"]


async def test_deleting_a_crew_exports_it_first_and_forgets_its_people(farm: Farm) -> None:
    await farm.new_crew("alpha", owner=ALICE)
    await farm.new_crew("beta", owner=ALICE)
    await farm.people.use("telegram:111", "alpha")

    deleted = await farm.delete_crew("alpha")

    assert deleted.archive is not None and deleted.archive.is_file()
    assert deleted.archive.parent == farm.root / "exports"
    assert deleted.archive.name.startswith("alpha-")
    assert await farm.people.crews_of("telegram:111") == ["beta"]
    assert await farm.people.choice("telegram:111") is None


async def test_a_delete_cut_short_is_finished_without_a_second_export(farm: Farm) -> None:
    await farm.new_crew("alpha", owner=ALICE)
    await farm.registry.begin_delete("alpha")  # what a crash after the export leaves

    deleted = await farm.delete_crew("alpha")

    assert deleted.archive is None
    assert not (farm.root / "exports").exists()
    assert await farm.people.crews_of("telegram:111") == []
    assert await farm.registry.crews() == []


async def test_an_imported_crew_gets_its_owner_and_paired_people_back(farm: Farm) -> None:
    await farm.new_crew("alpha", owner=ALICE)
    await farm.redis.hset(farm.keys("alpha").identities, "telegram:333", "telegram-333")
    await farm.people.add("telegram:333", "alpha")
    deleted = await farm.delete_crew("alpha")
    assert deleted.archive is not None
    assert await farm.people.crews_of("telegram:333") == []

    await import_crew(farm.registry, farm.root, deleted.archive)

    assert await farm.people.crews_of("telegram:111") == ["alpha"]
    assert await farm.people.crews_of("telegram:333") == ["alpha"]


async def test_the_farm_status_shows_each_crew(farm: Farm) -> None:
    await farm.new_crew("alpha", owner=ALICE)
    await farm.new_crew("beta", owner=BOB)
    await farm.registry.pause("beta")
    await farm.redis.xadd(farm.keys("alpha").inbox("ceo"), {"env": b"{}"})

    crews = await read_farm_status(farm.registry, lambda name: ["ceo", "cto"])

    assert [(c.name, c.state, c.owner, c.queued, c.questions) for c in crews] == [
        ("alpha", "active", "telegram:111", 1, 0),
        ("beta", "paused", "telegram:222", 0, 0),
    ]


# -- the CLI ------------------------------------------------------------------------------------
def test_the_cli_records_admins_welcomes_owners_and_exports_before_deleting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = str(tmp_path)
    on = ("--farm", folder)
    assert "telegram:9 is a farm admin" in run(
        tmp_path, "farm", "init", folder, "--admin", "telegram:9"
    )
    assert "unknown platform" in run(tmp_path, "farm", "init", folder, "--admin", "fax:1", code=2)
    run(tmp_path, "farm", "admin", "add", "console:root", *on)
    assert run(tmp_path, "farm", "admin", "list", *on).split() == ["console:root", "telegram:9"]
    assert "no longer" in run(tmp_path, "farm", "admin", "remove", "console:root", *on)

    assert "welcome" in run(tmp_path, "crew", "new", "alice", "--owner", "telegram:111", *on)
    monkeypatch.chdir(tmp_path)
    shown = run(tmp_path, "status")
    assert "alice" in shown and "telegram:111" in shown and "active" in shown

    deleted = run(tmp_path, "crew", "delete", "alice", "--yes", *on)
    assert "is deleted" in deleted and "exports" in deleted
    [archive] = (tmp_path / "exports").iterdir()
    run(tmp_path, "crew", "import", str(archive), *on)
    assert "alice" in run(tmp_path, "crew", "list", *on)


async def test_the_cli_s_welcome_is_on_the_new_crew_s_outbox(farm: Farm) -> None:
    crew = await farm.new_crew("alpha", owner=ALICE)
    await farm.welcome(crew)

    [(_, fields)] = await stream_entries(farm.redis, farm.keys("alpha").outbox)
    welcome = Envelope.decode(fields[b"env"])
    assert (welcome.kind, welcome.to, welcome.text.split(",")[0]) == (
        Kind.REPLY,
        "human",
        "Hello Alice",
    )
