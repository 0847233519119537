"""The crew's tools: what each does to the thread, the bus and the company memory.

Tools never publish directly: they return the envelopes to emit, which the runtime
commits with the ack of the envelope being handled (exactly-once effects). Bad calls
come back to the model as an error text it can correct, not as an exception.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from langgraph.types import interrupt
from pydantic import JsonValue

from equipage.config import KNOWN_TOOLS
from equipage.effects import Effects
from equipage.envelope import (
    Answer,
    Attachment,
    Envelope,
    Kind,
    Origin,
    Question,
    ReplyTo,
    WorkflowCall,
)
from equipage.errors import MemoryFull
from equipage.keys import thread_key
from equipage.llm.messages import ToolCall, ToolSpec
from equipage.memory import Memory
from equipage.outcome import ToolOutcome
from equipage.prompting import TeamMember, listing

if TYPE_CHECKING:
    from equipage.mcp import McpTools

__all__ = [
    "KNOWN_TOOLS",
    "ThreadContext",
    "ToolOutcome",
    "Toolbox",
    "answer",
    "question_id",
    "to_person",
    "workflow_inbox",
]


def workflow_inbox(name: str) -> str:
    """Inbox of a workflow; a dot cannot appear in a role name, so no clash."""
    return f"workflow.{name}"


@dataclass(frozen=True)
class ThreadContext:
    """What a tool needs to know about the thread it runs in."""

    company: str
    role: str
    thread: str
    cause: str  # id of the envelope being handled
    hops: int
    origin: Origin | None
    reply_to: ReplyTo | None
    tainted: bool = False  # untrusted content is in the thread's context
    files: tuple[Attachment, ...] = ()  # files of the request being worked on


def question_id(role: str, thread: str, call_id: str) -> str:
    """Short, stable id a person can type: ``/approve 3f9a1c2e``."""
    return hashlib.sha256(f"{role}\0{thread}\0{call_id}".encode()).hexdigest()[:8]


def _spec(tool: str, description: str, **props: tuple[str, str]) -> ToolSpec:
    properties: dict[str, JsonValue] = {
        key: {"type": kind, "description": text} for key, (kind, text) in props.items()
    }
    return ToolSpec(
        name=tool,
        description=description,
        parameters={"type": "object", "properties": properties, "required": list(props)},
    )


_SPECS = {
    "delegate": _spec(
        "delegate",
        "Ask another role of the crew to do a piece of work. Asynchronous: the result "
        "arrives later as a message 'Result from <role>'.",
        role=("string", "the role to ask, from the Team section"),
        brief=("string", "what to do, with all the context the role needs"),
    ),
    "reply": _spec(
        "reply",
        "Answer whoever asked you: the founder, or the role that delegated to you.",
        text=("string", "the full answer, in the language of the request"),
    ),
    "remember": _spec(
        "remember",
        "Store a durable fact about the company in the shared memory.",
        fact=("string", "one self-contained fact"),
    ),
    "recall": _spec(
        "recall",
        "Search the shared company memory.",
        query=("string", "words to look for"),
    ),
    "ask_human": _spec(
        "ask_human",
        "Ask the founder a question or for approval, and wait for the answer. Required "
        "before anything is published, sent outside the company or paid.",
        question=("string", "the question, with what you propose to do"),
    ),
    "start_workflow": _spec(
        "start_workflow",
        "Run one of the company's workflows. Asynchronous: its result arrives later.",
        name=("string", "the workflow's name"),
        input=("object", "the workflow's input"),
    ),
}


class Toolbox:
    """The tools one role may use, bound to the company memory and its team."""

    def __init__(
        self,
        allowed: Sequence[str],
        *,
        memory: Memory,
        team: Sequence[TeamMember] = (),
        workflows: Sequence[TeamMember] = (),
        read_only_workflows: Sequence[str] = (),
        mcp: McpTools | None = None,
        workflow_checks: Mapping[str, Callable[[dict[str, JsonValue]], str | None]] = {},
    ) -> None:
        self.allowed = tuple(t for t in KNOWN_TOOLS if t in allowed)
        # Workflow -> why the crew may not start it with an input (owner-only fields set).
        self.workflow_checks = dict(workflow_checks)
        self.mcp = mcp
        self.memory = memory
        self.team = {m.role: m for m in team}
        self.workflows = {w.role: w for w in workflows}
        self.read_only_workflows = {name: True for name in read_only_workflows}

    def specs(self) -> list[ToolSpec]:
        specs = [_SPECS[name] for name in self.allowed]
        if "start_workflow" in self.allowed and self.workflows:
            available = listing(sorted(self.workflows.values(), key=lambda w: w.role))
            i = specs.index(_SPECS["start_workflow"])
            description = f"{specs[i].description} Available workflows:\n{available}"
            specs[i] = specs[i].model_copy(update={"description": description})
        return specs + (self.mcp.specs() if self.mcp else [])

    def asks(self, call: ToolCall, ctx: ThreadContext) -> Question | None:
        """The question ``call`` puts to a person (``ask_human``), asked before it runs."""
        if call.name != "ask_human" or call.name not in self.allowed:
            return None
        text = _str(call.arguments, "question")
        return Question(id=question_id(ctx.role, ctx.thread, call.id), text=text)

    async def run(
        self, call: ToolCall, ctx: ThreadContext, answer: Answer | None = None
    ) -> ToolOutcome:
        """Run ``call``; ``answer`` is the person's to the question it ``asks``, if given."""
        if self.mcp is not None and self.mcp.offers(call.name):
            return await self._outside(self.mcp, call, ctx)
        if call.name not in self.allowed:
            return ToolOutcome(f"error: tool {call.name!r} is not allowed for {ctx.role}")
        args = call.arguments
        if call.name == "delegate":
            return self._delegate(call, ctx, _str(args, "role"), _str(args, "brief"))
        if call.name == "reply":
            return self._reply(ctx, _str(args, "text"))
        if call.name == "remember":
            try:
                fact = await self.memory.remember(
                    _str(args, "fact"), by=ctx.role, untrusted=ctx.tainted
                )
            except MemoryFull as full:
                # A refusal the model reads and relays: the quota, and how to raise it.
                return ToolOutcome(f"error: {full}")
            return ToolOutcome(f"remembered: {fact.text}")
        if call.name == "recall":
            facts = await self.memory.recall(_str(args, "query"))
            listing = "\n".join(f"- {f.text}" for f in facts)
            return ToolOutcome(
                listing or "nothing remembered about that yet",
                untrusted=any(f.untrusted for f in facts),
            )
        if call.name == "ask_human":
            return self._ask(call, ctx, _str(args, "question"), answer)
        raw_input = args.get("input")
        return self._start_workflow(
            call, ctx, _str(args, "name"), raw_input if isinstance(raw_input, dict) else {}
        )

    async def _outside(self, mcp: McpTools, call: ToolCall, ctx: ThreadContext) -> ToolOutcome:
        """An MCP call; one with side effects runs at most once, even across crashes."""
        if not mcp.side_effects().get(call.name, True):
            return await mcp.call(call)  # only reads: running it again is harmless

        async def run() -> tuple[str, bool]:
            outcome = await mcp.call(call)
            return outcome.text, outcome.untrusted

        effects = Effects(self.memory.redis, self.memory.keys)
        text, untrusted = await effects.once(
            thread_key(ctx.role, ctx.thread), ctx.cause, call.id, run
        )
        return ToolOutcome(text, untrusted=untrusted)

    # -- tools with effects on the bus ----------------------------------------------------
    def _delegate(self, call: ToolCall, ctx: ThreadContext, role: str, brief: str) -> ToolOutcome:
        if role == ctx.role or role not in self.team:
            known = ", ".join(sorted(self.team)) or "none"
            return ToolOutcome(f"error: cannot delegate to {role!r}; team roles: {known}")
        if not brief.strip():
            return ToolOutcome("error: the brief is empty; say what the role should do")
        task = Envelope(
            kind=Kind.TASK,
            company=ctx.company,
            to=role,
            sender=ctx.role,
            thread=f"{ctx.thread}/{role}/{call.id}",
            text=brief,
            hops=ctx.hops + 1,
            untrusted=ctx.tainted,
            origin=ctx.origin,
            reply_to=ReplyTo(role=ctx.role, thread=ctx.thread, call_id=call.id),
            cause=ctx.cause,
            attachments=ctx.files,  # the files of the request travel with the brief
        )
        return ToolOutcome(
            f"delegated to {role} (call {call.id}); its result will arrive as a new message",
            [task],
            {call.id: role},
        )

    def _reply(self, ctx: ThreadContext, text: str) -> ToolOutcome:
        if not text.strip():
            return ToolOutcome("error: the reply is empty")
        out = answer(ctx, text)
        who = ctx.reply_to.role if ctx.reply_to else "the founder"
        return ToolOutcome(f"sent to {who}", [out])

    def _ask(
        self, call: ToolCall, ctx: ThreadContext, text: str, given: Answer | None
    ) -> ToolOutcome:
        if given is None:
            question = Question(id=question_id(ctx.role, ctx.thread, call.id), text=text)
            # Pauses the graph here; the checkpoint keeps it until a person answers, even
            # across restarts, and the runtime resumes it with Command(resume=Answer).
            given = Answer.model_validate(interrupt(question))
        verdict = "approved" if given.approved else "rejected"
        note = f": {given.text}" if given.text else ""
        return ToolOutcome(f"{verdict}{note}")

    def _start_workflow(
        self, call: ToolCall, ctx: ThreadContext, name: str, data: dict[str, JsonValue]
    ) -> ToolOutcome:
        if name not in self.workflows:
            known = ", ".join(sorted(self.workflows)) or "none enabled"
            return ToolOutcome(f"error: unknown workflow {name!r}; available: {known}")
        check = self.workflow_checks.get(name)
        if check is not None and (refusal := check(data)) is not None:
            return ToolOutcome(f"error: {refusal}")
        run = Envelope(
            kind=Kind.WORKFLOW,
            company=ctx.company,
            to=workflow_inbox(name),
            sender=ctx.role,
            thread=f"{ctx.thread}/wf-{name}/{call.id}",
            hops=ctx.hops + 1,
            origin=ctx.origin,
            reply_to=ReplyTo(role=ctx.role, thread=ctx.thread, call_id=call.id),
            workflow=WorkflowCall(name=name, input=data),
            cause=ctx.cause,
            attachments=ctx.files,  # a workflow may read them (a transcript, an inventory)
        )
        return ToolOutcome(
            f"workflow {name} started (call {call.id}); its result will arrive as a new message",
            [run],
            {call.id: f"workflow:{name}"},
        )


def answer(ctx: ThreadContext, text: str) -> Envelope:
    """The answer of a thread: a result to the delegating role, or a reply to the person."""
    if ctx.reply_to is None:
        return to_person(ctx, text)
    return Envelope(
        kind=Kind.RESULT,
        company=ctx.company,
        to=ctx.reply_to.role,
        sender=ctx.role,
        thread=ctx.reply_to.thread,
        text=text,
        hops=ctx.hops + 1,
        origin=ctx.origin,
        reply_to=ctx.reply_to,
        cause=ctx.cause,
        untrusted=ctx.tainted,
    )


def to_person(ctx: ThreadContext, text: str, *, question: Question | None = None) -> Envelope:
    """An envelope for the outbox, addressed to the person who started the conversation."""
    return Envelope(
        kind=Kind.QUESTION if question else Kind.REPLY,
        company=ctx.company,
        to="human",
        sender=ctx.role,
        thread=ctx.thread,
        text=text,
        hops=ctx.hops,
        origin=ctx.origin,
        question=question,
        cause=ctx.cause,
    )


def _str(args: dict[str, JsonValue], key: str) -> str:
    value = args.get(key, "")
    return value if isinstance(value, str) else str(value)
