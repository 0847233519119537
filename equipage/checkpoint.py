"""LangGraph checkpointer on plain Redis, so a thread paused on a human survives restarts.

Only core commands (hashes, sets, sorted sets, strings, MULTI/WATCH): Redis 6.2+ and Valkey.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, cast

import ormsgpack
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
    get_checkpoint_metadata,
    writes_sort_key,
)
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from equipage.keys import Keys

__all__ = ["RedisSaver"]

_ASYNC_ONLY = "RedisSaver is async-only: use ainvoke/astream and the a* methods"
_PRUNE_STRATEGIES = ("keep_latest", "delete")
# Stored like InMemorySaver for a channel that has a new version but no value (it was cleared).
_EMPTY = ormsgpack.packb(("empty", b""))
# Checkpoints loaded per round trip when list() has to filter on metadata.
_PAGE = 64

_Select = Callable[[list["_Record"]], list["_Record"] | None]


def _async_only(*args: Any, **kwargs: Any) -> NoReturn:
    raise NotImplementedError(_ASYNC_ONLY)


def _pack(typed: tuple[str, bytes]) -> bytes:
    return ormsgpack.packb(typed)


def _unpack(raw: bytes) -> tuple[str, bytes]:
    kind, data = ormsgpack.unpackb(raw)
    return kind, data


def _text(raw: bytes | str) -> str:
    # The client answers bytes: RedisSaver.__init__ refuses decode_responses=True.
    return cast(bytes, raw).decode()


def _config(thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> RunnableConfig:
    return {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": checkpoint_ns,
            "checkpoint_id": checkpoint_id,
        }
    }


def _thread_and_ns(config: RunnableConfig) -> tuple[str, str]:
    configurable = config["configurable"]
    return str(configurable["thread_id"]), configurable.get("checkpoint_ns", "")


@dataclass
class _Record:
    """One checkpoint as stored: its hash, its pending writes and the blobs it points at."""

    ns: str
    checkpoint: Checkpoint
    metadata: CheckpointMetadata
    fields: dict[bytes, bytes]
    writes: dict[bytes, bytes]
    blobs: dict[tuple[str, str], bytes] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.checkpoint["id"]

    @property
    def parent(self) -> str | None:
        raw = self.fields.get(b"parent")
        return raw.decode() if raw else None

    def stores_value(self, channel: str) -> bool:
        version = self.checkpoint["channel_versions"].get(channel)
        raw = self.blobs.get((channel, str(version)))
        return raw is not None and raw != _EMPTY


def _keep_latest(records: list[_Record]) -> list[_Record]:
    """Each namespace's newest checkpoint, plus the ancestors its delta channels replay.

    A DeltaChannel stores writes between snapshots, not values: the ancestors up to the
    nearest one holding a value for each such channel must stay, or it reloads empty.
    """
    by_id = {(r.ns, r.id): r for r in records}
    # Records arrive oldest first within a namespace, so the last one seen is the newest.
    newest = {r.ns: r for r in records}
    kept: list[_Record] = []
    for head in newest.values():
        kept.append(head)
        replayed = set(head.metadata.get("counters_since_delta_snapshot") or ())
        parent = head.parent
        while replayed and parent and (node := by_id.get((head.ns, parent))):
            kept.append(node)
            replayed = {ch for ch in replayed if not node.stores_value(ch)}
            parent = node.parent
    return kept


class RedisSaver(BaseCheckpointSaver[str]):
    """Checkpoints of one company in Redis, under the keys of ``equipage.keys.Keys``."""

    def __init__(
        self, redis: Redis, keys: Keys, *, serde: SerializerProtocol | None = None
    ) -> None:
        if redis.connection_pool.connection_kwargs.get("decode_responses"):
            raise ValueError(
                "RedisSaver stores bytes: create its Redis client with decode_responses=False"
            )
        super().__init__(serde=serde or JsonPlusSerializer())
        self.redis = redis
        self.keys = keys

    # -- reads ---------------------------------------------------------------------------
    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        thread_id, ns = _thread_and_ns(config)
        checkpoint_id = get_checkpoint_id(config)
        if checkpoint_id is None:
            newest = await self._ids(thread_id, ns, None, 1)
            if not newest:
                return None
            checkpoint_id = newest[0]
        records = await self._fetch(thread_id, [(ns, checkpoint_id)])
        return self._tuple(thread_id, records[0]) if records else None

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        before_id = get_checkpoint_id(before) if before else None
        wanted_id = get_checkpoint_id(config) if config else None
        wanted_ns = config["configurable"].get("checkpoint_ns") if config else None
        if config:
            threads = [str(config["configurable"]["thread_id"])]
        else:
            threads = sorted(_text(m) for m in await self.redis.smembers(self.keys.cp_threads))
        remaining = limit
        for thread_id in threads:
            if wanted_ns is not None:
                namespaces = [wanted_ns]
            else:
                members = await self.redis.smembers(self.keys.cp_namespaces(thread_id))
                namespaces = sorted(_text(m) for m in members)
            for ns in namespaces:
                if wanted_id:
                    ids = [wanted_id] if before_id is None or wanted_id < before_id else []
                else:
                    ids = await self._ids(thread_id, ns, before_id, None if filter else remaining)
                for start in range(0, len(ids), _PAGE):
                    page = [(ns, i) for i in ids[start : start + _PAGE]]
                    for record in await self._fetch(thread_id, page):
                        if filter and any(record.metadata.get(k) != v for k, v in filter.items()):
                            continue
                        if remaining is not None:
                            if remaining <= 0:
                                return
                            remaining -= 1
                        yield self._tuple(thread_id, record)

    async def _ids(
        self, thread_id: str, ns: str, before_id: str | None, limit: int | None
    ) -> list[str]:
        """Checkpoint ids newest first; uuid6 ids sort by time, so lex order is time order."""
        newest = b"(" + before_id.encode() if before_id else b"+"
        raw = await self.redis.zrevrangebylex(
            self.keys.cp_index(thread_id, ns),
            newest,
            b"-",
            start=None if limit is None else 0,
            num=limit,
        )
        return [_text(m) for m in raw]

    async def _fetch(self, thread_id: str, refs: Sequence[tuple[str, str]]) -> list[_Record]:
        """Load (namespace, id) checkpoints in two round trips, skipping missing ones."""
        async with self.redis.pipeline(transaction=True) as pipe:
            for ns, checkpoint_id in refs:
                pipe.hgetall(self.keys.cp_checkpoint(thread_id, ns, checkpoint_id))
                pipe.hgetall(self.keys.cp_writes(thread_id, ns, checkpoint_id))
            replies = await pipe.execute()
        records = [
            _Record(
                ns,
                self._load(fields[b"checkpoint"]),
                self._load(fields[b"metadata"]),
                fields,
                writes,
            )
            for (ns, _), fields, writes in zip(refs, replies[::2], replies[1::2], strict=True)
            if fields
        ]
        wanted = [
            (record, channel, str(version))
            for record in records
            for channel, version in record.checkpoint["channel_versions"].items()
        ]
        if wanted:
            keys = [self.keys.cp_blob(thread_id, r.ns, ch, ver) for r, ch, ver in wanted]
            for (record, channel, version), raw in zip(
                wanted, cast("list[bytes | None]", await self.redis.mget(keys)), strict=True
            ):
                if raw is not None:
                    record.blobs[(channel, version)] = raw
        return records

    def _dump(self, value: Any) -> bytes:
        return _pack(self.serde.dumps_typed(value))

    def _load(self, raw: bytes) -> Any:
        return self.serde.loads_typed(_unpack(raw))

    def _tuple(self, thread_id: str, record: _Record) -> CheckpointTuple:
        values = {
            channel: self._load(raw) for (channel, _), raw in record.blobs.items() if raw != _EMPTY
        }
        writes = sorted(
            (ormsgpack.unpackb(raw) for raw in record.writes.values()),
            key=lambda w: writes_sort_key(w[2], w[0], w[3]),
        )
        parent = record.parent
        return CheckpointTuple(
            config=_config(thread_id, record.ns, record.id),
            checkpoint={**record.checkpoint, "channel_values": values},
            metadata=record.metadata,
            parent_config=_config(thread_id, record.ns, parent) if parent else None,
            pending_writes=[
                (task_id, channel, self.serde.loads_typed((kind, data)))
                for task_id, channel, _, _, kind, data in writes
            ],
        )

    # -- writes --------------------------------------------------------------------------
    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        thread_id, ns = _thread_and_ns(config)
        values = checkpoint["channel_values"]
        stored: Checkpoint = {**checkpoint, "channel_values": {}}
        stored_metadata = get_checkpoint_metadata(config, metadata)
        fields = {b"checkpoint": self._dump(stored), b"metadata": self._dump(stored_metadata)}
        if parent := config["configurable"].get("checkpoint_id"):
            fields[b"parent"] = parent.encode()
        blobs = {
            (channel, str(version)): self._dump(values[channel]) if channel in values else _EMPTY
            for channel, version in new_versions.items()
        }
        async with self.redis.pipeline(transaction=True) as pipe:
            self._queue(pipe, thread_id, _Record(ns, stored, stored_metadata, fields, {}, blobs))
            await pipe.execute()
        return _config(thread_id, ns, checkpoint["id"])

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        if not writes:
            return
        thread_id, ns = _thread_and_ns(config)
        key = self.keys.cp_writes(thread_id, ns, config["configurable"]["checkpoint_id"])
        async with self.redis.pipeline(transaction=True) as pipe:
            for position, (channel, value) in enumerate(writes):
                idx = WRITES_IDX_MAP.get(channel, position)
                kind, data = self.serde.dumps_typed(value)
                entry = ormsgpack.packb([task_id, channel, task_path, idx, kind, data])
                # A retried task replays its regular writes: the first ones stand. Special
                # writes (error, interrupt, resume) record the latest outcome instead.
                if idx < 0:
                    pipe.hset(key, f"{task_id}:{idx}", entry)
                else:
                    pipe.hsetnx(key, f"{task_id}:{idx}", entry)
            pipe.sadd(self.keys.cp_thread_keys(thread_id), key)
            await pipe.execute()

    def _queue(self, pipe: Pipeline, thread_id: str, record: _Record) -> None:
        """Queue the commands that store ``record`` under ``thread_id``."""
        keys, ns = self.keys, record.ns
        owned = [
            keys.cp_checkpoint(thread_id, ns, record.id),
            keys.cp_index(thread_id, ns),
            keys.cp_namespaces(thread_id),
        ]
        pipe.hset(owned[0], mapping=record.fields)  # type: ignore[arg-type]
        pipe.zadd(owned[1], {record.id: 0})
        pipe.sadd(owned[2], ns)
        pipe.sadd(keys.cp_threads, thread_id)
        if record.writes:
            owned.append(keys.cp_writes(thread_id, ns, record.id))
            pipe.hset(owned[-1], mapping=record.writes)  # type: ignore[arg-type]
        for (channel, version), raw in record.blobs.items():
            owned.append(keys.cp_blob(thread_id, ns, channel, version))
            pipe.set(owned[-1], raw)
        pipe.sadd(keys.cp_thread_keys(thread_id), *owned)

    # -- whole threads -------------------------------------------------------------------
    async def adelete_thread(self, thread_id: str) -> None:
        await self._rewrite(thread_id, thread_id, None, clear=True)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        runs = set(run_ids)

        def survivors(records: list[_Record]) -> list[_Record] | None:
            kept = [r for r in records if r.metadata.get("run_id") not in runs]
            return None if len(kept) == len(records) else kept

        if runs:
            for thread_id in await self.redis.smembers(self.keys.cp_threads):
                await self._rewrite(_text(thread_id), _text(thread_id), survivors, clear=True)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await self._rewrite(source_thread_id, target_thread_id, lambda rs: rs, clear=False)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        if strategy not in _PRUNE_STRATEGIES:
            raise ValueError(f"unknown prune strategy {strategy!r}: use one of {_PRUNE_STRATEGIES}")
        select = _keep_latest if strategy == "keep_latest" else None
        for thread_id in thread_ids:
            await self._rewrite(thread_id, thread_id, select, clear=True)

    async def _rewrite(
        self, source: str, target: str, select: _Select | None, *, clear: bool
    ) -> None:
        """Store ``select(records of source)`` under ``target``, deleting ``source`` first if
        ``clear``, in one transaction. ``select`` returns None to leave everything as it is.

        WATCH on every key of ``source`` turns a concurrent put into a retry, instead of a
        checkpoint lost or orphaned between our read and our write.
        """
        owned_key = self.keys.cp_thread_keys(source)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(owned_key)
                    owned = await pipe.smembers(owned_key)
                    if owned:
                        await pipe.watch(*owned)
                    chosen = select(await self._read_thread(source)) if select else []
                    if chosen is None:
                        return
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if clear:
                        pipe.delete(owned_key, *owned)
                        pipe.srem(self.keys.cp_threads, source)
                    for record in chosen:
                        self._queue(pipe, target, record)
                    await pipe.execute()
                    return
                except WatchError:
                    continue

    async def _read_thread(self, thread_id: str) -> list[_Record]:
        """Every checkpoint of a thread, oldest first within each namespace."""
        members = await self.redis.smembers(self.keys.cp_namespaces(thread_id))
        namespaces = sorted(_text(m) for m in members)
        async with self.redis.pipeline(transaction=True) as pipe:
            for ns in namespaces:
                pipe.zrange(self.keys.cp_index(thread_id, ns), 0, -1)
            indexes = await pipe.execute()
        refs = [(ns, _text(m)) for ns, ids in zip(namespaces, indexes, strict=True) for m in ids]
        return await self._fetch(thread_id, refs)

    def get_next_version(self, current: str | None, channel: None) -> str:
        # Same scheme as InMemorySaver: zero-padded counter, random tail against collisions.
        if current is None:
            current_v = 0
        elif isinstance(current, int):
            current_v = current
        else:
            current_v = int(current.split(".")[0])
        return f"{current_v + 1:032}.{random.random():016}"

    # LangGraph calls the sync API only from sync graphs, which a Redis-backed crew never runs.
    get_tuple = put = put_writes = list = _async_only
    delete_thread = delete_for_runs = copy_thread = prune = _async_only
