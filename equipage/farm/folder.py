"""A farm on disk and on its Redis: its templates, its crews' configs, and their lifecycle.

The layout::

    <farm>/templates/<template>.yaml    company.yaml texts with $placeholders
    <farm>/crews/<crew>/company.yaml    each crew's rendered config
    <farm>/exports/<crew>-<UTC time>.tar.gz   what a crew held when it was deleted
    <farm>/.equipage/                   the embedded Redis's data, as for one company
    <farm>/farm.yaml                    the shared bots and the pool (optional)

Redis is found the way a single company finds it (``Settings``: REDIS_URL, else the
embedded server under the folder's EQUIPAGE_HOME).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import redis.asyncio as aioredis

from equipage.bus import Bus
from equipage.config import Settings, load_config
from equipage.connection import check_server, connect, open_target
from equipage.envelope import Envelope
from equipage.errors import ConfigError, CrewRefused
from equipage.farm.archive import export_crew
from equipage.farm.bots import own_bots
from equipage.farm.config import FARM_FILE, load_farm_config
from equipage.farm.crews import Crew, CrewState, Owner, Quotas
from equipage.farm.people import People, identity
from equipage.farm.registry import Registry
from equipage.farm.template import CrewValues, default_template, write_rendered
from equipage.farm.wake import Waker
from equipage.farm.welcome import welcome
from equipage.keys import Keys, validate_company_id

__all__ = [
    "DEFAULT_TEMPLATE",
    "Deleted",
    "Farm",
    "crew_config",
    "export_path",
    "init_folder",
    "open_farm",
    "seed_folder",
]

#: The template ``equipage farm init`` writes and ``crew new`` uses unless told otherwise.
DEFAULT_TEMPLATE = "default"
_TEMPLATE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


def init_folder(root: Path) -> list[Path]:
    """Create the farm's folders and its default template if missing; return what was written."""
    templates = root / "templates"
    templates.mkdir(parents=True, exist_ok=True)
    (root / "crews").mkdir(exist_ok=True)
    default = templates / f"{DEFAULT_TEMPLATE}.yaml"
    if default.exists():
        return []
    default.write_text(default_template(), encoding="utf-8")
    return [default]


def seed_folder(root: Path, source: Path) -> list[Path]:
    """Copy ``farm.yaml`` and the crew templates from ``source`` into the farm at ``root``.

    ``source`` is flat, as a Kubernetes ConfigMap is mounted: ``farm.yaml`` beside one
    ``<template>.yaml`` per template. What it names replaces the farm's copy (it is the
    source of truth); the other templates and the crews stay. Each file is replaced whole
    (a temp file, then a rename), so pods seeding one shared folder at once do not mix.
    """
    if not source.is_dir():
        raise ConfigError("no such folder to seed the farm from", path=str(source))
    load_farm_config(source)  # a mistake names the source file, its line and field
    written = []
    for file in sorted(source.glob("*.yaml")):
        if file.name == FARM_FILE:
            target = root / FARM_FILE
        elif _TEMPLATE_NAME.fullmatch(file.stem):
            target = root / "templates" / file.name
        else:
            raise ConfigError(
                "a template's name is lowercase letters, digits, '-' and '_'", path=str(file)
            )
        staged = target.with_name(f".{target.name}.{os.getpid()}")
        staged.write_bytes(file.read_bytes())
        staged.replace(target)
        written.append(target)
    return written


def crew_config(root: Path, crew: str) -> Path:
    """Where the rendered company.yaml of ``crew`` lives in the farm at ``root``."""
    return root / "crews" / validate_company_id(crew) / "company.yaml"


def export_path(root: Path, crew: str, at: datetime | None = None) -> Path:
    """Where deleting ``crew`` writes its archive: ``exports/<crew>-<UTC time>.tar.gz``."""
    stamp = (at or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return root / "exports" / f"{validate_company_id(crew)}-{stamp}.tar.gz"


@dataclass(frozen=True)
class Deleted:
    """What deleting a crew did: the keys it removed, and the archive written first.

    ``archive`` is None when the delete finished one a crash cut short: the crew was
    exported (and marked ``deleting``) by the first run.
    """

    removed: int
    archive: Path | None


class Farm:
    """One farm: its folder, its registry of crews and its index of people."""

    def __init__(self, root: Path, registry: Registry) -> None:
        self.root = root
        self.registry = registry
        self.people = People(registry.redis, registry.keys.namespace)

    def keys(self, crew: str) -> Keys:
        """The keys of ``crew`` on the farm's Redis."""
        return Keys(crew, self.registry.keys.namespace)

    def bus(self, crew: str) -> Bus:
        """A bus on ``crew``'s keys: enough to put messages on its streams; the pool that
        serves the farm is woken for what it writes (``equipage.farm.wake``)."""
        namespace = self.registry.keys.namespace
        return Bus(self.redis, self.keys(crew), signal=Waker(self.redis, namespace))

    @property
    def redis(self) -> aioredis.Redis:
        return self.registry.redis

    async def record(self) -> bool:
        """Note on Redis that this folder is a farm; False if it was noted already."""
        info = self.registry.keys.info
        created = datetime.now(UTC).isoformat()
        first = await self.redis.hsetnx(info, "created", created)
        await self.redis.hset(info, "root", str(self.root.resolve()))
        return bool(first)

    def template(self, name: str) -> Path:
        """The file of template ``name``; refuse one that is not in ``templates/``."""
        folder = _check_folder(self.root)
        path = folder / f"{name}.yaml"
        if not _TEMPLATE_NAME.fullmatch(name) or not path.is_file():
            known = sorted(p.stem for p in folder.glob("*.yaml"))
            raise ConfigError(
                f"no template named {name!r}; use one of: {', '.join(known) or 'none'}",
                path=str(folder),
                field="template",
            )
        return path

    async def new_crew(
        self,
        name: str,
        *,
        owner: Owner,
        template: str = DEFAULT_TEMPLATE,
        language: str = "en",
        quotas: Quotas | None = None,
    ) -> Crew:
        """Render the crew's config from ``template``, check it loads, then record the crew."""
        try:
            validate_company_id(name)
        except ValueError as err:
            raise ConfigError(f"crew name: {err}", field="name") from err
        source = self.template(template)
        target = crew_config(self.root, name)
        staged = target.with_name("company.yaml.new")
        values = CrewValues(name, owner.name, {owner.platform: owner.id}, language)
        try:
            config = write_rendered(source, values, staged)
        except ConfigError:
            _drop_empty(staged.parent)
            raise
        crew = Crew(
            name=name,
            template=template,
            owner=owner,
            language=language,
            created=datetime.now(UTC),
            quotas=quotas or Quotas(),
            bots=own_bots(config),
        )
        try:
            created = await self.registry.create(crew)
        except CrewRefused:
            staged.unlink()
            _drop_empty(staged.parent)
            raise
        staged.replace(target)
        await self.people.add(identity(owner.platform, owner.id), name)
        return created

    async def welcome(self, crew: Crew) -> Envelope:
        """Put the welcome for ``crew``'s owner on its outbox, addressed to their member id."""
        config = load_config(crew_config(self.root, crew.name))
        return await welcome(crew, self.bus(crew.name), member=config.owner.id)

    async def delete_crew(self, name: str, *, export: bool = True) -> Deleted:
        """Export the crew, then remove its keys, people, folder and entry.

        Resumable after a crash: a crew already ``deleting`` was exported by the first run
        and is not exported again (what is left of it is no longer the whole crew).
        """
        crew = await self.registry.get(name)
        folder = crew_config(self.root, name).parent
        archive = None
        if export and crew.state is not CrewState.DELETING:
            archive = export_path(self.root, name)
            archive.parent.mkdir(parents=True, exist_ok=True)
            await export_crew(self.registry, folder, name, archive)
        await self.registry.begin_delete(name)
        removed = await self.registry.remove_keys(name)
        await self.people.forget_crew(name)
        shutil.rmtree(folder, ignore_errors=True)
        await self.registry.forget(name)
        return Deleted(removed, archive)


@contextlib.asynccontextmanager
async def open_farm(root: Path, settings: Settings) -> AsyncIterator[Farm]:
    """Connect to the farm's Redis (the embedded one under ``root`` unless REDIS_URL is set)."""
    _check_folder(root)
    with open_target(settings.redis_url, root / settings.home) as target:
        redis = connect(target)
        try:
            await check_server(redis)
            yield Farm(root, Registry(redis, settings.namespace))
        finally:
            await redis.aclose()


def _check_folder(root: Path) -> Path:
    """The farm's templates folder; refuse a folder that is not a farm."""
    folder = root / "templates"
    if not folder.is_dir():
        raise ConfigError(
            "this folder is not a farm: it has no templates/; run 'equipage farm init' here",
            path=str(root),
        )
    return folder


def _drop_empty(folder: Path) -> None:
    # A refused crew leaves no folder behind; an existing crew's folder is not empty.
    with contextlib.suppress(OSError):
        folder.rmdir()
