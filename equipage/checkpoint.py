"""LangGraph checkpointer on plain Redis, so a thread paused on a human survives restarts.

Only core commands (hashes, sets, sorted sets, strings, MULTI/WATCH, Lua): Redis 6.2+ and
Valkey. Every checkpoint of a thread stays until ``aprune_thread`` drops all but the newest
(and what resuming from it needs); the runtime calls it after each turn.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from redis.exceptions import ResponseError, WatchError

from equipage.checkpoint_scripts import PRUNE, PRUNE_LATEST, READ, STORE, WRITES
from equipage.errors import TurnLost
from equipage.fence import FENCE_ERROR
from equipage.fence import current as current_fence
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


def _token(thread_id: str) -> str:
    """The lease token the run in progress holds on ``thread_id``; '' outside a turn."""
    fence = current_fence.get()
    return fence.token if fence is not None and fence.thread == thread_id else ""


@contextlib.asynccontextmanager
async def _fenced() -> AsyncIterator[None]:
    """Turns a write refused by its fence into ``TurnLost``."""
    try:
        yield
    except ResponseError as err:
        if str(err).startswith(FENCE_ERROR):
            raise TurnLost(str(err).removeprefix(FENCE_ERROR).strip()) from None
        raise


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
class _Queued:
    """Writes of tasks on one checkpoint, on their way: the thread's next put carries them,
    else they go alone on the next turn of the event loop."""

    token: str
    stored: asyncio.Future[None]
    entries: list[str | bytes] = field(default_factory=list)
    taken: bool = False


def _retrieved(future: asyncio.Future[None]) -> None:
    # Whoever queued the writes may be gone (cancelled): their failure is still read, so
    # asyncio does not log it as never retrieved.
    if not future.cancelled():
        future.exception()


def _settle(queued: _Queued, error: BaseException | None) -> None:
    """Tell the writers of ``queued`` how its script ended."""
    if queued.stored.done():
        return
    if error is None:
        queued.stored.set_result(None)
    elif isinstance(error, asyncio.CancelledError):
        queued.stored.cancel()  # whether they landed is unknown, as for any cancelled call
    else:
        queued.stored.set_exception(error)


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
        self._read = redis.register_script(READ)
        self._store = redis.register_script(STORE)
        self._record_writes = redis.register_script(WRITES)
        self._prune = redis.register_script(PRUNE)
        self._prune_latest = redis.register_script(PRUNE_LATEST)
        # Writes not stored yet, by the key of the writes hash they go to.
        self._queued: dict[str, _Queued] = {}
        self._sending: set[asyncio.Task[None]] = set()

    # -- reads ---------------------------------------------------------------------------
    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        thread_id, ns = _thread_and_ns(config)
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
        record = _Record(
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
        return self._tuple(thread_id, record)

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
        await self._load_blobs(thread_id, records)
        return records

    async def _load_blobs(self, thread_id: str, records: list[_Record]) -> None:
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
        record = _Record(ns, stored, stored_metadata, fields, {}, blobs)
        carried = (
            self._take(self.keys.cp_writes(thread_id, ns, parent), _token(thread_id))
            if parent
            else None
        )
        if carried is None:
            await self._put(self.redis, thread_id, record)
            return _config(thread_id, ns, checkpoint["id"])
        try:
            await self._put(self.redis, thread_id, record, carried)
        except BaseException as err:
            _settle(carried, err)
            raise
        _settle(carried, None)
        return _config(thread_id, ns, checkpoint["id"])

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store a task's writes, returning once they are stored.

        LangGraph saves a task's writes in the background and, in the same step, puts the
        checkpoint those writes lead to, without ordering the two. So the writes wait for
        the rest of this turn of the event loop: the thread's next ``aput`` (on the
        checkpoint they are attached to) carries them in its own script, one round trip
        instead of two and both stored or neither; else they are sent alone.
        """
        if not writes:
            return
        thread_id, ns = _thread_and_ns(config)
        key = self.keys.cp_writes(thread_id, ns, config["configurable"]["checkpoint_id"])
        token = _token(thread_id)
        queued = self._queued.get(key)
        if queued is None or queued.token != token or queued.taken:
            loop = asyncio.get_running_loop()
            queued = _Queued(token, loop.create_future())
            queued.stored.add_done_callback(_retrieved)
            self._queued[key] = queued
            loop.call_soon(self._send_alone, thread_id, key, queued)
        for position, (channel, value) in enumerate(writes):
            idx = WRITES_IDX_MAP.get(channel, position)
            kind, data = self.serde.dumps_typed(value)
            entry = ormsgpack.packb([task_id, channel, task_path, idx, kind, data])
            # A retried task replays its regular writes: the first ones stand. Special
            # writes (error, interrupt, resume) record the latest outcome instead.
            queued.entries += [f"{task_id}:{idx}", entry, "1" if idx < 0 else "0"]
        await asyncio.shield(queued.stored)

    def _take(self, key: str, token: str) -> _Queued | None:
        """The writes queued for ``key`` under ``token``, now carried by the caller."""
        queued = self._queued.get(key)
        if queued is None or queued.taken or queued.token != token:
            return None
        del self._queued[key]
        queued.taken = True
        return queued

    def _send_alone(self, thread_id: str, key: str, queued: _Queued) -> None:
        if queued.taken:
            return  # a put carried them
        if self._queued.get(key) is queued:
            del self._queued[key]
        queued.taken = True
        task = asyncio.get_running_loop().create_task(self._send(thread_id, key, queued))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, thread_id: str, key: str, queued: _Queued) -> None:
        keys = [key, self.keys.cp_thread_keys(thread_id), self.keys.lock(thread_id)]
        try:
            async with _fenced():
                await self._record_writes(keys=keys, args=[*queued.entries, queued.token])
        except BaseException as err:
            _settle(queued, err)
            raise
        _settle(queued, None)

    async def _put(
        self,
        client: Redis | Pipeline,
        thread_id: str,
        record: _Record,
        carried: _Queued | None = None,
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
        # Only a checkpoint of the run in progress is fenced; copies and prunes are not.
        args.append(_token(thread_id) if isinstance(client, Redis) else "")
        async with _fenced():
            await self._store(keys=script_keys, args=args, client=client)

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
        for thread_id in thread_ids:
            if strategy == "keep_latest":
                await self.aprune_thread(thread_id)
            else:
                await self.adelete_thread(thread_id)

    async def aprune_thread(self, thread_id: str) -> None:
        """Keep each namespace's newest checkpoint and what resuming from it needs.

        That is its pending writes (interrupts and resume values live there), the blobs it
        points at and, for a DeltaChannel, the ancestors back to the one holding a value.
        The rest goes in one script, atomic like any transaction, so a crash leaves the
        thread pruned or untouched, and a concurrent put lands before or after it. Kept
        keys are neither read nor rewritten. One round trip for a thread without subgraphs,
        two with; delta channels and checkpoints stored before the ``blobs`` field take
        ``_prune_planned``.
        """
        owned_key = self.keys.cp_thread_keys(thread_id)
        spaces_key = self.keys.cp_namespaces(thread_id)
        namespaces = [""]  # most threads have no subgraph: guess, the script checks
        while True:
            args: list[str] = []
            for ns in namespaces:
                prefixes = [
                    self.keys.cp_checkpoint(thread_id, ns, ""),
                    self.keys.cp_writes(thread_id, ns, ""),
                ]
                args += [ns, *prefixes]
            indexes = [self.keys.cp_index(thread_id, ns) for ns in namespaces]
            done = await self._prune_latest(keys=[owned_key, spaces_key, *indexes], args=args)
            if done == 1:
                return
            if done == -1:
                return await self._prune_planned(thread_id)
            namespaces = sorted(_text(m) for m in await self.redis.smembers(spaces_key))

    async def _prune_planned(self, thread_id: str) -> None:
        """``aprune_thread`` where Python chooses what stays: the script that deletes the
        rest refuses if a checkpoint was put since the choice, and the choice is made again.
        """
        owned_key = self.keys.cp_thread_keys(thread_id)
        spaces_key = self.keys.cp_namespaces(thread_id)
        while True:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.smembers(spaces_key)
                pipe.smembers(owned_key)
                spaces_raw, owned_raw = await pipe.execute()
            namespaces = sorted(_text(m) for m in spaces_raw)
            async with self.redis.pipeline(transaction=False) as pipe:
                for ns in namespaces:
                    pipe.zrange(self.keys.cp_index(thread_id, ns), -1, -1)
                newest = {
                    ns: _text(ids[0]) if ids else ""
                    for ns, ids in zip(namespaces, await pipe.execute(), strict=True)
                }
            kept = await self._read_heads(thread_id, newest)
            keep = {spaces_key, *(self.keys.cp_index(thread_id, ns) for ns in namespaces)}
            args: list[str | int] = [len(namespaces)]
            for ns in namespaces:
                records = [r for r in kept if r.ns == ns]
                args += [ns, newest[ns], len(records), *(r.id for r in records)]
                for record in records:
                    keep.add(self.keys.cp_checkpoint(thread_id, ns, record.id))
                    keep.add(self.keys.cp_writes(thread_id, ns, record.id))
                    keep.update(
                        self.keys.cp_blob(thread_id, ns, channel, str(version))
                        for channel, version in record.checkpoint["channel_versions"].items()
                    )
            gone = sorted({_text(m) for m in owned_raw} - keep)
            indexes = [self.keys.cp_index(thread_id, ns) for ns in namespaces]
            script_keys = [owned_key, spaces_key, *indexes, *gone]
            if await self._prune(keys=script_keys, args=args):
                return

    async def _read_heads(self, thread_id: str, newest: dict[str, str]) -> list[_Record]:
        """The newest checkpoint of each namespace, without its blobs or writes, and the
        ancestors its delta channels replay (those with their blobs, to see which holds a
        value)."""
        refs = [(ns, checkpoint_id) for ns, checkpoint_id in newest.items() if checkpoint_id]
        async with self.redis.pipeline(transaction=True) as pipe:
            for ns, checkpoint_id in refs:
                key = self.keys.cp_checkpoint(thread_id, ns, checkpoint_id)
                pipe.hmget(key, [b"checkpoint", b"metadata", b"parent"])
            replies = await pipe.execute()
        kept: list[_Record] = []
        for (ns, _), (checkpoint, metadata, parent) in zip(refs, replies, strict=True):
            if checkpoint is None:
                continue  # pruned or deleted since: the script will see a new newest
            fields = {b"parent": parent} if parent else {}
            head = _Record(ns, self._load(checkpoint), self._load(metadata), fields, {})
            kept.append(head)
            kept += await self._replayed(thread_id, head)
        return kept

    async def _replayed(self, thread_id: str, head: _Record) -> list[_Record]:
        """Ancestors of ``head`` a DeltaChannel replays: back to the nearest one holding a
        value for each such channel, or it reloads empty."""
        replayed = set(head.metadata.get("counters_since_delta_snapshot") or ())
        ancestors: list[_Record] = []
        parent = head.parent
        while replayed and parent:
            found = await self._fetch(thread_id, [(head.ns, parent)])
            if not found:
                break
            node = found[0]
            ancestors.append(node)
            replayed = {channel for channel in replayed if not node.stores_value(channel)}
            parent = node.parent
        return ancestors

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
