"""Run a checkpointed graph for one envelope, safely under redelivery.

The handler of a role (or of the workflow runner) runs in its thread's turn (the worker
holds the thread, envelopes in order, see ``equipage.worker``), looks at the thread's
checkpoint and then either starts the graph on the new envelope, finishes a run that a
dead worker left half done, resumes a thread paused on a question, or parks a
message until the person answers. It returns what the run emitted; the worker commits
that with the ack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import redis.asyncio as aioredis
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, StateSnapshot
from pydantic import JsonValue, ValidationError

from equipage.agent import Emit, Outbox, thread_id
from equipage.approval_text import still_waiting, waiting_first
from equipage.approvals import Answers, Approval, Approvals, Asked
from equipage.audit import Audit, AuditEntry
from equipage.budget import Budget
from equipage.checkpoint import RedisSaver
from equipage.envelope import Answer, Envelope, Kind, Question, new_id
from equipage.errors import HopLimitExceeded, InputRejected
from equipage.events import Event, EventType
from equipage.keys import Keys
from equipage.llm.messages import Message
from equipage.outside import outside_messages
from equipage.prompting import result_text
from equipage.tools import ThreadContext, answer, to_person, workflow_inbox
from equipage.workflow import Workflow, crew_refusal, with_settings

__all__ = ["ThreadRunner", "WorkflowRunner"]


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
            _stopped_short(snapshot)
            and not _besides(waiting, envelope)
            and _unfinished(snapshot, envelope)
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
        if _besides(waiting, envelope):
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
                text = f"Question {asked} is no longer open; nothing was changed."
                return [to_person(self._context(envelope), text)]
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
        if not _stopped_short(snapshot):
            out += self.finished(envelope, snapshot.values)
        if envelope.kind is Kind.ANSWER and envelope.answer:
            await self._audit_answer(envelope, key)
            await self.approvals.close(envelope.answer.question_id, key)
        ctx = self._context(envelope, snapshot.values)
        for question in (q for pause in snapshot.interrupts for q in _questions(pause.value)):
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
        return [to_person(replace(self._context(envelope), reply_to=None), reason)]


def _besides(waiting: tuple[str, ...], envelope: Envelope) -> tuple[str, ...]:
    """The questions a thread waits on, besides the one ``envelope`` answers."""
    answered = envelope.answer.question_id if envelope.answer else None
    return tuple(q for q in waiting if q != answered)


def _stopped_short(snapshot: StateSnapshot) -> bool:
    """True unless the run reached its end: a step left to run, or one whose writes were
    stored but not yet folded into a checkpoint (LangGraph then shows no ``next``: the
    state looks finished while the steps after that one never ran)."""
    return bool(snapshot.next or snapshot.tasks)


def _unfinished(snapshot: StateSnapshot, envelope: Envelope) -> bool:
    """True when the run ``envelope`` started stopped short, not on a question of its own.

    The pause an answer resumed still shows when the resumed step failed; its answer is
    stored, so the run goes on from there rather than asking again.
    """
    asked = {q.id for pause in snapshot.interrupts for q in _questions(pause.value)}
    return not asked or (envelope.answer is not None and envelope.answer.question_id in asked)


def _questions(value: object) -> tuple[Question, ...]:
    """The questions a pause asks: one, or every question of a turn (``Asked``)."""
    if isinstance(value, Asked):
        return value.questions
    if isinstance(value, dict) and "questions" in value:
        return Asked.model_validate(value).questions
    return (Question.model_validate(value),)


class WorkflowRunner(ThreadRunner):
    """The bus handler of one workflow: validates its input, reports its output back."""

    def __init__(
        self,
        workflow: Workflow,
        *args: Any,
        settings: Mapping[str, JsonValue] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(workflow_inbox(workflow.name), *args, **kwargs)
        self.workflow = workflow
        #: company.yaml's ``workflows.<name>``: the owner's values under every run's input.
        self.settings = dict(settings or {})

    def _input(self, envelope: Envelope) -> dict[str, JsonValue]:
        call = envelope.workflow
        return with_settings(self.settings, call.input if call else {})

    async def __call__(self, envelope: Envelope) -> list[Envelope]:
        if envelope.kind is Kind.WORKFLOW:
            call = envelope.workflow
            # start_workflow refuses these already; a run from any other producer is
            # held to the same rule unless it says it is the owner's.
            refusal = None
            if call is not None and not call.by_owner:
                name, model = self.workflow.name, self.workflow.Input
                refusal = crew_refusal(name, model, call.input, self.settings)
            if refusal is not None:
                text = f"error: {refusal}"
                return [answer(self._context(envelope, {"reply_to": envelope.reply_to}), text)]
            try:
                self.workflow.Input.model_validate(self._input(envelope))
            except ValidationError as err:
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}"
                    for e in err.errors()
                )
                text = f"error: workflow {self.workflow.name} refused its input: {problems}"
                return [answer(self._context(envelope, {"reply_to": envelope.reply_to}), text)]
        try:
            return await super().__call__(envelope)
        except InputRejected as rejected:
            # Content it was given cannot be used (a transcript in no known format...):
            # retrying will not help; whoever started it is told what to send instead.
            text = f"error: workflow {self.workflow.name} could not use its input: {rejected}"
            context = {"reply_to": envelope.reply_to}
            return [answer(self._context(envelope, context), text)]

    def start(self, envelope: Envelope) -> dict[str, Any]:
        return {
            "input": self.workflow.Input.model_validate(self._input(envelope)),
            "request": envelope,
            "origin": envelope.origin,
            "reply_to": envelope.reply_to,
            "hops": envelope.hops,
        }

    def finished(self, envelope: Envelope, values: dict[str, Any]) -> list[Envelope]:
        output = values.get("output")
        if output is None:
            return []
        summary = getattr(output, "summary", None)
        text = summary() if callable(summary) else output.model_dump_json(indent=2)
        request: Envelope | None = values.get("request")
        ctx = self._context(request or envelope, values)
        # A workflow that reads documents from outside hands back untrusted output; so does
        # a run whose output says it quotes outside words this time (a digest's tool names).
        outside = self.workflow.untrusted_output or getattr(output, "untrusted", False) is True
        ctx = replace(ctx, tainted=outside)
        return [answer(ctx, str(text))]
