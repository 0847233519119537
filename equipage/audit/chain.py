"""The audit log: an append-only, HMAC-chained stream of who asked, what ran, who approved.

Entry ``n`` carries its sequence number ``n``, the MAC of entry ``n - 1`` and its own MAC
over (company, n, previous MAC, event name, body), keyed by a secret that is not in Redis.
Without the key nobody can write an entry that verifies, so an edit, a rewrite with
recomputed hashes, a copy or a reorder shows at the entry where it happened, and deleted
entries show as a gap in the numbers. Cutting the newest entries leaves no gap: anchors
(``anchor.py``), copies of the head kept outside Redis, catch that, and a deleted stream.

Named events (``once``) are marked in a hash whose fields are HMACs of the names, written
in the same transaction as their entry: without the key, nobody can pre-add the marker of
a future event to suppress it, and ``verify`` reports markers no entry accounts for.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncGenerator, Sequence
from typing import Any

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, Field
from redis.exceptions import WatchError

from equipage.audit.check import GENESIS, Walk, decode, number, text
from equipage.audit.key import AuditKey
from equipage.audit.report import Anchor, AuditBreak, AuditReport, Head
from equipage.errors import ConfigError
from equipage.keys import Keys

__all__ = ["Audit", "AuditEntry"]

_BATCH = 500


class AuditEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    action: str  # tool | approval_asked | approved | refused | ...
    actor: str  # the role, or member:<id> for a person
    thread: str = ""
    detail: str = ""
    at: float = Field(default_factory=time.time)


class Audit:
    """Appends to and checks one company's audit chain. Reading needs no key; the rest does."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, key: AuditKey | None = None) -> None:
        self.redis = redis
        self.keys = keys
        self.key = key

    async def append(self, entry: AuditEntry, *, once: str | None = None) -> None:
        """Chain ``entry`` to the newest one. Safe with concurrent writers and crashes.

        ``once`` names the event: a graph node re-run on resume, or a redelivered
        envelope, records it again with the same name, and only the first is kept.
        The entry and its marker are one transaction: a crash leaves both or neither.
        """
        key = self.require_key()
        body = entry.model_dump_json()
        name = once or ""
        tag = key.sign("once", self.keys.prefix, name) if once is not None else None
        while True:
            async with self.redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(self.keys.audit, self.keys.audit_once)
                    if tag is not None and await pipe.hexists(self.keys.audit_once, tag):
                        return
                    seq, prev = await _next(pipe, self.keys.audit)
                    mac = key.sign("entry", self.keys.prefix, str(seq), prev, name, body)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.xadd(
                        self.keys.audit,
                        {"seq": seq, "prev": prev, "mac": mac, "key": key.id, "once": name,
                         "entry": body},
                    )  # fmt: skip
                    if tag is not None:
                        pipe.hset(self.keys.audit_once, tag, seq)
                    await pipe.execute()
                    return
                except WatchError:
                    continue

    async def entries(self) -> list[AuditEntry]:
        return [AuditEntry.model_validate_json(f[b"entry"]) async for _, f in self._scan()]

    async def head(self) -> Head | None:
        raw: Any = await self.redis.xrevrange(self.keys.audit, count=1)
        if not raw:
            return None
        entry_id, fields = raw[0]
        seq, mac = number(fields), text(fields, b"mac")
        if mac:
            return Head(seq=seq if seq is not None else -1, mac=mac, id=entry_id.decode())
        length = int(await self.redis.xlen(self.keys.audit))
        return Head(seq=length - 1, mac=text(fields, b"hash"), id=entry_id.decode(), signed=False)

    async def verify(self, anchors: Sequence[Anchor] = ()) -> AuditReport:
        """Check every entry, the ``anchors`` kept outside Redis and the event markers."""
        ordered = sorted(anchors, key=lambda a: a.seq)
        latest = ordered[-1] if ordered else None
        walk = Walk(
            self.require_key(), self.keys.prefix, signed_from=latest.signed_from if latest else None
        )
        async for entry_id, fields in self._scan():
            walk.add(entry_id, fields)
        walk.check_anchors(ordered)
        markers: dict[str, str] = {}
        async for field, value in self.redis.hscan_iter(self.keys.audit_once):
            markers[decode(field)] = decode(value)
        walk.check_markers(markers)
        return walk.report(latest)

    async def extends(self, anchor: Anchor | None) -> AuditReport:
        """Check the chain from ``anchor`` (or the start) to the head; markers are not read.

        What an anchorer checks before it anchors: a chain cut or rewritten behind the last
        anchor must not get a fresh anchor that hides it.
        """
        walk = Walk(
            self.require_key(), self.keys.prefix, signed_from=anchor.signed_from if anchor else None
        )
        async with contextlib.aclosing(self._scan(anchor.entry if anchor else "-")) as entries:
            if anchor is not None:
                first = await anext(entries, None)
                if (
                    first is None
                    or first[0] != anchor.entry
                    or (text(first[1], b"mac") != anchor.mac)
                ):
                    gone = AuditBreak(
                        kind="truncated" if first is None else "anchor_mismatch",
                        detail=f"entry #{anchor.seq} of {anchor.describe()} is gone or changed",
                        entry_id=anchor.entry,
                    )
                    return AuditReport(
                        entries=0, unsigned=0, head=await self.head(), anchor=anchor, breaks=[gone]
                    )
                walk.resume(anchor)
            async for entry_id, fields in entries:
                walk.add(entry_id, fields)
        return walk.report(anchor)

    async def signed(self) -> bool:
        """Whether the newest entry is signed: then a lost key must not be replaced silently."""
        head = await self.head()
        return head is not None and head.signed

    async def _scan(self, start: str = "-") -> AsyncGenerator[tuple[str, dict[bytes, bytes]]]:
        while True:
            batch: Any = await self.redis.xrange(self.keys.audit, min=start, count=_BATCH)
            for entry_id, fields in batch:
                yield entry_id.decode(), fields
            if len(batch) < _BATCH:
                return
            start = "(" + batch[-1][0].decode()

    def require_key(self) -> AuditKey:
        if self.key is None:
            raise ConfigError(
                "this Audit has no key, so it can read entries but not sign or check them; "
                "pass the company's AuditKey (equipage.audit.load_key)"
            )
        return self.key


async def _next(pipe: Any, stream: str) -> tuple[int, str]:
    """Sequence number and previous MAC for the entry after the newest one."""
    raw: Any = await pipe.xrevrange(stream, count=1)
    if not raw:
        return 0, GENESIS
    fields = raw[0][1]
    seq = number(fields)
    if seq is None or b"mac" not in fields:
        # A chain from before signing (or a damaged last entry): number on from its length.
        seq = int(await pipe.xlen(stream)) - 1
    return seq + 1, text(fields, b"mac") or text(fields, b"hash") or GENESIS
