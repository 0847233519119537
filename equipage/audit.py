"""The audit log: an append-only, hash-chained stream of who asked, what ran, who approved.

Each entry stores the SHA-256 of the previous entry's hash and its own content, so
removing or editing an entry breaks every hash after it; ``verify`` says where.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, Field
from redis.exceptions import WatchError

from equipage.keys import Keys

__all__ = ["Audit", "AuditEntry"]

_GENESIS = "0" * 64


class AuditEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    action: str  # tool | approval_asked | approved | refused | ...
    actor: str  # the role, or member:<id> for a person
    thread: str = ""
    detail: str = ""
    at: float = Field(default_factory=time.time)


class Audit:
    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def append(self, entry: AuditEntry, *, once: str | None = None) -> None:
        """Chain ``entry`` to the newest one. Safe with concurrent writers.

        ``once`` names the event: a graph node re-run on resume, or a redelivered
        envelope, records it again with the same name, and only the first is kept.
        """
        body = entry.model_dump_json()
        while True:
            async with self.redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(self.keys.audit_head, self.keys.audit_seen)
                    if once is not None and await pipe.sismember(self.keys.audit_seen, once):
                        return
                    raw = await pipe.get(self.keys.audit_head)
                    prev = raw.decode() if isinstance(raw, bytes) else (raw or _GENESIS)
                    digest = _digest(prev, body)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.xadd(self.keys.audit, {"entry": body, "prev": prev, "hash": digest})
                    pipe.set(self.keys.audit_head, digest)
                    if once is not None:
                        pipe.sadd(self.keys.audit_seen, once)
                    await pipe.execute()
                    return
                except WatchError:
                    continue

    async def entries(self) -> list[AuditEntry]:
        raw: Any = await self.redis.xrange(self.keys.audit)
        return [AuditEntry.model_validate_json(fields[b"entry"]) for _, fields in raw]

    async def verify(self) -> str | None:
        """None when the chain is whole; else the id of the first entry that breaks it."""
        raw: Any = await self.redis.xrange(self.keys.audit)
        prev = _GENESIS
        for entry_id, fields in raw:
            stored_prev = fields[b"prev"].decode()
            if stored_prev != prev or fields[b"hash"].decode() != _digest(
                prev, fields[b"entry"].decode()
            ):
                return str(entry_id.decode())
            prev = fields[b"hash"].decode()
        return None


def _digest(prev: str, body: str) -> str:
    return hashlib.sha256(f"{prev}\n{body}".encode()).hexdigest()
