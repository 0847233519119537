"""RedisSaver: LangGraph's checkpointer on Redis (see the package docstring)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
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
)
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from equipage.checkpoint.prune import Pruner
from equipage.checkpoint.queue import Queued, WriteQueue, settle
from equipage.checkpoint.records import (
    EMPTY,
    Record,
    config_of,
    fence_token,
    fenced,
    next_version,
    pack,
    text,
    thread_and_ns,
    unpack,
)
from equipage.checkpoint.scripts import READ, STORE, WRITES
from equipage.keys import Keys

__all__ = ["RedisSaver"]

_ASYNC_ONLY = "RedisSaver is async-only: use ainvoke/astream and the a* methods"
_PRUNE_STRATEGIES = ("keep_latest", "delete")
# Checkpoints loaded per round trip when list() has to filter on metadata.
_PAGE = 64

_Select = Callable[[list[Record]], list[Record] | None]


def _async_only(*args: Any, **kwargs: Any) -> NoReturn:
    raise NotImplementedError(_ASYNC_ONLY)


class RedisSaver(BaseCheckpointSaver[str]):
    """Checkpoints of one company in Redis, under the keys of ``equipage.keys.Keys``."""

    def __init__(
        self, redis: Redis, keys: Keys, *, serde: SerializerProtocol | None = None
    ) -> None:
        # The encoder, not the pool: a cluster client has a pool per node, and no pool of its own.
        if redis.get_encoder().decode_responses:  # type: ignore[no-untyped-call]
            raise ValueError(
                "RedisSaver stores bytes: create its Redis client with decode_responses=False"
            )
        super().__init__(serde=serde or JsonPlusSerializer())
        self.redis = redis
        self.keys = keys
        self._read = redis.register_script(READ)
        self._store = redis.register_script(STORE)
        self._record_writes = redis.register_script(WRITES)
        self._queue = WriteQueue(self._send_writes)
        self._pruner = Pruner(redis, keys, self._load, self._fetch)

    # -- reads ---------------------------------------------------------------------------
    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        thread_id, ns = thread_and_ns(config)
        # The key of the id "" is the prefix that every id's key extends.
        args = [
            get_checkpoint_id(config) or "",
            self.keys.cp_checkpoint(thread_id, ns, ""),
            self.keys.cp_writes(thread_id, ns, ""),
        ]
        reply = await self._read(keys=[self.keys.cp_index(thread_id, ns)], args=args)
        if not reply:
            return None
        _, flat_fields, flat_writes, values = reply
        fields = dict(zip(flat_fields[::2], flat_fields[1::2], strict=True))
        writes = dict(zip(flat_writes[::2], flat_writes[1::2], strict=True))
        record = Record(
            ns, self._load(fields[b"checkpoint"]), self._load(fields[b"metadata"]), fields, writes
        )
        if values is None:
            await self._load_blobs(thread_id, [record])  # stored before the blobs field
        else:
            for (channel, version, _), raw in zip(
                ormsgpack.unpackb(fields[b"blobs"]), values, strict=True
            ):
                if raw:
                    record.blobs[(channel, version)] = raw
        return record.to_tuple(thread_id, self.serde)

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
            threads = sorted(text(m) for m in await self.redis.smembers(self.keys.cp_threads))
        remaining = limit
        for thread_id in threads:
            if wanted_ns is not None:
                namespaces = [wanted_ns]
            else:
                members = await self.redis.smembers(self.keys.cp_namespaces(thread_id))
                namespaces = sorted(text(m) for m in members)
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
                        yield record.to_tuple(thread_id, self.serde)

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
        return [text(m) for m in raw]

    async def _fetch(self, thread_id: str, refs: Sequence[tuple[str, str]]) -> list[Record]:
        """Load (namespace, id) checkpoints in two round trips, skipping missing ones."""
        async with self.redis.pipeline(transaction=True) as pipe:
            for ns, checkpoint_id in refs:
                pipe.hgetall(self.keys.cp_checkpoint(thread_id, ns, checkpoint_id))
                pipe.hgetall(self.keys.cp_writes(thread_id, ns, checkpoint_id))
            replies = await pipe.execute()
        records = [
            Record(
                ns,
                self._load(fields[b"checkpoint"]),
                self._load(fields[b"metadata"]),
                fields,
                writes,
            )
            for (ns, _), fields, writes in zip(refs, replies[::2], replies[1::2], strict=True)
            if fields
        ]
        await self._load_blobs(thread_id, records)
        return records

    async def _load_blobs(self, thread_id: str, records: list[Record]) -> None:
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

    def _dump(self, value: Any) -> bytes:
        return pack(self.serde.dumps_typed(value))

    def _load(self, raw: bytes) -> Any:
        return self.serde.loads_typed(unpack(raw))

    # -- writes --------------------------------------------------------------------------
    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        thread_id, ns = thread_and_ns(config)
        values = checkpoint["channel_values"]
        stored: Checkpoint = {**checkpoint, "channel_values": {}}
        stored_metadata = get_checkpoint_metadata(config, metadata)
        fields = {b"checkpoint": self._dump(stored), b"metadata": self._dump(stored_metadata)}
        if parent := config["configurable"].get("checkpoint_id"):
            fields[b"parent"] = parent.encode()
        blobs = {
            (channel, str(version)): self._dump(values[channel]) if channel in values else EMPTY
            for channel, version in new_versions.items()
        }
        record = Record(ns, stored, stored_metadata, fields, {}, blobs)
        carried = (
            self._queue.take(self.keys.cp_writes(thread_id, ns, parent), fence_token(thread_id))
            if parent
            else None
        )
        if carried is None:
            await self._put(self.redis, thread_id, record)
            return config_of(thread_id, ns, checkpoint["id"])
        try:
            await self._put(self.redis, thread_id, record, carried)
        except BaseException as err:
            settle(carried, err)
            raise
        settle(carried, None)
        return config_of(thread_id, ns, checkpoint["id"])

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store a task's writes, returning once they are stored: the thread's next put
        may carry them (``equipage.checkpoint.queue``)."""
        if not writes:
            return
        thread_id, ns = thread_and_ns(config)
        entries: list[str | bytes] = []
        for position, (channel, value) in enumerate(writes):
            idx = WRITES_IDX_MAP.get(channel, position)
            kind, data = self.serde.dumps_typed(value)
            entry = ormsgpack.packb([task_id, channel, task_path, idx, kind, data])
            # A retried task replays its regular writes: the first ones stand. Special
            # writes (error, interrupt, resume) record the latest outcome instead.
            entries += [f"{task_id}:{idx}", entry, "1" if idx < 0 else "0"]
        key = self.keys.cp_writes(thread_id, ns, config["configurable"]["checkpoint_id"])
        queued = self._queue.add(thread_id, key, fence_token(thread_id), entries)
        await asyncio.shield(queued.stored)

    async def _send_writes(
        self, thread_id: str, key: str, entries: list[str | bytes], token: str
    ) -> None:
        keys = [key, self.keys.cp_thread_keys(thread_id), self.keys.lock(thread_id)]
        async with fenced():
            await self._record_writes(keys=keys, args=[*entries, token])

    async def _put(
        self,
        client: Redis | Pipeline,
        thread_id: str,
        record: Record,
        carried: Queued | None = None,
    ) -> None:
        """Store ``record`` under ``thread_id`` in one script, or queue it on a pipeline,
        with the ``carried`` writes of tasks on its parent."""
        keys, ns = self.keys, record.ns
        blobs = list(record.blobs.items())
        # Where every value of the checkpoint lives, new or inherited, so that READ loads
        # it in the same round trip.
        versions = record.checkpoint["channel_versions"].items()
        record.fields[b"blobs"] = ormsgpack.packb(
            [(ch, str(v), keys.cp_blob(thread_id, ns, ch, str(v))) for ch, v in versions]
        )
        # Tells PRUNE_LATEST that this checkpoint needs its ancestors, which only Python
        # can work out.
        if record.metadata.get("counters_since_delta_snapshot"):
            record.fields[b"replays"] = b"1"
        else:
            record.fields.pop(b"replays", None)
        script_keys = [
            keys.cp_checkpoint(thread_id, ns, record.id),
            keys.cp_index(thread_id, ns),
            keys.cp_namespaces(thread_id),
            keys.cp_threads,
            keys.cp_thread_keys(thread_id),
            keys.cp_writes(thread_id, ns, record.id),
            keys.cp_writes(thread_id, ns, record.parent or record.id),
            *(keys.cp_blob(thread_id, ns, channel, version) for (channel, version), _ in blobs),
            keys.lock(thread_id),
        ]
        args: list[str | bytes | int] = [record.id, ns, thread_id, len(record.fields)]
        args += [part for pair in record.fields.items() for part in pair]
        args.append(len(record.writes))
        args += [part for pair in record.writes.items() for part in pair]
        carried_entries = carried.entries if carried else []
        args.append(len(carried_entries) // 3)
        args += carried_entries
        args += [raw for _, raw in blobs]
        # Only a checkpoint of the run in progress is fenced; copies and prunes, queued on a
        # pipeline, are not. Asked of the pipeline: a cluster's client is no Redis.
        args.append("" if client is not self.redis else fence_token(thread_id))
        async with fenced():
            await self._store(keys=script_keys, args=args, client=client)

    # -- whole threads -------------------------------------------------------------------
    async def adelete_thread(self, thread_id: str) -> None:
        await self._rewrite(thread_id, thread_id, None, clear=True)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        runs = set(run_ids)

        def survivors(records: list[Record]) -> list[Record] | None:
            kept = [r for r in records if r.metadata.get("run_id") not in runs]
            return None if len(kept) == len(records) else kept

        if runs:
            for thread_id in await self.redis.smembers(self.keys.cp_threads):
                await self._rewrite(text(thread_id), text(thread_id), survivors, clear=True)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await self._rewrite(source_thread_id, target_thread_id, lambda rs: rs, clear=False)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        if strategy not in _PRUNE_STRATEGIES:
            raise ValueError(f"unknown prune strategy {strategy!r}: use one of {_PRUNE_STRATEGIES}")
        for thread_id in thread_ids:
            if strategy == "keep_latest":
                await self.aprune_thread(thread_id)
            else:
                await self.adelete_thread(thread_id)

    async def aprune_thread(self, thread_id: str) -> None:
        """Keep each namespace's newest checkpoint and what resuming from it needs
        (``equipage.checkpoint.prune``); the runtime calls it after each turn."""
        await self._pruner.prune_thread(thread_id)

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
                        await self._put(pipe, target, record)
                    await pipe.execute()
                    return
                except WatchError:
                    continue

    async def _read_thread(self, thread_id: str) -> list[Record]:
        """Every checkpoint of a thread, oldest first within each namespace."""
        members = await self.redis.smembers(self.keys.cp_namespaces(thread_id))
        namespaces = sorted(text(m) for m in members)
        async with self.redis.pipeline(transaction=True) as pipe:
            for ns in namespaces:
                pipe.zrange(self.keys.cp_index(thread_id, ns), 0, -1)
            indexes = await pipe.execute()
        refs = [(ns, text(m)) for ns, ids in zip(namespaces, indexes, strict=True) for m in ids]
        return await self._fetch(thread_id, refs)

    def get_next_version(self, current: str | None, channel: None) -> str:
        return next_version(current)

    # LangGraph calls the sync API only from sync graphs, which a Redis-backed crew never runs.
    get_tuple = put = put_writes = list = _async_only
    delete_thread = delete_for_runs = copy_thread = prune = _async_only
