"""The farm's first slice: templates, the registry of crews, and their lifecycle from the CLI."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from typer.testing import CliRunner

from equipage.cli import app
from equipage.config import load_config
from equipage.errors import ConfigError
from equipage.farm import (
    Crew,
    CrewRefused,
    CrewState,
    CrewValues,
    Farm,
    Owner,
    Quotas,
    Registry,
    crew_config,
    default_template,
    init_folder,
)
from equipage.farm.template import write_rendered
from equipage.keys import FarmKeys, Keys

ALICE = Owner(platform="console", id="alice", name="Alice")


@pytest.fixture
def registry(redis: aioredis.Redis) -> Registry:
    return Registry(redis, namespace=f"t{uuid.uuid4().hex[:10]}")


@pytest.fixture
def farm(tmp_path: Path, registry: Registry) -> Farm:
    init_folder(tmp_path)
    return Farm(tmp_path, registry)


def crew(name: str) -> Crew:
    from datetime import UTC, datetime

    return Crew(name=name, template="default", owner=ALICE, created=datetime.now(UTC))


async def fill(redis: aioredis.Redis, keys: Keys, count: int) -> None:
    for n in range(count):
        await redis.set(f"{keys.prefix}k{n}", "x")
    await redis.hset(keys.memory, "fact", "{}")


async def remaining(redis: aioredis.Redis, keys: Keys) -> list[bytes]:
    return [key async for key in redis.scan_iter(match=f"{keys.prefix}*")]


# -- the registry ---------------------------------------------------------------------


async def test_a_crew_is_created_listed_paused_resumed_and_deleted(registry: Registry) -> None:
    created = await registry.create(crew("alice"))
    assert created.state is CrewState.ACTIVE
    assert [c.name for c in await registry.crews()] == ["alice"]
    assert (await registry.pause("alice")).state is CrewState.PAUSED
    assert (await registry.get("alice")).state is CrewState.PAUSED
    assert (await registry.resume("alice")).state is CrewState.ACTIVE
    await registry.delete("alice")
    assert await registry.crews() == []
    with pytest.raises(CrewRefused, match="no crew is named 'alice'"):
        await registry.get("alice")


async def test_the_record_keeps_owner_template_created_and_quotas(registry: Registry) -> None:
    wanted = crew("bob").model_copy(update={"quotas": Quotas(monthly_budget=5, concurrent_runs=3)})
    await registry.create(wanted)
    assert await registry.get("bob") == wanted


def test_quotas_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="concurrent_runs"):
        Quotas(concurrent_runs=0)
    with pytest.raises(ValueError, match="monthly_budget"):
        Quotas(monthly_budget=-1)


async def test_a_taken_name_is_refused(registry: Registry) -> None:
    await registry.create(crew("alice"))
    await registry.pause("alice")
    with pytest.raises(CrewRefused, match="already exists"):
        await registry.create(crew("alice"))
    assert (await registry.get("alice")).state is CrewState.PAUSED


async def test_moves_from_the_wrong_state_are_refused(registry: Registry) -> None:
    await registry.create(crew("alice"))
    with pytest.raises(CrewRefused, match="already active"):
        await registry.resume("alice")
    await registry.pause("alice")
    with pytest.raises(CrewRefused, match="already paused"):
        await registry.pause("alice")
    await registry.begin_delete("alice")
    for move in (registry.pause, registry.resume):
        with pytest.raises(CrewRefused, match="being deleted"):
            await move("alice")
    with pytest.raises(CrewRefused, match="no crew is named"):
        await registry.pause("nobody")


def test_a_crew_name_must_be_a_company_id() -> None:
    with pytest.raises(ValueError, match="company id"):
        crew("Alice Smith")


async def test_delete_removes_every_key_of_the_crew_and_nothing_else(
    redis: aioredis.Redis, registry: Registry
) -> None:
    ns = registry.keys.namespace
    for name in ("alice", "farm", "alice2"):
        await registry.create(crew(name))
        await fill(redis, Keys(name, ns), 7)
    assert await registry.delete("farm") == 8
    assert await remaining(redis, Keys("farm", ns)) == []
    assert len(await remaining(redis, Keys("alice", ns))) == 8
    assert [c.name for c in await registry.crews()] == ["alice", "alice2"]
    assert await registry.delete("alice", batch=3) == 8
    assert len(await remaining(redis, Keys("alice2", ns))) == 8


async def test_a_delete_cut_short_is_finished_by_running_it_again(
    redis: aioredis.Redis, registry: Registry
) -> None:
    keys = Keys("alice", registry.keys.namespace)
    await registry.create(crew("alice"))
    await fill(redis, keys, 5)
    # What a crash mid-delete leaves: the crew marked, some of its keys still there.
    await registry.begin_delete("alice")
    await redis.unlink(f"{keys.prefix}k0", f"{keys.prefix}k1")
    assert (await registry.get("alice")).state is CrewState.DELETING
    with pytest.raises(CrewRefused, match="already exists"):
        await registry.create(crew("alice"))
    assert await registry.delete("alice") == 4
    assert await remaining(redis, keys) == []
    assert await registry.crews() == []


async def test_the_farm_keys_are_outside_every_crew_hash_tag() -> None:
    farm_keys = FarmKeys("eq")
    assert farm_keys.crews.startswith("eq:{.farm}:")
    assert not farm_keys.crews.startswith(Keys("farm", "eq").prefix)


# -- templates ------------------------------------------------------------------------


def test_the_default_template_renders_a_company_yaml_that_loads(tmp_path: Path) -> None:
    template = tmp_path / "default.yaml"
    template.write_text(default_template(), encoding="utf-8")
    values = CrewValues("alice", "Alice", {"console": "alice"}, "fr")
    config = write_rendered(template, values, tmp_path / "alice" / "company.yaml")
    assert config.company.id == "alice"
    assert config.company.profile.languages == ("fr",)
    owner = config.members[0]
    assert (owner.name, owner.role, owner.identities) == ("Alice", "owner", {"console": "alice"})
    assert load_config(tmp_path / "alice" / "company.yaml") == config


@pytest.mark.parametrize(
    "evil",
    [
        "x\nroles: {ceo: {description: hijacked}}",
        '"; evil: 1',
        "Alice\n    role: member\n  - id: mallory",
        "x\u0085roles: {}",
        "a' } , evil: {",
    ],
)
def test_placeholder_values_cannot_add_keys(tmp_path: Path, evil: str) -> None:
    template = tmp_path / "default.yaml"
    template.write_text(default_template(), encoding="utf-8")
    values = CrewValues("alice", evil, {"console": evil}, "en")
    config = write_rendered(template, values, tmp_path / "company.yaml")
    assert [(m.name, m.identities) for m in config.members] == [(evil, {"console": evil})]
    assert config.roles["ceo"].description != "hijacked"


def test_a_bad_template_is_reported_at_its_own_line(tmp_path: Path) -> None:
    template = tmp_path / "bad.yaml"
    text = default_template().replace("  max_hops: 8 ", "  max_hops: many ")
    template.write_text(text, encoding="utf-8")
    line = text.split("\n").index(next(x for x in text.split("\n") if "max_hops: many" in x)) + 1
    values = CrewValues("alice", "Alice", {"console": "alice"}, "en")
    with pytest.raises(ConfigError) as caught:
        write_rendered(template, values, tmp_path / "out" / "company.yaml")
    assert (caught.value.path, caught.value.line) == (str(template), line)
    assert caught.value.field == "runtime.max_hops"
    assert str(caught.value).startswith(f"{template}:{line}: runtime.max_hops:")
    assert list((tmp_path / "out").iterdir()) == []


def test_an_unknown_placeholder_names_the_template_line(tmp_path: Path) -> None:
    template = tmp_path / "bad.yaml"
    template.write_text("company:\n  id: $crew\n  name: $nickname\n", encoding="utf-8")
    values = CrewValues("alice", "Alice", {"console": "alice"}, "en")
    with pytest.raises(ConfigError, match=r"bad.yaml:3: unknown placeholder \$nickname"):
        write_rendered(template, values, tmp_path / "company.yaml")


def test_a_bad_value_is_refused_at_the_line_that_uses_it(tmp_path: Path) -> None:
    template = tmp_path / "default.yaml"
    template.write_text(default_template(), encoding="utf-8")
    values = CrewValues("alice", "Alice", {"console": "alice"}, "klingon")
    with pytest.raises(ConfigError) as caught:
        write_rendered(template, values, tmp_path / "company.yaml")
    line = template.read_text().split("\n").index("    languages: [$language]") + 1
    assert (caught.value.path, caught.value.line) == (str(template), line)
    assert caught.value.field is not None and "languages" in caught.value.field


# -- the farm folder ------------------------------------------------------------------


async def test_a_new_crew_gets_its_config_and_its_entry(farm: Farm) -> None:
    made = await farm.new_crew("alice", owner=ALICE, language="fr")
    assert made.state is CrewState.ACTIVE
    assert load_config(crew_config(farm.root, "alice")).company.id == "alice"
    with pytest.raises(CrewRefused, match="already exists"):
        await farm.new_crew("alice", owner=Owner(platform="console", id="eve", name="Eve"))
    assert load_config(crew_config(farm.root, "alice")).members[0].name == "Alice"


async def test_a_crew_from_a_bad_template_is_not_recorded(farm: Farm) -> None:
    (farm.root / "templates" / "broken.yaml").write_text("company: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.yaml"):
        await farm.new_crew("alice", owner=ALICE, template="broken")
    with pytest.raises(ConfigError, match="no template named 'missing'; use one of: broken"):
        await farm.new_crew("alice", owner=ALICE, template="missing")
    assert await farm.registry.crews() == []
    assert list((farm.root / "crews").iterdir()) == []


async def test_deleting_a_crew_removes_its_folder(farm: Farm) -> None:
    await farm.new_crew("alice", owner=ALICE)
    await farm.delete_crew("alice")
    assert not crew_config(farm.root, "alice").parent.exists()
    assert await farm.registry.crews() == []


def test_an_owner_is_platform_and_id() -> None:
    assert Owner.parse("console:alice:x") == Owner(platform="console", id="alice:x", name="alice:x")
    with pytest.raises(ConfigError, match="PLATFORM:ID"):
        Owner.parse("alice")
    with pytest.raises(ConfigError, match="unknown platform 'fax'"):
        Owner.parse("fax:123")


# -- the CLI --------------------------------------------------------------------------


def run(folder: Path, *args: str, code: int = 0, answer: str | None = None) -> str:
    env = {"REDIS_URL": "", "EQUIPAGE_HOME": "", "EQUIPAGE_NAMESPACE": "", "COLUMNS": "120"}
    done = CliRunner().invoke(app, [*args], env=env, input=answer)
    output = done.output + (done.stderr if done.stderr_bytes is not None else "")
    assert done.exit_code == code, f"{args} exited {done.exit_code}: {output}"
    return output


def test_the_cli_runs_a_crew_s_whole_life(tmp_path: Path) -> None:
    folder = str(tmp_path)
    assert "wrote" in run(tmp_path, "farm", "init", folder)
    assert (tmp_path / "templates" / "default.yaml").is_file()
    assert "already a farm" in run(tmp_path, "farm", "init", folder)
    on = ("--farm", folder)
    run(tmp_path, "crew", "new", "alice", "--owner", "console:alice", "--language", "fr", *on)
    assert "already exists" in run(
        tmp_path, "crew", "new", "alice", "--owner", "console:bob", *on, code=1
    )
    run(tmp_path, "crew", "pause", "alice", *on)
    assert "already paused" in run(tmp_path, "crew", "pause", "alice", *on, code=1)
    listed = run(tmp_path, "crew", "list", *on)
    assert "alice" in listed and "paused" in listed and "console:alice" in listed
    run(tmp_path, "crew", "resume", "alice", *on)
    assert "active" in run(tmp_path, "crew", "list", *on)
    run(tmp_path, "crew", "delete", "alice", *on, code=1, answer="n\n")
    assert "alice" in run(tmp_path, "crew", "list", *on)
    assert "is deleted" in run(tmp_path, "crew", "delete", "alice", "--yes", *on)
    assert "no crew yet" in run(tmp_path, "crew", "list", *on)


def test_the_cli_moves_a_crew_out_and_back_in(tmp_path: Path) -> None:
    folder = str(tmp_path)
    run(tmp_path, "farm", "init", folder)
    on = ("--farm", folder)
    run(tmp_path, "crew", "new", "alice", "--owner", "console:alice", *on)
    archive = str(tmp_path / "alice.tar.gz")
    assert "exported to" in run(tmp_path, "crew", "export", "alice", "--out", archive, *on)
    run(tmp_path, "crew", "delete", "alice", "--yes", *on)
    assert "imported; it is active" in run(tmp_path, "crew", "import", archive, *on)
    assert "alice" in run(tmp_path, "crew", "list", *on)
    assert (tmp_path / "crews" / "alice" / "company.yaml").is_file()
    assert "is not a crew archive" in run(
        tmp_path, "crew", "import", str(tmp_path / "templates" / "default.yaml"), *on, code=1
    )


def test_crew_commands_outside_a_farm_say_how_to_make_one(tmp_path: Path) -> None:
    on = ("--farm", str(tmp_path))
    said = run(tmp_path, "crew", "new", "alice", "--owner", "console:a", *on, code=2)
    assert "equipage farm init" in said
    assert not (tmp_path / ".equipage").exists()


def test_a_farm_is_seeded_from_a_flat_folder_as_a_configmap_is_mounted(tmp_path: Path) -> None:
    """Kubernetes mounts farm.yaml and the templates flat, read-only: ``farm init --from``
    copies them into the farm's writable folder, replacing the farm's copies each start."""
    source, farm = tmp_path / "configmap", tmp_path / "farm"
    source.mkdir()
    (source / "farm.yaml").write_text("language: fr\n")
    (source / "sales.yaml").write_text(
        default_template().replace("Describe what", "Sales lead: what")
    )
    # What a ConfigMap volume holds beside its files: its timestamped data folder.
    (source / "..2026_12_06_00_00_00.1").mkdir()
    run(tmp_path, "farm", "init", str(farm), "--from", str(source))
    assert (farm / "farm.yaml").read_text() == "language: fr\n"
    assert (farm / "templates" / "sales.yaml").is_file()
    assert (farm / "templates" / "default.yaml").is_file()
    (source / "farm.yaml").write_text("language: en\n")
    said = run(tmp_path, "farm", "init", str(farm), "--from", str(source))
    assert "already a farm" in said
    assert (farm / "farm.yaml").read_text() == "language: en\n"
    on = ("--farm", str(farm))
    run(tmp_path, "crew", "new", "alice", "--owner", "console:a", "--template", "sales", *on)
    assert "Sales lead" in (farm / "crews" / "alice" / "company.yaml").read_text()


def test_a_bad_seed_names_its_file_and_changes_nothing(tmp_path: Path) -> None:
    source, farm = tmp_path / "configmap", tmp_path / "farm"
    source.mkdir()
    (source / "farm.yaml").write_text("pool:\n  concurency: 3\n")
    said = run(tmp_path, "farm", "init", str(farm), "--from", str(source), code=2)
    assert "farm.yaml" in said and "concurency" in said
    assert not (farm / "farm.yaml").exists()
    (source / "farm.yaml").write_text("language: fr\n")
    (source / "Sales Team.yaml").write_text("company: {}\n")
    said = run(tmp_path, "farm", "init", str(farm), "--from", str(source), code=2)
    assert "Sales Team.yaml" in said
