"""Open questions to people: which thread of which role waits on which questions.

``/approve ID`` and ``/reject ID`` find the paused thread here; ``equipage status`` lists
the threads waiting on a human. Records are written with idempotent HSETs keyed by the
question id, so a redelivered envelope writes the same record again, harmlessly.

One turn of a thread may ask several questions at once (``Asked``: two gated calls in one
reply of the model); the thread then waits on all of them, takes their answers in any
order, and resumes once with every answer (``Answers``).
"""

from __future__ import annotations

import time

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio.client import Pipeline

from equipage.envelope import Answer, Envelope, Kind, Origin, Question
from equipage.keys import Keys
from equipage.metrics import question_answered

__all__ = ["Answers", "Approval", "Approvals", "Asked"]


class Asked(BaseModel):
    """Every question one turn of a thread asks before any of its calls runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    questions: tuple[Question, ...]


class Answers(BaseModel):
    """The answers to an ``Asked`` by question id: what its paused thread resumes with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    items: dict[str, Answer]


class Approval(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    role: str
    thread: str
    text: str
    topic: str = "approval"
    origin: Origin | None = None
    asked_at: float = Field(default_factory=time.time)
    full: str = ""  # the whole of what it asks, when ``text`` had to shorten it (/show)

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
        """Record the question and add it to those its thread waits on."""

        async def add(pipe: Pipeline) -> None:
            ids = _ids(await pipe.hget(self.keys.waiting, thread_key))
            pipe.multi()  # type: ignore[no-untyped-call]
            pipe.hset(self.keys.approvals, approval.id, approval.model_dump_json())
            ids = ids if approval.id in ids else (*ids, approval.id)
            pipe.hset(self.keys.waiting, thread_key, " ".join(ids))

        await self.redis.transaction(add, self.keys.waiting)

    async def close(self, question_id: str, thread_key: str) -> None:
        """Forget the question; its thread waits on the others it asked, if any."""
        closed: list[Approval] = []

        async def remove(pipe: Pipeline) -> None:
            ids = _ids(await pipe.hget(self.keys.waiting, thread_key))
            raw = await pipe.hget(self.keys.approvals, question_id)
            closed[:] = [Approval.model_validate_json(raw)] if raw else []
            left = [i for i in ids if i != question_id]
            pipe.multi()  # type: ignore[no-untyped-call]
            pipe.hdel(self.keys.approvals, question_id)
            pipe.hdel(self.keys.asked, question_id)  # where it was sent, kept to mark it
            if left:
                pipe.hset(self.keys.waiting, thread_key, " ".join(left))
            else:
                pipe.hdel(self.keys.waiting, thread_key)

        # The question's record watched too: of two closers, one finds it and counts it.
        await self.redis.transaction(remove, self.keys.waiting, self.keys.approvals)
        for approval in closed:
            question_answered(approval.role, approval.topic, approval.asked_at)

    async def waiting_on(self, thread_key: str) -> tuple[str, ...]:
        """Ids of the questions this thread is paused on, in the order they were asked."""
        return _ids(await self.redis.hget(self.keys.waiting, thread_key))

    async def get(self, question_id: str) -> Approval | None:
        raw = await self.redis.hget(self.keys.approvals, question_id.strip().lower())
        return Approval.model_validate_json(raw) if raw else None

    async def all(self, *, of_member: str | None = None) -> list[Approval]:
        """Open questions, oldest first; with ``of_member``, only those of their conversations.

        A question quotes what its thread is about: a member who is not the owner may read
        those their own messages led to, and no other.
        """
        raw = await self.redis.hvals(self.keys.approvals)
        found = (Approval.model_validate_json(v) for v in raw)
        if of_member is not None:
            found = (a for a in found if a.origin is not None and a.origin.member == of_member)
        return sorted(found, key=lambda a: a.asked_at)


def _ids(raw: bytes | str | None) -> tuple[str, ...]:
    text = raw.decode() if isinstance(raw, bytes) else raw or ""
    return tuple(text.split())
