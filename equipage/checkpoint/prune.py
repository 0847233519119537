"""Pruning a thread to what resuming it needs: its newest checkpoints and their ancestry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from redis.asyncio import Redis

from equipage.checkpoint.records import Record, text
from equipage.checkpoint.scripts import PRUNE, PRUNE_LATEST
from equipage.keys import Keys

__all__ = ["Pruner"]

#: Loads (namespace, id) checkpoints of a thread with their blobs, skipping missing ones.
Fetch = Callable[[str, Sequence[tuple[str, str]]], Awaitable[list[Record]]]


class Pruner:
    """Prunes the threads of one RedisSaver: its client, keys, decoder and reader."""

    def __init__(
        self, redis: Redis, keys: Keys, load: Callable[[bytes], Any], fetch: Fetch
    ) -> None:
        self.redis = redis
        self.keys = keys
        self._load = load
        self._fetch = fetch
        self._prune = redis.register_script(PRUNE)
        self._prune_latest = redis.register_script(PRUNE_LATEST)

    async def prune_thread(self, thread_id: str) -> None:
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
            namespaces = sorted(text(m) for m in await self.redis.smembers(spaces_key))

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
            namespaces = sorted(text(m) for m in spaces_raw)
            async with self.redis.pipeline(transaction=False) as pipe:
                for ns in namespaces:
                    pipe.zrange(self.keys.cp_index(thread_id, ns), -1, -1)
                newest = {
                    ns: text(ids[0]) if ids else ""
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
            gone = sorted({text(m) for m in owned_raw} - keep)
            indexes = [self.keys.cp_index(thread_id, ns) for ns in namespaces]
            script_keys = [owned_key, spaces_key, *indexes, *gone]
            if await self._prune(keys=script_keys, args=args):
                return

    async def _read_heads(self, thread_id: str, newest: dict[str, str]) -> list[Record]:
        """The newest checkpoint of each namespace, without its blobs or writes, and the
        ancestors its delta channels replay (those with their blobs, to see which holds a
        value)."""
        refs = [(ns, checkpoint_id) for ns, checkpoint_id in newest.items() if checkpoint_id]
        async with self.redis.pipeline(transaction=True) as pipe:
            for ns, checkpoint_id in refs:
                key = self.keys.cp_checkpoint(thread_id, ns, checkpoint_id)
                pipe.hmget(key, [b"checkpoint", b"metadata", b"parent"])
            replies = await pipe.execute()
        kept: list[Record] = []
        for (ns, _), (checkpoint, metadata, parent) in zip(refs, replies, strict=True):
            if checkpoint is None:
                continue  # pruned or deleted since: the script will see a new newest
            fields = {b"parent": parent} if parent else {}
            head = Record(ns, self._load(checkpoint), self._load(metadata), fields, {})
            kept.append(head)
            kept += await self._replayed(thread_id, head)
        return kept

    async def _replayed(self, thread_id: str, head: Record) -> list[Record]:
        """Ancestors of ``head`` a DeltaChannel replays: back to the nearest one holding a
        value for each such channel, or it reloads empty."""
        replayed = set(head.metadata.get("counters_since_delta_snapshot") or ())
        ancestors: list[Record] = []
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
