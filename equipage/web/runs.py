"""Workflow runs as the console shows them: status, who asked, and the files they wrote.

A run is a workflow thread (``workflow.<name>:<thread>``) with checkpoints: its newest
one holds the request's origin (the member who asked) and, once finished, the output.
The files a run wrote are the paths its output names (``files``, ``chart``, ``report``,
a folder and the names under it) that exist under the crew's files folder; nothing
outside that folder is ever listed or served (``inside``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict

from equipage.checkpoint import RedisSaver
from equipage.keys import Keys, thread_key
from equipage.keys.company import glob_escape

__all__ = ["CONTENT_TYPES", "Run", "RunFile", "content_type", "inside", "read_runs"]

_PREFIX = "workflow."
_DEAD_READ = 500  # newest dead letters looked at for failed runs
_EVENTS_READ = 2000  # newest events looked at for how far runs got (as ``equipage status``)
#: What a download is served as; anything else is plain bytes.
CONTENT_TYPES = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".md": "text/markdown; charset=utf-8",
    ".png": "image/png",
    ".tf": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
}

Status = Literal["done", "waiting", "failed", "running"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RunFile(_Model):
    """A file a run wrote: its path under the crew's files folder (POSIX), its size."""

    path: str
    size: int

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name


class Run(_Model):
    workflow: str
    thread: str  # the run's thread id, as its checkpoints know it
    status: Status
    updated: datetime | None
    member: str | None  # who asked; None for a schedule or the owner's command line
    files: tuple[RunFile, ...] = ()
    progress: str = ""  # the latest step it reported, while it has not finished


def content_type(path: Path | str) -> str:
    return CONTENT_TYPES.get(PurePosixPath(str(path)).suffix.lower(), "application/octet-stream")


def inside(root: Path, given: Path | str) -> Path | None:
    """The regular file ``given`` names under ``root`` once every link is resolved, or None.

    A relative path is read from ``root``. ``..``, an absolute path elsewhere or a
    symlink that leads out all resolve outside, and are refused.
    """
    try:
        home = root.resolve()
        path = (root / given).resolve(strict=True)
    except (OSError, ValueError, RuntimeError):  # missing, a NUL byte, a link loop
        return None
    if home not in path.parents or not path.is_file():
        return None
    return path


@cache
def _serde() -> Any:
    """The crew's checkpoint serializer, reviving the installed workflows' types only."""
    from equipage.crew import serializer, state_types
    from equipage.workflow import available_workflows, load_workflow

    types: set[type] = set()
    for name in available_workflows():
        try:
            workflow = load_workflow(name)
        except Exception:  # a workflow that does not load: its values show as plain data
            continue
        types |= state_types(workflow.Input) | state_types(workflow.Output)
    return serializer(*sorted(types, key=lambda t: f"{t.__module__}.{t.__qualname__}"))


async def read_runs(
    redis: aioredis.Redis,
    keys: Keys,
    root: Path,
    *,
    member: str | None = None,
    workflow: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Run]:
    """The newest runs first; ``member``'s own only when given, of ``workflow`` if given.

    ``root`` is the crew's files folder: only files under it are listed.
    """
    threads = []
    match = glob_escape(_PREFIX + (f"{workflow}:" if workflow else "")) + "*"
    async for raw in redis.sscan_iter(keys.cp_threads, match=match, count=500):
        threads.append(raw.decode() if isinstance(raw, bytes) else str(raw))
    if not threads:
        return []
    # Checkpoint ids sort by time: the newest id of each thread orders the runs without
    # reading a single checkpoint.
    async with redis.pipeline(transaction=False) as pipe:
        for thread in threads:
            pipe.zrange(keys.cp_index(thread, ""), -1, -1)
        newest: list[Any] = await pipe.execute()
    ordered = sorted(
        ((ids[0] if ids else b"", thread) for ids, thread in zip(newest, threads, strict=True)),
        reverse=True,
    )
    waiting = {_text(k) for k in await redis.hkeys(keys.waiting)}
    failed = await _failed(redis, keys)
    progress = await _progress(redis, keys)
    saver = RedisSaver(redis, keys, serde=_serde())
    found: list[Run] = []
    skipped = 0
    for _, thread in ordered:
        run = await _run(saver, thread, root, waiting, failed)
        if run is not None and run.status != "done" and thread in progress:
            run = run.model_copy(update={"progress": progress[thread]})
        if run is None or (member is not None and run.member != member):
            continue
        if skipped < offset:
            skipped += 1
            continue
        found.append(run)
        if len(found) >= limit:
            break
    return found


async def _run(
    saver: RedisSaver, thread: str, root: Path, waiting: set[str], failed: set[str]
) -> Run | None:
    tuple_ = await saver.aget_tuple({"configurable": {"thread_id": thread, "checkpoint_ns": ""}})
    if tuple_ is None:
        return None
    values = tuple_.checkpoint.get("channel_values", {})
    output = _plain(values.get("output"))
    origin = _plain(values.get("origin")) or _plain(values.get("request") or {}).get("origin")
    member = origin.get("member") if isinstance(origin, dict) else None
    status: Status
    if output is not None:
        status = "done"
    elif thread in waiting:
        status = "waiting"
    elif thread in failed:
        status = "failed"
    else:
        status = "running"
    try:
        updated: datetime | None = datetime.fromisoformat(tuple_.checkpoint["ts"])
    except (KeyError, ValueError):
        updated = None
    role = thread.partition(":")[0]
    return Run(
        workflow=role.removeprefix(_PREFIX),
        thread=thread,
        status=status,
        updated=updated,
        member=str(member) if member else None,
        files=tuple(_files(output, root)),
    )


async def _failed(redis: aioredis.Redis, keys: Keys) -> set[str]:
    """Workflow threads whose envelope went to the dead letters."""
    found = set()
    dead: Any = await redis.xrevrange(keys.dead, count=_DEAD_READ)
    for _, fields in dead:
        try:
            env = json.loads(fields.get(b"env", b"{}"))
            if str(env.get("to", "")).startswith(_PREFIX):
                found.add(thread_key(env["to"], env["thread"]))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    return found


async def _progress(redis: aioredis.Redis, keys: Keys) -> dict[str, str]:
    """Workflow thread -> the latest step it reported on the events stream."""
    found: dict[str, str] = {}
    events: Any = await redis.xrevrange(keys.events, count=_EVENTS_READ)
    for _, fields in events:
        try:
            event = json.loads(fields[b"event"])
            if event.get("type") == "progress" and event["sender"].startswith(_PREFIX):
                found.setdefault(thread_key(event["sender"], event["thread"]), event["detail"])
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    return found


def _plain(value: Any) -> Any:
    """A checkpointed value as JSON data: revived models are dumped, dicts stay."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _files(output: Any, root: Path) -> list[RunFile]:
    """The files under ``root`` that ``output`` names, by path or under a folder it names."""
    if output is None:
        return []
    # Strings that may be paths only: prose, addresses and bare words are not looked up.
    named = [s for s in _strings(output) if _path_like(s)]
    bases = [Path.cwd(), root]
    bases += [d for s in named for d in (Path(s), root / s) if _is_dir(d)]
    home = root.resolve() if root.exists() else root
    seen: dict[Path, RunFile] = {}
    for text in named:
        for base in bases:
            path = inside(root, base / text)  # an absolute ``text`` stays itself
            if path is not None:
                if path not in seen:
                    relative = path.relative_to(home).as_posix()
                    seen[path] = RunFile(path=relative, size=path.stat().st_size)
                break
    return sorted(seen.values(), key=lambda f: f.path)


def _path_like(text: str) -> bool:
    return (
        0 < len(text) < 500
        and ("/" in text or "." in text)
        and "\n" not in text
        and "://" not in text
    )


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
