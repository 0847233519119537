"""The handler of one role: run its checkpointed graph for one envelope, safely redelivered."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import redis.asyncio as aioredis
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, StateSnapshot

from equipage.agent import Emit, Outbox, thread_id
from equipage.approval_text import still_waiting, waiting_first
from equipage.approvals import Answers, Approval, Approvals
from equipage.audit import Audit, AuditEntry
from equipage.budget import Budget
from equipage.checkpoint import RedisSaver
from equipage.envelope import Answer, Envelope, Kind, new_id
from equipage.errors import HopLimitExceeded
from equipage.events import Event, EventType
from equipage.failure_text import no_longer_open, too_many_hops
from equipage.keys import Keys
from equipage.llm.messages import Message
from equipage.outside import outside_messages
from equipage.prompting import result_text
from equipage.runtime.snapshot import asked_questions, besides, stopped_short, unfinished
from equipage.tools import ThreadContext, to_person


class ThreadRunner:
    """The bus handler of one role: envelope in, emitted envelopes out."""

    def __init__(
        self,
        role: str,
        graph: CompiledStateGraph[Any, Any, Any, Any],
        redis: aioredis.Redis,
        keys: Keys,
        *,
        emit: Emit,
        owner: str = "",
        audit: Audit | None = None,
        max_hops: int = 8,
        recursion_limit: int = 64,
        language: str = "en",
        budget: Budget | None = None,
    ) -> None:
        self.role = role
        self.graph = graph
        self.redis = redis
        self.keys = keys
        self.emit = emit
        self.owner = owner
        self.audit = audit
        self.max_hops = max_hops
        self.recursion_limit = recursion_limit
        self.language = language  # the company's first: what it says follows the founder's
        self.approvals = Approvals(redis, keys)
        self.budget = budget

    async def __call__(self, envelope: Envelope) -> list[Envelope]:
        if envelope.hops > self.max_hops:
            return await self._stop_for_hops(envelope)
        key = thread_id(self.role, envelope.thread)
        config: RunnableConfig = {
            "configurable": {"thread_id": key},
            "recursion_limit": self.recursion_limit,
        }
        # The worker holds the thread's turn (equipage.worker): no other envelope of
        # this thread runs until this one is committed, and none before its elders.
        if self.budget is not None:
            # Holds a dead attempt at this envelope left (a first delivery has none).
            await self.budget.release_for(envelope.id)
        snapshot = await self.graph.aget_state(config)
        waiting = await self.approvals.waiting_on(key)
        if snapshot.values.get("inbox") != envelope.id:
            direct = await self._apply(envelope, snapshot, config, waiting)
            if direct is not None:
                return direct
        elif (
            stopped_short(snapshot)
            and not besides(waiting, envelope)
            and unfinished(snapshot, envelope)
        ):
            # A worker died mid-run on this very envelope (an answer that resumed the
            # thread included): finish from the checkpoint.
            await self._run(None, config)
        if envelope.kind is Kind.ANSWER:
            await self._release_parked(envelope, config, waiting)
        emitted = await self._emitted(envelope, key, config)
        if isinstance(self.graph.checkpointer, RedisSaver):
            # The newest checkpoint and what resuming from it needs stay (its pending
            # writes, interrupts, delta ancestors): a thread's keys stay bounded.
            await self.graph.checkpointer.aprune_thread(key)
        return emitted

    async def _release_parked(
        self, envelope: Envelope, config: RunnableConfig, waiting: tuple[str, ...]
    ) -> None:
        """Once answered (and not paused again), hand parked envelopes back to the inbox.

        Each becomes a turn of its own, so the answer's tool result stays next to its
        call. They leave through the outbox of this same checkpoint update, so a crash
        can neither lose nor repeat them.
        """
        if besides(waiting, envelope):
            return  # the turn asked more than this question: it has not resumed yet
        snapshot = await self.graph.aget_state(config)
        parked: list[Envelope] = snapshot.values.get("parked") or []
        if not parked or snapshot.interrupts:
            return
        again = tuple(p.model_copy(update={"id": new_id(), "cause": p.id}) for p in parked)
        await self.graph.aupdate_state(
            config, {"parked": [], "outbox": Outbox(cause=envelope.id, items=again)}
        )

    async def _apply(
        self,
        envelope: Envelope,
        snapshot: StateSnapshot,
        config: RunnableConfig,
        waiting: tuple[str, ...],
    ) -> list[Envelope] | None:
        fresh = {
            "inbox": envelope.id,
            "outbox": Outbox(cause=envelope.id),
            "steps": 0,
            "repeats": {},
        }
        if envelope.kind is Kind.ANSWER:
            given = envelope.answer
            if given is None or given.question_id not in waiting:
                asked = given.question_id if given else "?"
                ctx = self._context(envelope)
                return [to_person(ctx, no_longer_open(asked, self._language(ctx)))]
            update: dict[str, Any] = {**fresh, "hops": envelope.hops}
            answers = {**(snapshot.values.get("answers") or {}), given.question_id: given}
            others = [q for q in waiting if q not in answers]
            if others:
                # One turn asked several questions: its thread resumes once, with every
                # answer; until then this one waits in the checkpoint, which the ack of
                # this envelope follows, so a dead worker loses no answer.
                ctx = self._context(envelope, snapshot.values)
                note = to_person(ctx, still_waiting(self.role, others, self._language(ctx)))
                update["answers"] = answers
                update["outbox"] = Outbox(cause=envelope.id, items=(note,))
                await self.graph.aupdate_state(config, update)
                return None
            resume: Answers | Answer = given
            if len(answers) > 1:
                resume, update["answers"] = Answers(items=answers), {}
            await self._run(Command(resume=resume, update=update), config)
            return None
        if waiting:
            parked = [*snapshot.values.get("parked", []), envelope]
            items: tuple[Envelope, ...] = ()
            if envelope.kind is Kind.TASK and envelope.sender.startswith("member:"):
                ctx = self._context(envelope, snapshot.values)
                reminder = waiting_first(waiting, self._language(ctx))
                items = (to_person(self._context(envelope), reminder),)
            update = {**fresh, "parked": parked, "outbox": Outbox(cause=envelope.id, items=items)}
            await self.graph.aupdate_state(config, update)
            return None
        await self._run({**fresh, **self.start(envelope)}, config)
        return None

    async def _run(self, given: Any, config: RunnableConfig) -> None:
        # "sync": each step's checkpoint is stored before the next step runs. LangGraph's
        # default ("async") runs a step while the previous one is still being saved, so a
        # worker killed there leaves tools that ran after a checkpoint that never landed:
        # the redelivery calls the model again and repeats them.
        await self.graph.ainvoke(given, config, durability="sync")

    def start(self, envelope: Envelope) -> dict[str, Any]:
        """Graph input for a new envelope (beyond ``inbox``, ``outbox`` and ``steps``)."""
        # What came with the envelope but is not its sender's words (files, their names,
        # what they forwarded) first, as untrusted turns of their own; the words they typed
        # stay theirs, last. A forward with no word of theirs is outside content only.
        outside = outside_messages(envelope)
        own = [self._message(envelope)] if envelope.text.strip() or not outside else []
        state: dict[str, Any] = {
            "messages": [*outside, *own],
            "hops": envelope.hops,
        }
        if envelope.kind is Kind.RESULT and envelope.reply_to:
            state["pending"] = {envelope.reply_to.call_id: ""}
        if envelope.kind is Kind.TASK:
            state["origin"] = envelope.origin
            state["reply_to"] = envelope.reply_to
            state["files"] = envelope.attachments
        return state

    def finished(self, envelope: Envelope, values: dict[str, Any]) -> list[Envelope]:
        """Envelopes owed once the graph ran to its end; agents emit theirs via tools."""
        return []

    async def _emitted(
        self, envelope: Envelope, key: str, config: RunnableConfig
    ) -> list[Envelope]:
        snapshot = await self.graph.aget_state(config)
        box = snapshot.values.get("outbox")
        out = list(box.items) if box is not None and box.cause == envelope.id else []
        if not stopped_short(snapshot):
            out += self.finished(envelope, snapshot.values)
        if envelope.kind is Kind.ANSWER and envelope.answer:
            await self._audit_answer(envelope, key)
            await self.approvals.close(envelope.answer.question_id, key)
        ctx = self._context(envelope, snapshot.values)
        for question in (q for pause in snapshot.interrupts for q in asked_questions(pause.value)):
            await self.approvals.open(
                Approval(
                    id=question.id,
                    topic=question.topic,
                    role=self.role,
                    thread=envelope.thread,
                    text=question.text,
                    origin=ctx.origin,
                    full=question.full,
                ),
                key,
            )
            if self.audit is not None:
                entry = AuditEntry(
                    action="approval_asked",
                    actor=self.role,
                    thread=key,
                    detail=f"{question.topic} {question.id}: {question.text[:300]}",
                )
                await self.audit.append(entry, once=f"asked:{question.id}")
            # The whole call stays with the open question (/show); the message is the text.
            shown = question.model_copy(update={"full": ""})
            out.append(to_person(ctx, question.text, question=shown))
        return out

    def _language(self, ctx: ThreadContext) -> str:
        """The founder's language when their message told it, else the company's."""
        told = ctx.origin.language if ctx.origin is not None else None
        return told or self.language

    async def _audit_answer(self, envelope: Envelope, key: str) -> None:
        given = envelope.answer
        if self.audit is None or given is None:
            return
        action = "approved" if given.approved else "refused"
        entry = AuditEntry(
            action=action,
            actor=envelope.sender,
            thread=key,
            detail=f"question {given.question_id} {given.text}".strip(),
        )
        await self.audit.append(entry, once=f"answer:{envelope.id}")

    def _message(self, envelope: Envelope) -> Message:
        # Only the owner's own words, and roles that read nothing from outside, are
        # trusted: a member's chat or a tainted delegate's result is data.
        person = envelope.sender.startswith("member:")
        untrusted = envelope.untrusted or (person and envelope.sender != f"member:{self.owner}")
        if envelope.kind is Kind.RESULT and envelope.reply_to:
            text = result_text(envelope.sender, envelope.reply_to.call_id, envelope.text)
        else:
            text = envelope.text
        return Message(role="user", content=text, name=envelope.sender, untrusted=untrusted)

    def _context(self, envelope: Envelope, values: dict[str, Any] | None = None) -> ThreadContext:
        values = values or {}
        return ThreadContext(
            company=envelope.company,
            role=self.role,
            thread=envelope.thread,
            cause=envelope.id,
            hops=envelope.hops,
            origin=values.get("origin") or envelope.origin,
            reply_to=values.get("reply_to"),
        )

    async def _stop_for_hops(self, envelope: Envelope) -> list[Envelope]:
        reason = str(HopLimitExceeded(envelope.hops, self.max_hops))
        await self.emit(
            Event(
                type=EventType.STOPPED,
                envelope=envelope.id,
                sender=self.role,
                thread=envelope.thread,
                detail=reason,
            )
        )
        ctx = replace(self._context(envelope), reply_to=None)
        return [to_person(ctx, too_many_hops(envelope.hops, self.max_hops, self._language(ctx)))]
