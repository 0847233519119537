"""Open questions to people: which thread of which role waits on which question.

``/approve ID`` and ``/reject ID`` find the paused thread here; ``equipage status`` lists
the threads waiting on a human. Records are written with idempotent HSETs keyed by the
question id, so a redelivered envelope writes the same record again, harmlessly.
"""

from __future__ import annotations

import time

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, Field

from equipage.envelope import Answer, Envelope, Kind, Origin
from equipage.keys import Keys

__all__ = ["Approval", "Approvals"]


class Approval(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    role: str
    thread: str
    text: str
    topic: str = "approval"
    origin: Origin | None = None
    asked_at: float = Field(default_factory=time.time)

    def answered(
        self, company: str, *, member: str, approved: bool, note: str = "", origin: Origin | None
    ) -> Envelope:
        """The envelope that resumes the paused thread with this answer."""
        return Envelope(
            kind=Kind.ANSWER,
            company=company,
            to=self.role,
            sender=f"member:{member}",
            thread=self.thread,
            answer=Answer(question_id=self.id, approved=approved, text=note, member=member),
            origin=self.origin or origin,
        )


class Approvals:
    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def open(self, approval: Approval, thread_key: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.approvals, approval.id, approval.model_dump_json())
            pipe.hset(self.keys.waiting, thread_key, approval.id)
            await pipe.execute()

    async def close(self, question_id: str, thread_key: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self.keys.approvals, question_id)
            pipe.hdel(self.keys.waiting, thread_key)
            await pipe.execute()

    async def waiting_on(self, thread_key: str) -> str | None:
        """Id of the question this thread is paused on, if any."""
        raw = await self.redis.hget(self.keys.waiting, thread_key)
        if not raw:
            return None
        return raw.decode() if isinstance(raw, bytes) else raw

    async def get(self, question_id: str) -> Approval | None:
        raw = await self.redis.hget(self.keys.approvals, question_id.strip().lower())
        return Approval.model_validate_json(raw) if raw else None

    async def all(self) -> list[Approval]:
        raw = await self.redis.hvals(self.keys.approvals)
        return sorted((Approval.model_validate_json(v) for v in raw), key=lambda a: a.asked_at)
