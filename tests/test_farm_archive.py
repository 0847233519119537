"""Moving a crew between farms: one archive out, the same crew back in, nothing else touched."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from equipage.approvals import Approval, Approvals
from equipage.errors import CrewRefused, InputRejected
from equipage.farm import CrewState, Farm, Owner
from equipage.farm.archive import export_crew, import_crew
from equipage.keys import Keys
from tests.farms import empty_farm

ALICE = Owner(platform="console", id="alice", name="Alice")
QUESTION = Approval(id="3f9a1c2e", role="ceo", thread="console:alice", text="Publish the post?")


@pytest.fixture
def farm(tmp_path: Path, redis: aioredis.Redis) -> Farm:
    return empty_farm(tmp_path / "farm", redis)


async def state_of(redis: aioredis.Redis, keys: Keys) -> dict[bytes, bytes | None]:
    """Every key of a crew with its serialized value."""
    return {key: await redis.dump(key) async for key in redis.scan_iter(match=f"{keys.prefix}*")}


async def a_crew_with_work(farm: Farm, name: str) -> Keys:
    await farm.new_crew(name, owner=ALICE)
    keys = Keys(name, farm.registry.keys.namespace)
    await Approvals(farm.redis, keys).open(QUESTION, "ceo:console:alice")
    await farm.redis.xadd(keys.inbox("ceo"), {"env": b"{}"})
    await farm.redis.hset(keys.memory, "fact-1", '{"text": "we sell hosting"}')
    await farm.redis.set(keys.seen("console", "m1"), "stored", ex=3600)
    return keys


def folder_of(farm: Farm, name: str) -> Path:
    return farm.root / "crews" / name


async def test_a_crew_exported_deleted_and_imported_comes_back_whole(
    farm: Farm, tmp_path: Path
) -> None:
    keys = await a_crew_with_work(farm, "alice")
    before = await state_of(farm.redis, keys)
    config = (folder_of(farm, "alice") / "company.yaml").read_text()
    archive = tmp_path / "alice.tar.gz"

    assert await export_crew(farm.registry, folder_of(farm, "alice"), "alice", archive) == len(
        before
    )
    await farm.delete_crew("alice")
    assert await state_of(farm.redis, keys) == {}
    crew = await import_crew(farm.registry, farm.root, archive)

    assert crew.state is CrewState.ACTIVE
    assert await state_of(farm.redis, keys) == before
    assert (folder_of(farm, "alice") / "company.yaml").read_text() == config
    # The open question can still be answered: it and its waiting thread are back.
    approvals = Approvals(farm.redis, keys)
    assert await approvals.get(QUESTION.id) == QUESTION
    assert await approvals.waiting_on("ceo:console:alice") == (QUESTION.id,)
    assert 0 < await farm.redis.ttl(keys.seen("console", "m1")) <= 3600


async def test_a_paused_crew_comes_back_paused(farm: Farm, tmp_path: Path) -> None:
    await a_crew_with_work(farm, "bob")
    await farm.registry.pause("bob")
    archive = tmp_path / "bob.tar.gz"
    await export_crew(farm.registry, folder_of(farm, "bob"), "bob", archive)
    await farm.delete_crew("bob")

    assert (await import_crew(farm.registry, farm.root, archive)).state is CrewState.PAUSED


async def test_an_import_over_an_existing_crew_is_refused_and_changes_nothing(
    farm: Farm, tmp_path: Path
) -> None:
    keys = await a_crew_with_work(farm, "alice")
    archive = tmp_path / "alice.tar.gz"
    await export_crew(farm.registry, folder_of(farm, "alice"), "alice", archive)
    await farm.redis.hset(keys.memory, "fact-2", '{"text": "learnt since"}')
    before = await state_of(farm.redis, keys)

    with pytest.raises(CrewRefused):
        await import_crew(farm.registry, farm.root, archive)

    assert await state_of(farm.redis, keys) == before


def rewrite(archive: Path, target: Path, change: dict[str, bytes | None]) -> None:
    """``archive`` with members replaced, added (bytes) or dropped (None)."""
    with tarfile.open(archive, "r:gz") as source, tarfile.open(target, "w:gz") as out:
        members = {m.name: source.extractfile(m).read() for m in source}  # type: ignore[union-attr]
        for name, data in {**members, **change}.items():
            if data is None:
                continue
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))


async def test_an_archive_that_writes_into_another_crew_is_refused_before_anything_is_written(
    farm: Farm, tmp_path: Path
) -> None:
    await a_crew_with_work(farm, "mallory")
    archive = tmp_path / "mallory.tar.gz"
    await export_crew(farm.registry, folder_of(farm, "mallory"), "mallory", archive)
    await farm.delete_crew("mallory")
    victim = await a_crew_with_work(farm, "alice")
    before = await state_of(farm.redis, victim)
    with tarfile.open(archive, "r:gz") as tar:
        manifest = tar.extractfile("manifest.json").read()  # type: ignore[union-attr]
    mallory = Keys("mallory", farm.registry.keys.namespace)
    forged = manifest.replace(mallory.prefix.encode(), victim.prefix.encode(), 1)
    evil = tmp_path / "evil.tar.gz"
    rewrite(archive, evil, {"manifest.json": forged})

    with pytest.raises(InputRejected, match="outside crew 'mallory'"):
        await import_crew(farm.registry, farm.root, evil)

    assert await state_of(farm.redis, victim) == before
    assert [c.name for c in await farm.registry.crews()] == ["alice"]


@pytest.mark.parametrize("member", ["files/../../escaped.txt", "/etc/cron.d/x", "notes.txt"])
async def test_an_archive_member_outside_the_crew_folder_is_refused(
    farm: Farm, tmp_path: Path, member: str
) -> None:
    await a_crew_with_work(farm, "carol")
    archive = tmp_path / "carol.tar.gz"
    await export_crew(farm.registry, folder_of(farm, "carol"), "carol", archive)
    await farm.delete_crew("carol")
    evil = tmp_path / "evil.tar.gz"
    rewrite(archive, evil, {member: b"pwned"})

    with pytest.raises(InputRejected, match="which no export writes"):
        await import_crew(farm.registry, farm.root, evil)

    assert not (tmp_path / "escaped.txt").exists()
    assert await farm.registry.crews() == []


async def test_something_that_is_not_an_archive_is_refused_clearly(
    farm: Farm, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tar")

    with pytest.raises(InputRejected, match="is not a crew archive"):
        await import_crew(farm.registry, farm.root, junk)
