"""A crew as one archive: every key under its hash tag and its folder, to move it between farms.

The archive (tar.gz) holds ``manifest.json`` (the crew's record, the namespace, each key
with its time to live), ``redis/<n>`` (each key as Redis ``DUMP`` gives it: config,
memory, threads, open questions, audit, all as they were) and ``files/...`` (the crew's
folder). Export a paused crew for a copy no turn changes while it is read.

An archive is outside content: import reads only the members it expects, refuses paths
that leave the crew's folder, keys outside the crew's own hash tag (an archive must not
write into another crew) and sizes past the limits, and restores nothing over an existing
crew or key. A failed import removes what it restored.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, ValidationError
from redis.exceptions import ResponseError

from equipage.errors import CrewRefused, InputRejected
from equipage.farm.bots import bots_in
from equipage.farm.crews import Crew, CrewState
from equipage.farm.people import People, identities_of
from equipage.farm.registry import Registry
from equipage.keys import Keys

__all__ = ["ArchiveLimits", "export_crew", "import_crew"]

_FORMAT = 1


class _Key(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    ttl_ms: int  # 0: no expiry


class _Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: int
    namespace: str
    crew: Crew
    keys: tuple[_Key, ...]


@dataclass(frozen=True)
class ArchiveLimits:
    """What an archive may hold before import refuses it."""

    max_bytes: int = 512 * 1024 * 1024  # everything unpacked
    max_members: int = 200_000


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


async def export_crew(registry: Registry, folder: Path, name: str, out: Path) -> int:
    """Write crew ``name`` (its keys and ``folder``) to ``out``; return how many keys."""
    crew = await registry.get(name)
    redis = registry.redis
    entries: list[tuple[_Key, bytes]] = []
    async for raw in redis.scan_iter(match=registry.keys.crew_match(name), count=500):
        key = raw.decode() if isinstance(raw, bytes) else str(raw)
        dumped = await redis.dump(key)
        if dumped is None:
            continue  # expired or deleted since the scan
        ttl = int(await redis.pttl(key))
        entries.append((_Key(name=key, ttl_ms=max(ttl, 0)), dumped))
    manifest = _Manifest(
        format=_FORMAT,
        namespace=registry.keys.namespace,
        crew=crew,
        keys=tuple(k for k, _ in entries),
    )
    await asyncio.to_thread(_write, out, manifest, [d for _, d in entries], folder)
    return len(entries)


def _write(out: Path, manifest: _Manifest, dumps: list[bytes], folder: Path) -> None:
    staged = out.with_name(out.name + ".part")
    with tarfile.open(staged, "w:gz") as tar:
        _add(tar, "manifest.json", manifest.model_dump_json().encode())
        for index, dumped in enumerate(dumps):
            _add(tar, f"redis/{index}", dumped)
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
            _add(tar, f"files/{path.relative_to(folder).as_posix()}", path.read_bytes())
    staged.replace(out)


def _write_files(folder: Path, files: dict[str, bytes]) -> None:
    for relative, data in files.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _read(archive: Path, limits: ArchiveLimits) -> tuple[_Manifest, list[bytes], dict[str, bytes]]:
    """The manifest, the dumps in order and the files of ``archive``, checked."""
    dumps: dict[int, bytes] = {}
    files: dict[str, bytes] = {}
    manifest: _Manifest | None = None
    total = 0
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for count, member in enumerate(tar, 1):
                if count > limits.max_members:
                    raise InputRejected(f"the archive has over {limits.max_members} members")
                if not member.isfile():
                    raise InputRejected(f"the archive holds {member.name!r}, not a plain file")
                total += member.size
                if total > limits.max_bytes:
                    raise InputRejected(f"the archive unpacks to over {limits.max_bytes} bytes")
                reader = tar.extractfile(member)
                data = reader.read() if reader is not None else b""
                path = PurePosixPath(member.name)
                if member.name == "manifest.json":
                    manifest = _Manifest.model_validate_json(data)
                elif path.parts[0] == "redis" and len(path.parts) == 2 and path.name.isdigit():
                    dumps[int(path.name)] = data
                elif path.parts[0] == "files" and len(path.parts) > 1 and ".." not in path.parts:
                    files[PurePosixPath(*path.parts[1:]).as_posix()] = data
                else:
                    raise InputRejected(
                        f"the archive holds {member.name!r}, which no export writes"
                    )
    except (tarfile.TarError, OSError, EOFError) as err:
        raise InputRejected(f"{archive} is not a crew archive: {err}") from None
    except ValidationError as err:
        raise InputRejected(f"{archive}: its manifest is not a crew's: {err}") from None
    if manifest is None or manifest.format != _FORMAT:
        raise InputRejected(f"{archive} is not a crew archive of format {_FORMAT}")
    if sorted(dumps) != list(range(len(manifest.keys))):
        raise InputRejected(f"{archive}: its keys do not match its manifest")
    return manifest, [dumps[i] for i in range(len(manifest.keys))], files


async def import_crew(
    registry: Registry, farm_root: Path, archive: Path, limits: ArchiveLimits | None = None
) -> Crew:
    """Restore the crew in ``archive`` into this farm, paused if it was, else active."""
    manifest, dumps, files = await asyncio.to_thread(_read, archive, limits or ArchiveLimits())
    # Its own bots are its config's, as for a new crew (an older archive's record has none).
    config = files.get("company.yaml")
    bots = bots_in(config.decode("utf-8", "replace") if config is not None else None)
    crew = manifest.crew.model_copy(update={"bots": bots})
    if manifest.namespace != registry.keys.namespace:
        # Checkpoints name their blobs by full key: they would point into the old namespace.
        raise InputRejected(
            f"the archive comes from namespace {manifest.namespace!r}, this farm uses "
            f"{registry.keys.namespace!r}: import it where EQUIPAGE_NAMESPACE={manifest.namespace}"
        )
    prefix = Keys(crew.name, registry.keys.namespace).prefix
    foreign = [k.name for k in manifest.keys if not k.name.startswith(prefix)]
    if foreign:
        raise InputRejected(f"the archive writes outside crew {crew.name!r}: {foreign[0]!r}")
    folder = farm_root / "crews" / crew.name
    if await asyncio.to_thread(folder.exists):
        raise CrewRefused(f"crew {crew.name!r} already has a folder here: {folder}")
    state = CrewState.PAUSED if crew.state is CrewState.PAUSED else CrewState.ACTIVE
    created = await registry.create(crew.model_copy(update={"state": state}))
    restored: list[str] = []
    try:
        for key, dumped in zip(manifest.keys, dumps, strict=True):
            await registry.redis.restore(key.name, key.ttl_ms, dumped)
            restored.append(key.name)
        await asyncio.to_thread(_write_files, folder, files)
        # Its people find it again: the owner, the config's members, those paired in chat.
        keys = Keys(crew.name, registry.keys.namespace)
        people = await identities_of(registry.redis, keys, crew, folder / "company.yaml")
        await People(registry.redis, registry.keys.namespace).add_all(people, crew.name)
        if state is CrewState.PAUSED:
            created = await registry.pause(crew.name)
    except BaseException as err:
        await _undo(registry, crew.name, restored, folder)
        if isinstance(err, ResponseError):
            raise InputRejected(f"{archive}: Redis refused a key of it: {err}") from None
        raise
    return created


async def _undo(registry: Registry, name: str, restored: list[str], folder: Path) -> None:
    redis: aioredis.Redis = registry.redis
    if restored:
        await redis.unlink(*restored)
    await asyncio.to_thread(shutil.rmtree, folder, ignore_errors=True)
    await People(redis, registry.keys.namespace).forget_crew(name)
    await registry.begin_delete(name)
    await registry.forget(name)
